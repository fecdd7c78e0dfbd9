/**
 * Rules the core keeps for every door, tried through FTP with Python's
 * ftplib against a real server process: storage limits keyed by the real
 * folder (links resolved), and logins that scale without giving up the
 * slow hash or the brute-force limits.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ftplib, makeTree, run, startServer } from "../support/server.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Writes a scrypt password line for `user` with the real `xxftp passwd`. */
async function setPassword(root: string, user: string, password: string): Promise<void> {
  const flags = [`--allow-read=${root}`, `--allow-write=${root}`];
  const r = await run(
    Deno.execPath(),
    ["run", ...flags, MAIN, "passwd", user, root],
    password + "\n",
  );
  assert.equal(r.code, 0, r.stderr);
}

Deno.test("quotas follow the real folder: nested limits through a link, a link out, RNTO through a link", async () => {
  const root = await makeTree({
    "u/.xxftp/size": "1000",
    "u/lim/.xxftp/size": "100",
    "u/lim/old.bin": "o".repeat(40),
    "u/free/": "",
    "u/free/big.bin": "b".repeat(200),
  });
  await Deno.symlink(join(root, "u/lim"), join(root, "u/tolim")); // into the limited folder
  await Deno.symlink(join(root, "u/free"), join(root, "u/lim/out")); // out of it
  await using srv = await startServer(root);
  const r = await ftplib<Record<string, string>>(
    srv.port,
    `
ftp = connect("u", "x")
def put(path, n):
    return attempt(ftp.storbinary, "STOR " + path, io.BytesIO(b"x" * n))
def move(a, b):
    ftp.sendcmd("RNFR " + a)
    return attempt(ftp.sendcmd, "RNTO " + b)
print(json.dumps({
    "through_link_over": put("tolim/a.bin", 70),
    "through_link_fits": put("tolim/b.bin", 50),
    "direct_after": put("lim/c.bin", 20),
    "link_out": put("lim/out/d.bin", 150),
    "rnto_through_link": move("free/big.bin", "tolim/big.bin"),
}))
`,
  );
  const code = (s: string) => s.slice(0, 3);
  assert.equal(code(r.through_link_over), "552", "40 + 70 > 100, reached through a link");
  assert.equal(code(r.through_link_fits), "226");
  assert.equal(code(r.direct_after), "552", "40 + 50 + 20 > 100: one figure for both spellings");
  assert.equal(code(r.link_out), "226", "a link out of the limited folder does not count there");
  assert.equal(code(r.rnto_through_link), "552", "a move through a link must fit too");
  assert.equal((await Deno.stat(join(root, "u/free/d.bin"))).size, 150);
  assert.equal(
    (await Deno.stat(join(root, "u/free/big.bin"))).size,
    200,
    "the refused move left it",
  );
  assert.deepEqual(
    [...Deno.readDirSync(join(root, "u/lim"))].map((e) => e.name).sort(),
    [".xxftp", "b.bin", "old.bin", "out"],
  );
});

Deno.test("50 parallel password logins from one address all succeed, and a changed password file applies at once", async () => {
  const root = await makeTree({ "alice/f.txt": "hello" });
  await setPassword(root, "alice", "s3cret");
  await using srv = await startServer(root, { args: ["--max-login-failures", "3"] });
  const r = await ftplib<{ ok: number; results: string[] }>(
    srv.port,
    `
import threading
res = [""] * 50
def go(i):
    try:
        ftp = connect("alice", "s3cret")
        res[i] = ftp.nlst()[0]
        ftp.quit()
    except Exception as e:
        res[i] = str(e)
ts = [threading.Thread(target=go, args=(i,)) for i in range(50)]
[t.start() for t in ts]; [t.join(60) for t in ts]
print(json.dumps({"ok": sum(1 for x in res if x == "f.txt"), "results": res}))
`,
  );
  assert.equal(r.ok, 50, r.results.filter((x) => x !== "f.txt").join(" | "));
  await setPassword(root, "alice", "changed");
  const after = await ftplib<string[]>(
    srv.port,
    `print(json.dumps([attempt(connect, "alice", "s3cret"), attempt(connect, "alice", "changed")]))`,
  );
  assert.match(after[0], /^530/, "the cached old password no longer works");
  assert.match(after[1], /FTP object/);
  assert.doesNotMatch(srv.output(), /s3cret|changed/, "no password in the log");
});
