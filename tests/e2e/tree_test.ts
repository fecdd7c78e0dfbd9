/** The served tree is the configuration: permissions, virtual folders, quotas, hidden names, banners, limits. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { RawClient } from "../support/raw.ts";
import { ftplib, makeTree, startServer, writeTree } from "../support/server.ts";

type Out = Record<string, string>;

const codes = (out: Out) =>
  Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.slice(0, 3)]));

Deno.test("permissions: read-only, write without modify, all", async () => {
  const root = await makeTree({
    "ro/.xxftp/permission": "read",
    "ro/f.txt": "keep",
    "wo/.xxftp/permission": "read,write",
    "wo/f.txt": "keep",
    "all/f.txt": "x",
  });
  await using srv = await startServer(root);
  const r = await ftplib<Record<string, Out>>(
    srv.port,
    `
res = {}
for user in ["ro", "wo", "all"]:
    ftp = connect(user, "x")
    out = {}
    buf = io.BytesIO(); out["retr"] = attempt(ftp.retrbinary, "RETR f.txt", buf.write)
    out["list"] = attempt(ftp.sendcmd, "NOOP") if ftp.nlst() else "000"
    out["stor_new"] = attempt(ftp.storbinary, "STOR new.txt", io.BytesIO(b"n"))
    out["stor_over"] = attempt(ftp.storbinary, "STOR f.txt", io.BytesIO(b"over"))
    out["appe_over"] = attempt(ftp.storbinary, "APPE f.txt", io.BytesIO(b"more"))
    out["mkd"] = attempt(ftp.sendcmd, "MKD d")
    out["rnfr"] = attempt(ftp.sendcmd, "RNFR f.txt")
    out["chmod"] = attempt(ftp.sendcmd, "SITE CHMOD 600 f.txt")
    out["dele"] = attempt(ftp.sendcmd, "DELE f.txt")
    res[user] = out
print(json.dumps(res))
`,
  );
  assert.deepEqual(codes(r.ro), {
    retr: "226",
    list: "200",
    stor_new: "550",
    stor_over: "550",
    appe_over: "550",
    mkd: "550",
    rnfr: "550",
    chmod: "550",
    dele: "550",
  });
  assert.deepEqual(codes(r.wo), {
    retr: "226",
    list: "200",
    stor_new: "226",
    stor_over: "550",
    appe_over: "550",
    mkd: "550",
    rnfr: "550",
    chmod: "550",
    dele: "550",
  });
  assert.deepEqual(codes(r.all), {
    retr: "226",
    list: "200",
    stor_new: "226",
    stor_over: "226",
    appe_over: "226",
    mkd: "257",
    rnfr: "350",
    chmod: "200",
    dele: "250",
  });
  assert.equal(await Deno.readTextFile(join(root, "ro/f.txt")), "keep");
  assert.equal(await Deno.readTextFile(join(root, "wo/f.txt")), "keep");
  assert.equal(await Deno.readTextFile(join(root, "wo/new.txt")), "n");
});

Deno.test("the classic anonymous setup: read-only root, upload folder that takes new files only", async () => {
  const root = await makeTree({
    "anonymous/.xxftp/permission": "read",
    "anonymous/.xxftp/virtual": "# the upload folder\nupload $root/incoming read,write\n",
    "anonymous/readme.txt": "read me",
    "incoming/old.txt": "old",
  });
  await using srv = await startServer(root);
  const r = await ftplib<Out & { list: string[] }>(
    srv.port,
    `
ftp = connect()
out = {"list": sorted(ftp.nlst())}
out["new"] = attempt(ftp.storbinary, "STOR upload/new.txt", io.BytesIO(b"fresh"))
out["over"] = attempt(ftp.storbinary, "STOR upload/old.txt", io.BytesIO(b"evil"))
out["appe"] = attempt(ftp.storbinary, "APPE upload/old.txt", io.BytesIO(b"evil"))
out["dele"] = attempt(ftp.sendcmd, "DELE upload/old.txt")
out["rnfr"] = attempt(ftp.sendcmd, "RNFR upload/old.txt")
out["mkd"] = attempt(ftp.sendcmd, "MKD upload/dir")
out["root_stor"] = attempt(ftp.storbinary, "STOR readme.txt", io.BytesIO(b"evil"))
out["root_new"] = attempt(ftp.storbinary, "STOR other.txt", io.BytesIO(b"evil"))
out["rmd_virtual"] = attempt(ftp.sendcmd, "RMD upload")
out["rnfr_virtual"] = attempt(ftp.sendcmd, "RNFR upload")
out["stor_virtual"] = attempt(ftp.storbinary, "STOR upload", io.BytesIO(b"x"))
out["cwd"] = ftp.sendcmd("CWD upload")
out["pwd"] = ftp.pwd()
buf = io.BytesIO(); ftp.retrbinary("RETR new.txt", buf.write); out["back"] = buf.getvalue().decode()
print(json.dumps(out))
`,
  );
  assert.deepEqual(r.list, ["readme.txt", "upload"]);
  const { list: _list, back, pwd, ...rest } = r;
  assert.deepEqual(codes(rest), {
    new: "226",
    over: "550",
    appe: "550",
    dele: "550",
    rnfr: "550",
    mkd: "550",
    root_stor: "550",
    root_new: "550",
    rmd_virtual: "550",
    rnfr_virtual: "550",
    stor_virtual: "550",
    cwd: "250",
  });
  assert.equal(pwd, "/upload");
  assert.equal(back, "fresh");
  assert.equal(await Deno.readTextFile(join(root, "incoming/old.txt")), "old");
});

Deno.test("virtual folders: depth 2 with $root, escapes refused unless granted, RNTO into read-only", async () => {
  const outside = await makeTree({ "secret.txt": "outside secret" });
  const root = await makeTree({
    "u/a/b/.xxftp/virtual": `shared $root/shared read\nesc ${outside} read\nesc2 $root/../${
      outside.split("/").pop()
    } read\n`,
    "u/mine.txt": "mine",
    "shared/s.txt": "shared file",
  });
  const log: string[] = [];
  try {
    await using srv = await startServer(root);
    const r = await ftplib<Out & { list: string[] }>(
      srv.port,
      `
ftp = connect("u", "x")
out = {"list": sorted(ftp.nlst("a/b"))}
buf = io.BytesIO(); ftp.retrbinary("RETR a/b/shared/s.txt", buf.write); out["shared"] = buf.getvalue().decode()
out["esc"] = attempt(ftp.sendcmd, "CWD a/b/esc")
out["esc_retr"] = attempt(ftp.retrbinary, "RETR a/b/esc/secret.txt", print)
out["esc2"] = attempt(ftp.sendcmd, "CWD a/b/esc2")
out["rnfr"] = ftp.sendcmd("RNFR mine.txt")
out["rnto_ro"] = attempt(ftp.sendcmd, "RNTO a/b/shared/mine.txt")
out["rnfr2"] = ftp.sendcmd("RNFR mine.txt")
out["rnto_virtual"] = attempt(ftp.sendcmd, "RNTO a/b/shared")
print(json.dumps(out))
`,
    );
    assert.deepEqual(r.list, ["a/b/shared"]);
    assert.equal(r.shared, "shared file");
    for (const k of ["esc", "esc_retr", "esc2", "rnto_ro", "rnto_virtual"]) {
      assert.match(r[k], /^550/, k);
    }
    assert.equal(await Deno.readTextFile(join(root, "u/mine.txt")), "mine");
    await srv.stop();
    log.push(srv.output());
    assert.match(log[0], /virtual "esc" -> .* is outside the served root; refused/);

    await using granted = await startServer(root, {
      args: ["--allow-outside", outside],
      denoFlags: [
        "--allow-net",
        `--allow-read=${root},${outside}`,
        `--allow-write=${root},${outside}`,
      ],
    });
    const g = await ftplib<string>(
      granted.port,
      `ftp = connect("u", "x"); buf = io.BytesIO(); ftp.retrbinary("RETR a/b/esc/secret.txt", buf.write); print(json.dumps(buf.getvalue().decode()))`,
    );
    assert.equal(g, "outside secret");
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("hidden names are refused by every verb and spelling", async () => {
  const root = await makeTree({
    "u/.xxftp/password": "5ebe2294ecd0e0f08eab7690d2a6ee69",
    "u/.profile": "dot file",
    "u/sub/.hidden/x.txt": "x",
  });
  await using srv = await startServer(root);
  const r = await ftplib<Out & { list: string[] }>(
    srv.port,
    `
ftp = connect("u", "secret")
out = {"list": sorted(ftp.nlst()) + sorted(ftp.nlst("sub"))}
spellings = [".xxftp/password", "/.xxftp/password", "sub/../.xxftp/password", "\\\\.xxftp\\\\password", "./.profile", ".profile", "sub/.hidden/x.txt", "sub//.hidden/./x.txt", ".", "sub/.hidden"]
for i, p in enumerate(spellings):
    out["retr%d" % i] = attempt(ftp.retrbinary, "RETR " + p, print)
for verb in ["SIZE", "MDTM", "DELE", "RNFR", "MKD", "RMD", "CWD", "MLST"]:
    out[verb] = attempt(ftp.sendcmd, verb + " .xxftp")
out["stor"] = attempt(ftp.storbinary, "STOR .evil", io.BytesIO(b"x"))
out["list_hidden"] = attempt(ftp.retrlines, "LIST .xxftp", print)
out["rnto"] = [ftp.sendcmd("MKD vis"), ftp.sendcmd("RNFR vis"), attempt(ftp.sendcmd, "RNTO .vis")]
print(json.dumps(out))
`,
  );
  assert.deepEqual(r.list, ["sub"]);
  for (const [k, v] of Object.entries(r)) {
    if (k === "list" || k === "retr8") continue;
    if (k === "rnto") {
      assert.match(String(v[2]), /^550/);
      continue;
    }
    assert.match(String(v), /^55\d/, `${k}: ${v}`);
  }
  assert.match(r.retr8, /^550 Not a regular file/, "'.' is the current folder, not a hidden name");
  assert.equal(await Deno.readTextFile(join(root, "u/.profile")), "dot file");
});

Deno.test("quotas: 552 at the limit, old file intact, racing clients, nested limits", async () => {
  const root = await makeTree({
    "u/.xxftp/size": "1000",
    "u/.xxftp/virtual": "box $root/u/inner read,write,modify\n",
    "u/keep.txt": "k".repeat(100),
    "u/inner/.xxftp/size": "300",
    "v/.xxftp/size": "1000",
    "w/.xxftp/size": "2000",
  });
  await using srv = await startServer(root);
  const r = await ftplib<Out>(
    srv.port,
    `
ftp = connect("u", "x")
out = {}
out["fits"] = attempt(ftp.storbinary, "STOR a.bin", io.BytesIO(b"a" * 500))
out["over"] = attempt(ftp.storbinary, "STOR b.bin", io.BytesIO(b"b" * 600))
out["overwrite"] = attempt(ftp.storbinary, "STOR keep.txt", io.BytesIO(b"z" * 900))
out["nested_over"] = attempt(ftp.storbinary, "STOR box/n.bin", io.BytesIO(b"n" * 301))
out["nested_fits"] = attempt(ftp.storbinary, "STOR box/n.bin", io.BytesIO(b"n" * 300))
out["outer_now"] = attempt(ftp.storbinary, "STOR c.bin", io.BytesIO(b"c" * 101))
out["after_dele"] = ftp.sendcmd("DELE a.bin") + attempt(ftp.storbinary, "STOR c.bin", io.BytesIO(b"c" * 101))
out["names"] = " ".join(sorted(ftp.nlst()))
print(json.dumps(out))
`,
  );
  assert.deepEqual(codes(r), {
    fits: "226",
    over: "552",
    overwrite: "552",
    nested_over: "552",
    nested_fits: "226",
    outer_now: "552",
    after_dele: "250",
    names: "box",
  });
  assert.match(r.after_dele, /226/);
  assert.equal(r.names, "box c.bin inner keep.txt", "partial uploads are removed");
  assert.equal(await Deno.readTextFile(join(root, "u/keep.txt")), "k".repeat(100));

  for (const [user, clients, size] of [["v", 2, 700], ["w", 10, 300]] as const) {
    const race = await ftplib<string[]>(
      srv.port,
      `
import threading
res = [""] * ${clients}
def up(i):
    ftp = connect("${user}", "x")
    res[i] = attempt(ftp.storbinary, "STOR r%d.bin" % i, io.BytesIO(b"r" * ${size}))
ts = [threading.Thread(target=up, args=(i,)) for i in range(${clients})]
[t.start() for t in ts]; [t.join(30) for t in ts]
print(json.dumps(res))
`,
    );
    let stored = 0;
    for (const e of Deno.readDirSync(join(root, user))) {
      if (e.isFile) stored += Deno.statSync(join(root, user, e.name)).size;
    }
    const ok = race.filter((x) => x.startsWith("226")).length;
    assert.equal(ok + race.filter((x) => x.startsWith("552")).length, clients, race.join());
    assert.equal(stored, ok * size, "only complete uploads remain");
    assert.ok(stored <= (user === "v" ? 1000 : 2000), `${user}: ${stored} bytes stored`);
    assert.equal(ok, user === "v" ? 1 : 6);
  }
});

Deno.test("live configuration: banners, permissions, virtual, size and password edits are seen at once", async () => {
  const root = await makeTree({
    "xxftp.welcome": "first welcome",
    "u/f.txt": "f",
    "t/x.txt": "x",
  });
  await using srv = await startServer(root, { args: ["--login-fail-delay", "10"] });
  using c1 = await RawClient.open(srv.port);
  const hello1 = c1.greeting;
  assert.equal(hello1.text, "220 first welcome");
  assert.equal((await c1.login("u", "x")).code, 230);
  assert.equal((await c1.cmd("MKD a")).code, 257);
  await writeTree(root, {
    "xxftp.welcome": "second\nwelcome",
    "xxftp.goodbye": "bye now",
    "u/.xxftp/permission": "read",
    "u/.xxftp/virtual": "t $root/t read\n",
    "u/.xxftp/password": "5ebe2294ecd0e0f08eab7690d2a6ee69",
  });
  assert.equal((await c1.cmd("MKD b")).code, 550, "permission edit seen on the next command");
  assert.equal((await c1.cmd("CWD t")).code, 250, "virtual edit seen");
  assert.equal((await c1.cmd("QUIT")).text, "221 bye now");
  c1.close();
  using c2 = await RawClient.open(srv.port);
  const hello2 = c2.greeting;
  assert.equal(hello2.text, "220-second\n220 welcome");
  assert.equal((await c2.login("u", "x")).code, 530, "password edit seen");
  assert.equal((await c2.login("u", "secret")).code, 230);
  await writeTree(root, { "u/.xxftp/permission": "read,write", "u/.xxftp/size": "5" });
  const r = await ftplib<Out>(
    srv.port,
    `
ftp = connect("u", "secret")
out = {"small": attempt(ftp.storbinary, "STOR s.txt", io.BytesIO(b"1234"))}
out["big"] = attempt(ftp.storbinary, "STOR t.txt", io.BytesIO(b"12"))
open(sys.argv[2], "w").write("100")
out["raised"] = attempt(ftp.storbinary, "STOR t.txt", io.BytesIO(b"12"))
print(json.dumps(out))
`.replace("sys.argv[2]", JSON.stringify(join(root, "u/.xxftp/size"))),
  );
  assert.deepEqual(codes(r), { small: "226", big: "552", raised: "226" });
});

Deno.test("broken configuration fails closed and is logged, other users unaffected", async () => {
  const root = await makeTree({
    "bad/.xxftp/permission": "read,wrte",
    "bad/f.txt": "f",
    "badsize/.xxftp/size": "lots",
    "fine/": "",
  });
  await using srv = await startServer(root);
  const r = await ftplib<Out>(
    srv.port,
    `
out = {}
b = connect("bad", "x")
out["bad_retr"] = attempt(b.retrbinary, "RETR f.txt", print)
out["bad_stor"] = attempt(b.storbinary, "STOR g.txt", io.BytesIO(b"g"))
s = connect("badsize", "x")
out["size_stor"] = attempt(s.storbinary, "STOR g.txt", io.BytesIO(b"g"))
f = connect("fine", "x")
out["fine"] = attempt(f.storbinary, "STOR g.txt", io.BytesIO(b"g"))
print(json.dumps(out))
`,
  );
  assert.deepEqual(codes(r), { bad_retr: "550", bad_stor: "550", size_stor: "552", fine: "226" });
  await srv.waitFor('unknown permission "wrte"');
  await srv.waitFor('"lots" is not a byte count');
});

Deno.test("limits: max connections, max per address, idle time-out (not during a transfer)", async () => {
  const root = await makeTree({ "anonymous/": "", "u/": "" });
  await using srv = await startServer(root, {
    args: ["--max-connections", "3", "--max-per-ip", "2", "--idle-timeout", "2"],
  });
  using a = await RawClient.open(srv.port);
  using b = await RawClient.open(srv.port);
  using thirdClient = await RawClient.open(srv.port);
  const third = thirdClient.greeting;
  assert.equal(third.code, 421, "per-address limit");
  const fromOther = await ftplib<string>(
    srv.port,
    `ftp = ftplib.FTP(source_address=("127.0.0.2", 0)); print(json.dumps(ftp.connect("127.0.0.1", PORT)))`,
  );
  assert.match(fromOther, /^220/, "another address still gets in");
  assert.equal((await a.reply(8000)).code, 421, "idle connection closed with 421");
  b.close();
  const slow = await ftplib<string>(
    srv.port,
    `
import time
class Slow(io.RawIOBase):
    def __init__(self): self.n = 0
    def readable(self): return True
    def readinto(self, b):
        if self.n >= 6: return 0
        time.sleep(0.5); self.n += 1; b[:4] = b"abcd"; return 4
ftp = connect("u", "x")
print(json.dumps(attempt(ftp.storbinary, "STOR slow.txt", Slow(), 4)))
`,
  );
  assert.match(slow, /^226/, "a running transfer is not idle");
  assert.equal(await Deno.readTextFile(join(root, "u/slow.txt")), "abcd".repeat(6));
});

Deno.test("--read-only caps what every tree file grants", async () => {
  const root = await makeTree({
    "all/f.txt": "f",
    "anonymous/.xxftp/virtual": "upload $root/incoming read,write\n",
    "incoming/": "",
  });
  await using srv = await startServer(root, { args: ["--read-only"] });
  const r = await ftplib<Out>(
    srv.port,
    `
ftp = connect("all", "x")
out = {}
buf = io.BytesIO(); out["retr"] = attempt(ftp.retrbinary, "RETR f.txt", buf.write)
out["stor"] = attempt(ftp.storbinary, "STOR g.txt", io.BytesIO(b"g"))
out["mkd"] = attempt(ftp.sendcmd, "MKD d")
out["dele"] = attempt(ftp.sendcmd, "DELE f.txt")
out["rnfr"] = attempt(ftp.sendcmd, "RNFR f.txt")
a = connect()
out["anon_upload"] = attempt(a.storbinary, "STOR upload/new.txt", io.BytesIO(b"n"))
print(json.dumps(out))
`,
  );
  assert.deepEqual(codes(r), {
    retr: "226",
    stor: "550",
    mkd: "550",
    dele: "550",
    rnfr: "550",
    anon_upload: "550",
  });
  assert.deepEqual([...Deno.readDirSync(join(root, "incoming"))], []);
});

Deno.test("xxftp share: one folder for anonymous users, read-only unless --writable", async () => {
  const root = await makeTree({ "a.txt": "shared", "sub/b.txt": "b" });
  const script = `
out = {"list": " ".join(sorted(connect().nlst()))}
buf = io.BytesIO(); connect("ftp", "").retrbinary("RETR sub/b.txt", buf.write); out["b"] = buf.getvalue().decode()
out["up"] = attempt(connect().storbinary, "STOR new.txt", io.BytesIO(b"n"))
out["bob"] = attempt(connect, "bob", "x")
print(json.dumps(out))
`;
  {
    await using ro = await startServer(root, { command: "share" });
    await ro.waitFor('this folder as "/", read-only');
    const r = await ftplib<Out>(ro.port, script);
    assert.deepEqual(r.list, "a.txt sub");
    assert.equal(r.b, "b");
    assert.match(r.up, /^550/);
    assert.match(r.bob, /^530/);
  }
  const tree = await makeTree({ "a.txt": "shared" }); // the first server removed its tree
  await using rw = await startServer(tree, { command: "share", args: ["--writable"] });
  const w = await ftplib<Out>(rw.port, script.replace("sub/b.txt", "a.txt"));
  assert.match(w.up, /^226/);
  assert.equal(await Deno.readTextFile(join(tree, "new.txt")), "n");
});

Deno.test("quotas: replacing a file near the limit is fine when the result fits", async () => {
  const root = await makeTree({ "u/.xxftp/size": "100", "u/f.bin": "x".repeat(80) });
  await using srv = await startServer(root);
  const r = await ftplib<Out>(
    srv.port,
    `
ftp = connect("u", "x")
out = {"fits": attempt(ftp.storbinary, "STOR f.bin", io.BytesIO(b"y" * 90))}
out["too_big"] = attempt(ftp.storbinary, "STOR f.bin", io.BytesIO(b"z" * 101))
out["new"] = attempt(ftp.storbinary, "STOR g.bin", io.BytesIO(b"g" * 11))
print(json.dumps(out))
`,
  );
  assert.deepEqual(codes(r), { fits: "226", too_big: "552", new: "552" });
  assert.equal(await Deno.readTextFile(join(root, "u/f.bin")), "y".repeat(90));
});

Deno.test("quotas hold for renames too: moving into a limited folder must fit", async () => {
  const root = await makeTree({
    "u/.xxftp/virtual": "box $root/box read,write,modify\n",
    "u/big.bin": "b".repeat(150),
    "u/small.bin": "s".repeat(50),
    "u/d/inner.bin": "i".repeat(60),
    "box/.xxftp/size": "100",
  });
  await using srv = await startServer(root);
  const r = await ftplib<Record<string, string[]>>(
    srv.port,
    `
ftp = connect("u", "x")
def move(a, b):
    return [ftp.sendcmd("RNFR " + a), attempt(ftp.sendcmd, "RNTO " + b)]
print(json.dumps({
    "big": move("big.bin", "box/big.bin"),
    "small": move("small.bin", "box/small.bin"),
    "folder": move("d", "box/d"),
    "rename_here": move("d", "e"),
}))
`,
  );
  const codesOf = (pair: string[]) => pair.map((x) => x.slice(0, 3));
  assert.deepEqual(codesOf(r.big), ["350", "552"]);
  assert.deepEqual(codesOf(r.small), ["350", "250"]);
  assert.deepEqual(codesOf(r.folder), ["350", "552"], "50 + 60 > 100");
  assert.deepEqual(codesOf(r.rename_here), ["350", "250"]);
  assert.equal(
    (await Deno.stat(join(root, "u/big.bin"))).size,
    150,
    "a refused move leaves the file",
  );
  assert.deepEqual([...Deno.readDirSync(join(root, "box"))].map((e) => e.name).sort(), [
    ".xxftp",
    "small.bin",
  ]);
});
