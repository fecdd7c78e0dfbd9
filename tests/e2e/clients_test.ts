/** Real clients no one here wrote: curl, lftp and Node's basic-ftp. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "basic-ftp";
import {
  lftpMirrorSession,
  makeTree,
  randomBytes,
  run,
  sameBytes,
  startServer,
} from "../support/server.ts";
import { collectingSink } from "../support/sink.ts";

const MD5_OF_SECRET = "5ebe2294ecd0e0f08eab7690d2a6ee69";

Deno.test("curl: list, download, upload, EPRT active mode, quote commands", async () => {
  const root = await makeTree({
    "anonymous/pub/hello.txt": "hello from anonymous\n",
    "bob/.xxftp/password": MD5_OF_SECRET,
    "bob/in/": "",
  });
  const payload = randomBytes(300_000);
  await Deno.writeFile(join(root, "payload.bin"), payload);
  await using srv = await startServer(root);
  const url = `ftp://127.0.0.1:${srv.port}`;
  const list = await run("curl", ["-sS", `${url}/`]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout, /^d[rwx-]{9} .* pub\r?$/m);
  const get = await run("curl", ["-sS", `${url}/pub/hello.txt`]);
  assert.equal(get.stdout, "hello from anonymous\n");
  const up = await run("curl", [
    "-sS",
    "-u",
    "bob:secret",
    "-T",
    join(root, "payload.bin"),
    `${url}/in/`,
  ]);
  assert.equal(up.code, 0, up.stderr);
  assert.ok(sameBytes(await Deno.readFile(join(root, "bob/in/payload.bin")), payload));
  const active = await run("curl", [
    "-sS",
    "-u",
    "bob:secret",
    "-P",
    "127.0.0.1",
    `${url}/in/payload.bin`,
    "-o",
    join(root, "back.bin"),
  ]);
  assert.equal(active.code, 0, active.stderr);
  assert.ok(sameBytes(await Deno.readFile(join(root, "back.bin")), payload));
  const wrong = await run("curl", ["-sS", "-u", "bob:nope", `${url}/`]);
  assert.equal(wrong.code, 67, "curl: login denied");
  const dele = await run("curl", [
    "-sS",
    "-u",
    "bob:secret",
    `${url}/in/`,
    "-Q",
    "DELE /in/payload.bin",
    "-Q",
    "-MKD /in/made",
  ]);
  assert.equal(dele.code, 0, dele.stderr);
  assert.deepEqual([...Deno.readDirSync(join(root, "bob/in"))].map((e) => e.name), ["made"]);
});

Deno.test("lftp: mirror a folder up and down, rename, remove", async () => {
  const root = await makeTree({
    "bob/.xxftp/password": MD5_OF_SECRET,
    "local/a.txt": "A",
    "local/sub/b.txt": "B",
    "local/sub/deeper/c.bin": "C",
  });
  await using srv = await startServer(root);
  const r = await lftpMirrorSession(srv.port, join(root, "local"), join(root, "down"));
  assert.equal(r.code, 0, r.stderr + r.stdout);
  assert.match(r.stdout, /renamed\.txt/);
  assert.equal(await Deno.readTextFile(join(root, "down/sub/deeper/c.bin")), "C");
  assert.equal(await Deno.readTextFile(join(root, "bob/up/renamed.txt")), "A");
  assert.deepEqual([...Deno.readDirSync(join(root, "bob/up/sub"))].map((e) => e.name), ["b.txt"]);
});

Deno.test("basic-ftp (Node): MLSD listing, upload, download, rename, remove", async () => {
  const root = await makeTree({ "bob/.xxftp/password": MD5_OF_SECRET, "bob/docs/x.txt": "xx" });
  await using srv = await startServer(root);
  const client = new Client(15000);
  try {
    await client.access({ host: "127.0.0.1", port: srv.port, user: "bob", password: "secret" });
    const listed = await client.list("/docs");
    assert.deepEqual(listed.map((f) => [f.name, f.size, f.isFile]), [["x.txt", 2, true]]);
    await client.uploadFrom(join(root, "bob/docs/x.txt"), "/docs/y.txt");
    await client.appendFrom(join(root, "bob/docs/x.txt"), "/docs/y.txt");
    const got = collectingSink();
    await client.downloadTo(got.sink, "/docs/y.txt");
    assert.equal(new TextDecoder().decode(got.bytes()), "xxxx");
    await client.rename("/docs/y.txt", "/docs/z.txt");
    assert.equal(await client.size("/docs/z.txt"), 4);
    assert.ok((await client.lastMod("/docs/z.txt")) instanceof Date);
    await client.ensureDir("/made/deep");
    await client.cd("/");
    await client.removeDir("/made");
    await client.remove("/docs/z.txt");
    assert.deepEqual((await client.list("/")).map((f) => f.name), ["docs"]);
  } finally {
    client.close();
  }
});

Deno.test("wget: recursive download of the anonymous tree", async () => {
  const root = await makeTree({
    "anonymous/readme.txt": "top",
    "anonymous/pub/deep/file.txt": "deep file",
    "anonymous/.hidden/secret.txt": "never",
  });
  await using srv = await startServer(root);
  const out = join(root, "mirror");
  const r = await run("wget", [
    "-q",
    "-r",
    "-np",
    "-nH",
    "-P",
    out,
    `ftp://127.0.0.1:${srv.port}/`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(await Deno.readTextFile(join(out, "readme.txt")), "top");
  assert.equal(await Deno.readTextFile(join(out, "pub/deep/file.txt")), "deep file");
  await assert.rejects(Deno.stat(join(out, ".hidden")), Deno.errors.NotFound);
});
