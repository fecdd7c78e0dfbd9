/**
 * Empty transfers under PROT P: listings of an empty folder and zero-byte
 * files are 226, and the client sees the data connection end with close_notify.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertNoStackTrace, LFTP_FTPS, python, serveTree } from "../support/ftps.ts";
import { run, writeTree } from "../support/server.ts";

Deno.test("PROT P: empty LIST, NLST, MLSD and zero-byte RETR, STOR end in 226 and close_notify", async () => {
  await using srv = await serveTree({ "bob/empty/": "", "bob/zero.bin": "" });
  const r = await python<Record<string, [string, number, boolean]>>(
    srv,
    `
ftp = login()
out = {}
for cmd in ["LIST empty", "NLST empty", "MLSD empty", "RETR zero.bin"]:
    conn = ftp.transfercmd(cmd)
    data, clean = read_to_end(conn)
    conn.close()
    out[cmd] = [reply(ftp), len(data), clean]
conn = ftp.transfercmd("STOR up.bin")
try:
    conn.unwrap()
    clean = True
except (OSError, ssl.SSLError):
    clean = False
conn.close()
out["STOR up.bin"] = [reply(ftp), 0, clean]
ftp.quit()
print(json.dumps(out))
`,
  );
  for (const [cmd, [answer, bytes, clean]] of Object.entries(r)) {
    assert.match(answer, /^226 /, cmd);
    assert.equal(bytes, 0, cmd);
    assert.ok(clean, `${cmd}: the server's close_notify arrived`);
  }
  assert.equal((await Deno.stat(join(srv.root, "bob/up.bin"))).size, 0);
  assertNoStackTrace(srv);
});

Deno.test("PROT P: curl lists an empty folder, gets and puts a zero-byte file", async () => {
  await using srv = await serveTree({ "bob/empty/": "", "bob/zero.bin": "" });
  const url = `ftp://127.0.0.1:${srv.port}`;
  const curl = (...args: string[]) =>
    run("curl", ["-sS", "--ssl-reqd", "-k", "-u", "bob:secret", ...args]);
  const list = await curl(`${url}/empty/`);
  assert.equal(list.code, 0, list.stderr);
  assert.equal(list.stdout, "");
  const names = await curl("-l", `${url}/empty/`);
  assert.equal(names.code, 0, names.stderr);
  const get = await curl(`${url}/zero.bin`);
  assert.equal(get.code, 0, get.stderr);
  assert.equal(get.stdout, "");
  const put = await curl("-T", "/dev/null", `${url}/empty/none.bin`);
  assert.equal(put.code, 0, put.stderr);
  assert.equal((await Deno.stat(join(srv.root, "bob/empty/none.bin"))).size, 0);
  assertNoStackTrace(srv);
});

Deno.test("PROT P: lftp mirrors a tree with an empty folder and an empty file, down and up", async () => {
  await using srv = await serveTree({
    "bob/tree/a.txt": "a",
    "bob/tree/empty/": "",
    "bob/tree/sub/zero.txt": "",
    "bob/tree/sub/deeper/": "",
  });
  const local = await Deno.makeTempDir({ prefix: "xxftp-mirror-" });
  try {
    await writeTree(local, { "up/b.txt": "b", "up/void/": "", "up/in/zero.bin": "" });
    const r = await run(
      "lftp",
      ["-f", "/dev/stdin"],
      [
        ...LFTP_FTPS,
        `open -u bob,secret ftp://127.0.0.1:${srv.port}`,
        `mirror tree ${join(local, "down")}`,
        `mirror -R ${join(local, "up")} up`,
        "bye",
      ].join("\n"),
    );
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(join(local, "down/a.txt")), "a");
    assert.ok((await Deno.stat(join(local, "down/empty"))).isDirectory);
    assert.ok((await Deno.stat(join(local, "down/sub/deeper"))).isDirectory);
    assert.equal((await Deno.stat(join(local, "down/sub/zero.txt"))).size, 0);
    assert.equal(await Deno.readTextFile(join(srv.root, "bob/up/b.txt")), "b");
    assert.ok((await Deno.stat(join(srv.root, "bob/up/void"))).isDirectory);
    assert.equal((await Deno.stat(join(srv.root, "bob/up/in/zero.bin"))).size, 0);
  } finally {
    await Deno.remove(local, { recursive: true });
  }
  assertNoStackTrace(srv);
});
