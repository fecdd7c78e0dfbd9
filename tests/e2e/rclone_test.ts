/**
 * rclone's FTP backend (Debian's rclone, MLSD listings), plain and with
 * explicit TLS: copy a tree into a new nested folder, check, sync with a
 * remote deletion, download, a server-side move, purge. Each step is judged
 * by the bytes on disk.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeCert } from "../support/cert.ts";
import {
  makeTree,
  randomBytes,
  run,
  startServer,
  type TestServer,
  writeTree,
} from "../support/server.ts";
import { hasStackTrace, treeOf } from "../support/trees.ts";

const MD5_OF_SECRET = "5ebe2294ecd0e0f08eab7690d2a6ee69";

/** rclone with no config file, bounded: it gives up after one try instead of retrying for minutes. */
async function rclone(...args: string[]) {
  return await run(
    "rclone",
    [
      ...["--config", "/dev/null", "--timeout", "20s", "--contimeout", "10s"],
      ...["--retries", "1", "--low-level-retries", "1", ...args],
    ],
    undefined,
    90_000,
  );
}

/** The remote `:ftp,...:` connection string for bob on a test server. */
async function remoteOf(srv: TestServer, tls: boolean): Promise<string> {
  const obscured = (await rclone("obscure", "secret")).stdout.trim();
  const extra = tls ? ",explicit_tls=true,no_check_certificate=true" : "";
  return `:ftp,host=127.0.0.1,port=${srv.port},user=bob,pass=${obscured}${extra}:`;
}

/** A local tree with a nested file, a binary file, an empty file and an empty folder. */
async function localTree(): Promise<string> {
  return await makeTree({
    "a.txt": "alpha\n",
    "zero.txt": "",
    "sub/b.bin": randomBytes(700_000),
    "sub/deeper/c.txt": "charlie\n",
    "empty/": "",
  });
}

async function roundTrip(srv: TestServer, tls: boolean) {
  const remote = await remoteOf(srv, tls);
  const local = await localTree();
  const back = await Deno.makeTempDir({ prefix: "xxftp-rclone-" });
  const served = join(srv.root, "bob/new/nested/dir");
  const ok = (r: { code: number; stderr: string }, what: string) =>
    assert.equal(r.code, 0, `rclone ${what}:\n${r.stderr}`);
  try {
    ok(await rclone("copy", "--create-empty-src-dirs", local, `${remote}new/nested/dir`), "copy");
    assert.deepEqual(await treeOf(served), await treeOf(local), "copy into a new nested folder");

    const check = await rclone("check", local, `${remote}new/nested/dir`);
    ok(check, "check");
    assert.match(check.stderr, /0 differences found/);

    await Deno.remove(join(local, "sub/b.bin"));
    await writeTree(local, { "a.txt": "alpha, changed\n", "sub/new.bin": randomBytes(5000) });
    ok(await rclone("sync", "--create-empty-src-dirs", local, `${remote}new/nested/dir`), "sync");
    assert.deepEqual(await treeOf(served), await treeOf(local), "sync deleted and replaced");

    ok(await rclone("copy", "--create-empty-src-dirs", `${remote}new`, back), "download");
    assert.deepEqual(await treeOf(join(back, "nested/dir")), await treeOf(local), "download");

    ok(await rclone("moveto", `${remote}new/nested/dir/a.txt`, `${remote}new/moved.txt`), "moveto");
    assert.equal(await Deno.readTextFile(join(srv.root, "bob/new/moved.txt")), "alpha, changed\n");
    assert.ok(!(await treeOf(served))["a.txt"], "moved, not copied");

    ok(await rclone("purge", `${remote}new`), "purge");
    assert.deepEqual(Object.keys(await treeOf(join(srv.root, "bob"))), ["keep.txt"], "purged");
    assert.ok(!hasStackTrace(srv.output()), srv.output());
  } finally {
    await Deno.remove(local, { recursive: true });
    await Deno.remove(back, { recursive: true });
  }
}

const servedTree = () => makeTree({ "bob/.xxftp/password": MD5_OF_SECRET, "bob/keep.txt": "keep" });

Deno.test("rclone (plain FTP): copy into a new nested folder, check, sync, download, move, purge", async () => {
  await using srv = await startServer(await servedTree());
  await roundTrip(srv, false);
});

Deno.test("rclone (explicit TLS, PROT P): copy into a new nested folder, check, sync, download, move, purge", async () => {
  const root = await servedTree();
  const certs = await Deno.makeTempDir({ prefix: "xxftp-cert-" });
  try {
    const cert = await makeCert(certs);
    assert.ok(cert, "openssl made a certificate");
    await using srv = await startServer(root, {
      args: ["--tls-cert", cert.cert, "--tls-key", cert.key, "--tls-required"],
      denoFlags: ["--allow-net", `--allow-read=${root},${certs}`, `--allow-write=${root}`],
    });
    await roundTrip(srv, true);
  } finally {
    await Deno.remove(certs, { recursive: true });
  }
});
