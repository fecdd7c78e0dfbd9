/** Replies clients rely on: listing arguments, MLSD of a missing folder, STAT <path>, state slips. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { RawClient } from "../support/raw.ts";
import { ftplib, makeTree, startServer } from "../support/server.ts";

const MD5_OF_SECRET = "5ebe2294ecd0e0f08eab7690d2a6ee69";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("MLSD of a missing folder is 550 (of a file 501); LIST/NLST take -1, -lat, -a -l as flags", async () => {
  const root = await makeTree({ "u/dir/a.txt": "a", "u/dir/b.txt": "bb", "u/top.txt": "t" });
  await using srv = await startServer(root);
  const r = await ftplib<Record<string, string | string[]>>(
    srv.port,
    `
ftp = connect("u", "x")
out = {}
out["mlsd_missing"] = attempt(lambda: list(ftp.mlsd("nowhere/deeper")))
out["mlsd_file"] = attempt(lambda: list(ftp.mlsd("top.txt")))
out["nlst_1"] = sorted(ftp.nlst("-1"))
out["nlst_1_dir"] = sorted(ftp.nlst("-1 dir"))
for arg in ["-1", "-lat", "-a -l dir", "-1a dir"]:
    lines = []; ftp.retrlines("LIST " + arg, lines.append); out["list " + arg] = lines
print(json.dumps(out))
`,
  );
  assert.match(String(r.mlsd_missing), /^550/);
  assert.match(String(r.mlsd_file), /^501/);
  assert.deepEqual(r.nlst_1, ["dir", "top.txt"]);
  assert.deepEqual(r.nlst_1_dir, ["dir/a.txt", "dir/b.txt"]);
  const names = (key: string) => (r[key] as string[]).map((l) => l.split(" ").pop()).sort();
  assert.deepEqual(names("list -1"), ["dir", "top.txt"]);
  assert.deepEqual(names("list -lat"), ["dir", "top.txt"]);
  assert.deepEqual(names("list -a -l dir"), ["a.txt", "b.txt"]);
  assert.deepEqual(names("list -1a dir"), ["a.txt", "b.txt"]);
});

Deno.test("STAT <path>: LIST's lines on the control connection, with LIST's rules", async () => {
  const root = await makeTree({
    "u/.xxftp/virtual": "pub $root/pub read\ndrop $root/drop write\n",
    "u/docs/a.txt": "alpha",
    "u/docs/b.md": "bravo",
    "u/docs/.secret": "hidden",
    "u/top.txt": "top",
    "pub/p.txt": "p",
    "drop/d.txt": "d",
  });
  await using srv = await startServer(root);
  const r = await ftplib<Record<string, string | string[]>>(
    srv.port,
    `
ftp = connect(None)
out = {"before_login": attempt(ftp.sendcmd, "STAT /")}
ftp.login("u", "x")
for arg in ["", " /", " docs", " -la docs", " docs/*.txt", " top.txt", " pub", " nowhere", " .xxftp", " docs/.secret", " drop"]:
    out["STAT" + arg] = attempt(ftp.sendcmd, "STAT" + arg)
lines = []; ftp.retrlines("LIST docs", lines.append); out["list"] = lines
print(json.dumps(out))
`,
  );
  const lines = (key: string) => String(r[key]).split("\n");
  const names = (key: string) => lines(key).slice(1, -1).map((l) => l.split(" ").pop()).sort();
  assert.match(String(r.before_login), /^530/);
  assert.match(String(r.STAT), /^211-/, "without a path: the session's status");
  assert.deepEqual(names("STAT /"), ["docs", "drop", "pub", "top.txt"]);
  assert.deepEqual(lines("STAT docs")[0], "213-Status of /docs:");
  assert.deepEqual(lines("STAT docs").at(-1), "213 End of status.");
  assert.deepEqual(
    lines("STAT docs").slice(1, -1),
    (r.list as string[]).map((l) => `213-${l}`),
    "the same lines as LIST",
  );
  assert.deepEqual(names("STAT -la docs"), ["a.txt", "b.md"]);
  assert.deepEqual(names("STAT docs/*.txt"), ["a.txt"]);
  assert.match(lines("STAT top.txt")[1], /^213--rw.* 3 .* top\.txt$/);
  assert.deepEqual(names("STAT pub"), ["p.txt"], "a virtual directory lists its target");
  for (const key of ["STAT nowhere", "STAT .xxftp", "STAT docs/.secret", "STAT drop"]) {
    assert.match(String(r[key]), /^550 /, key);
  }
});

Deno.test("a failed RNFR forgets the one before it: RNFR a, RNFR missing, RNTO b renames nothing", async () => {
  const root = await makeTree({
    "u/a.txt": "a",
    "u/.xxftp/virtual": "ro $root/shared read\n",
    "shared/r.txt": "r",
  });
  await using srv = await startServer(root);
  using c = await RawClient.open(srv.port);
  await c.login("u", "x");
  // Every way an RNFR can fail: missing, refused by permission, hidden, no argument, bad path.
  for (const failing of ["RNFR missing.txt", "RNFR ro/r.txt", "RNFR .xxftp", "RNFR", "RNFR /"]) {
    assert.equal((await c.cmd("RNFR a.txt")).code, 350);
    const failed = await c.cmd(failing);
    assert.ok(failed.code >= 500, `${failing}: ${failed.text}`);
    assert.equal((await c.cmd("RNTO b.txt")).code, 503, `after ${failing}`);
  }
  assert.equal(await Deno.readTextFile(join(root, "u/a.txt")), "a");
  assert.deepEqual([...Deno.readDirSync(join(root, "u"))].map((e) => e.name).sort(), [
    ".xxftp",
    "a.txt",
  ]);
  assert.equal((await c.cmd("RNFR a.txt")).code, 350, "a good RNFR still works");
  assert.equal((await c.cmd("RNTO b.txt")).code, 250);
  assert.equal(await Deno.readTextFile(join(root, "u/b.txt")), "a");
});

Deno.test("USER after login logs out: the login time limit and the pre-login cap apply again", async () => {
  const root = await makeTree({ "bob/.xxftp/password": MD5_OF_SECRET, "bob/f.txt": "f" });
  await using srv = await startServer(root, {
    args: ["--login-timeout", "3", "--max-login-failures", "2", "--login-fail-delay", "10"],
  });
  using timed = await RawClient.open(srv.port);
  assert.equal((await timed.login("bob", "secret")).code, 230);
  await sleep(3500);
  assert.equal((await timed.cmd("NOOP")).code, 200, "no login time limit while logged in");
  assert.equal((await timed.cmd("USER bob")).code, 331);
  assert.equal((await timed.cmd("SIZE f.txt")).code, 530, "logged out");
  await sleep(1000);
  assert.equal((await timed.cmd("NOOP")).code, 200, "the limit starts over at USER");
  assert.match((await timed.reply(10_000)).text, /^421 Login time limit/);

  using chatty = await RawClient.open(srv.port);
  await chatty.login("bob", "secret");
  for (let i = 0; i < 40; i++) assert.equal((await chatty.cmd("NOOP")).code, 200);
  assert.equal((await chatty.cmd("USER bob")).code, 331);
  let last = 0;
  for (let i = 0; i < 40 && last !== 421; i++) last = (await chatty.cmd("NOOP")).code;
  assert.equal(last, 421, "the pre-login cap applies again");

  using repeats = await RawClient.open(srv.port);
  last = 0;
  for (let i = 0; i < 40 && last !== 421; i++) last = (await repeats.cmd("USER bob")).code;
  assert.equal(last, 421, "USER before login does not reset the cap");

  using guessing = await RawClient.open(srv.port);
  await guessing.login("bob", "secret");
  for (let i = 0; i < 2; i++) {
    await guessing.cmd("USER bob");
    const r = await guessing.cmd("PASS wrong");
    if (r.code === 421) break;
    assert.equal(r.code, 530);
  }
  using after = await RawClient.open(srv.port);
  assert.equal(after.greeting.code, 421, "failures after a logout count against the address");
});
