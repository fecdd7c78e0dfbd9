/** The command set, driven by Python's ftplib against a real server process. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { epsvConnect, epsvPort, RawClient, readAll } from "../support/raw.ts";
import { ftplib, makeTree, randomBytes, sameBytes, startServer } from "../support/server.ts";

const MD5_OF_SECRET = "5ebe2294ecd0e0f08eab7690d2a6ee69";

async function demoTree() {
  return await makeTree({
    "anonymous/readme.txt": "hello\n",
    "bob/.xxftp/password": MD5_OF_SECRET + "\n",
    "bob/docs/a.txt": "alpha",
    "xxftp.welcome": "Welcome line one\nWelcome line two\n",
    "xxftp.goodbye": "See you\n",
  });
}

Deno.test("login: banners, users, anonymous, wrong passwords, verbs before login", async () => {
  const root = await demoTree();
  await using srv = await startServer(root, { args: ["--login-fail-delay", "10"] });
  const r = await ftplib<Record<string, string>>(
    srv.port,
    `
ftp = connect(None)
out = {"welcome": ftp.getwelcome()}
out["early"] = attempt(ftp.sendcmd, "PWD")
out["pass_first"] = attempt(ftp.sendcmd, "PASS x")
out["bad_name"] = attempt(ftp.sendcmd, "USER ../bob")
out["unknown_user"] = attempt(ftp.login, "nobody", "x")
out["bad_pass"] = attempt(ftp.login, "bob", "wrong")
out["good"] = ftp.login("bob", "secret")
out["pwd"] = ftp.sendcmd("PWD")
out["xpwd"] = ftp.sendcmd("XPWD")
out["quit"] = ftp.quit()
a = connect("ftp", "")
out["anon"] = a.pwd()
out["bye"] = a.sendcmd("BYE")
print(json.dumps(out))
`,
  );
  assert.equal(r.welcome, "220-Welcome line one\n220 Welcome line two");
  assert.match(r.early, /^530/);
  assert.match(r.pass_first, /^503/);
  assert.match(r.bad_name, /^530/);
  assert.match(r.unknown_user, /^530 Login incorrect/);
  assert.equal(r.bad_pass, r.unknown_user, "unknown user and wrong password look the same");
  assert.match(r.good, /^230/);
  assert.equal(r.pwd, '257 "/" is the current directory.');
  assert.equal(r.xpwd, r.pwd);
  assert.equal(r.quit, "221 See you");
  assert.equal(r.anon, "/");
  assert.match(r.bye, /^221/);
});

Deno.test("every verb of the original, with RFC 959 replies", async () => {
  const root = await demoTree();
  await using srv = await startServer(root);
  const r = await ftplib<Record<string, string | string[] | number>>(
    srv.port,
    `
ftp = connect("bob", "secret")
out = {}
for cmd in ["NOOP", "SYST", "TYPE I", "TYPE A", "TYPE X", "MODE S", "STRU F", "OPTS UTF8 ON", "FEAT", "HELP", "HELP RETR", "ALLO 10", "SITE HELP", "STAT", "FOO", "REIN", "CWD", "CLNT lftp"]:
    out[cmd] = attempt(ftp.sendcmd, cmd)
out["mkd"] = ftp.sendcmd("MKD new dir")
out["xmkd"] = ftp.sendcmd("XMKD other")
out["mkd_again"] = attempt(ftp.sendcmd, "MKD other")
out["cwd"] = ftp.sendcmd("CWD new dir")
out["pwd"] = ftp.pwd()
out["cdup"] = ftp.sendcmd("CDUP")
out["cwd_file"] = attempt(ftp.sendcmd, "CWD docs/a.txt")
out["cwd_missing"] = attempt(ftp.sendcmd, "CWD nowhere")
ftp.storbinary("STOR docs/b.txt", io.BytesIO(b"0123456789"))
ftp.storbinary("APPE docs/b.txt", io.BytesIO(b"abc"))
out["stor_nodir"] = attempt(ftp.storbinary, "STOR nowhere/x.txt", io.BytesIO(b"x"))
out["size"] = ftp.sendcmd("SIZE docs/b.txt")
out["size_dir"] = attempt(ftp.sendcmd, "SIZE docs")
out["mdtm"] = ftp.sendcmd("MDTM docs/b.txt")
out["mdtm_missing"] = attempt(ftp.sendcmd, "MDTM docs/zzz")
out["mfmt"] = ftp.sendcmd("MFMT 20200102030405 docs/b.txt")
out["mdtm_set"] = ftp.sendcmd("MDTM docs/b.txt")
out["mfmt_bad"] = attempt(ftp.sendcmd, "MFMT 2020 docs/b.txt")
out["chmod"] = ftp.sendcmd("SITE CHMOD 600 docs/b.txt")
out["chmod_bad"] = attempt(ftp.sendcmd, "SITE CHMOD 999 docs/b.txt")
out["chmod_suid"] = ftp.sendcmd("site chmod 4755 docs/a.txt")
out["site_other"] = attempt(ftp.sendcmd, "SITE EXEC rm")
buf = io.BytesIO(); ftp.retrbinary("RETR docs/b.txt", buf.write); out["retr"] = buf.getvalue().decode()
buf = io.BytesIO(); ftp.retrbinary("RETR docs/b.txt", buf.write, rest=7); out["rest"] = buf.getvalue().decode()
out["rest_bad"] = attempt(ftp.sendcmd, "REST x")
out["retr_missing"] = attempt(ftp.retrbinary, "RETR nope", print)
lines = []; ftp.retrlines("LIST", lines.append); out["list"] = lines
lines = []; ftp.retrlines("LIST -la docs", lines.append); out["list_la"] = lines
out["nlst"] = sorted(ftp.nlst())
out["mlsd"] = sorted(name + ":" + facts["type"] for name, facts in ftp.mlsd("docs"))
out["mlst"] = ftp.sendcmd("MLST docs/a.txt")
out["rnto_first"] = attempt(ftp.sendcmd, "RNTO x")
out["rnfr"] = ftp.sendcmd("RNFR docs/b.txt")
out["rnto"] = ftp.sendcmd("RNTO docs/c.txt")
out["rnfr_missing"] = attempt(ftp.sendcmd, "RNFR docs/b.txt")
out["rnto_inside"] = [ftp.sendcmd("RNFR docs"), attempt(ftp.sendcmd, "RNTO docs/inner")]
out["rnfr_then_noop"] = [ftp.sendcmd("RNFR docs/c.txt"), ftp.sendcmd("NOOP"), attempt(ftp.sendcmd, "RNTO docs/d.txt")]
out["dele"] = ftp.sendcmd("DELE docs/c.txt")
out["dele_dir"] = attempt(ftp.sendcmd, "DELE docs")
out["rmd_full"] = attempt(ftp.sendcmd, "RMD docs")
out["rmd"] = ftp.sendcmd("RMD new dir")
out["xrmd"] = ftp.sendcmd("XRMD other")
out["rmd_root"] = attempt(ftp.sendcmd, "RMD /")
out["dele_root"] = attempt(ftp.sendcmd, "DELE /")
ftp.set_pasv(False)
buf = io.BytesIO(); ftp.retrbinary("RETR docs/a.txt", buf.write); out["port_retr"] = buf.getvalue().decode()
out["eprt"] = ftp.sendcmd("EPRT |1|127.0.0.1|40000|")
out["eprt_bad"] = attempt(ftp.sendcmd, "EPRT |9|x|1|")
out["port_bad"] = attempt(ftp.sendcmd, "PORT 1,2,3")
out["pasv"] = ftp.sendcmd("PASV")
out["epsv"] = ftp.sendcmd("EPSV")
out["abor_idle"] = ftp.sendcmd("ABOR")
out["quit"] = ftp.quit()
print(json.dumps(out))
`,
  );
  const starts = (key: string, code: string) =>
    assert.match(String(r[key]), new RegExp(`^${code}`), `${key}: ${r[key]}`);
  starts("NOOP", "200");
  assert.equal(r.SYST, "215 UNIX Type: L8");
  starts("TYPE I", "200");
  starts("TYPE A", "200");
  starts("TYPE X", "504");
  starts("MODE S", "200");
  starts("STRU F", "200");
  starts("OPTS UTF8 ON", "200");
  for (const f of ["EPRT", "EPSV", "MDTM", "PASV", "REST STREAM", "SIZE", "UTF8", "MLST"]) {
    assert.ok(String(r.FEAT).includes(`\n ${f}`), `FEAT lists ${f}`);
  }
  starts("HELP", "214");
  starts("HELP RETR", "214");
  starts("ALLO 10", "202");
  starts("SITE HELP", "214");
  starts("STAT", "211");
  starts("FOO", "500");
  starts("REIN", "502");
  starts("CLNT lftp", "200");
  starts("mkd", '257 "/new dir" created');
  starts("xmkd", "257");
  starts("mkd_again", "550");
  starts("cwd", "250");
  assert.equal(r.pwd, "/new dir");
  starts("cdup", "250");
  starts("cwd_file", "550");
  starts("cwd_missing", "550");
  starts("stor_nodir", "550");
  assert.equal(r.size, "213 13");
  starts("size_dir", "550");
  assert.match(String(r.mdtm), /^213 20\d{12}$/);
  starts("mdtm_missing", "550");
  assert.equal(r.mfmt, "213 Modify=20200102030405; /docs/b.txt");
  assert.equal(r.mdtm_set, "213 20200102030405");
  starts("mfmt_bad", "501");
  starts("chmod", "200");
  starts("chmod_bad", "501");
  starts("chmod_suid", "200");
  starts("site_other", "504");
  assert.equal(
    ((await Deno.stat(join(root, "bob/docs/a.txt"))).mode ?? 0) & 0o7777,
    0o755,
    "no set-id bit",
  );
  assert.equal(r.retr, "0123456789abc");
  assert.equal(r.rest, "789abc");
  starts("rest_bad", "501");
  starts("retr_missing", "550");
  const list = r.list as string[];
  assert.ok(list.some((l) => /^d[rwx-]{9} .* docs$/.test(l)), list.join("\n"));
  assert.ok(!list.some((l) => l.includes(".xxftp")), "config is hidden");
  assert.ok((r.list_la as string[]).some((l) => /^-[rwx-]{9} +1 ftp +ftp +13 .* b\.txt$/.test(l)));
  assert.deepEqual(r.nlst, ["docs", "new dir", "other"]);
  assert.deepEqual(r.mlsd, ["a.txt:file", "b.txt:file"]);
  assert.match(
    String(r.mlst),
    /^250-Listing \/docs\/a.txt\n type=file;size=5;modify=\d{14};perm=[a-z]+; \/docs\/a.txt\n250 End$/,
  );
  starts("rnto_first", "503");
  starts("rnfr", "350");
  starts("rnto", "250");
  starts("rnfr_missing", "550");
  assert.deepEqual((r.rnfr_then_noop as string[]).map((x) => x.slice(0, 3)), ["350", "200", "503"]);
  assert.deepEqual((r.rnto_inside as string[]).map((x) => x.slice(0, 3)), ["350", "553"]);
  starts("dele", "250");
  starts("dele_dir", "550");
  starts("rmd_full", "550");
  starts("rmd", "250");
  starts("xrmd", "250");
  starts("rmd_root", "550");
  starts("dele_root", "550");
  assert.equal(r.port_retr, "alpha");
  starts("eprt", "200");
  starts("eprt_bad", "522");
  starts("port_bad", "501");
  assert.match(String(r.pasv), /^227 Entering Passive Mode \(127,0,0,1,\d+,\d+\)/);
  assert.match(String(r.epsv), /^229 Entering Extended Passive Mode \(\|\|\|\d+\|\)/);
  starts("abor_idle", "225");
  starts("quit", "221");
});

Deno.test("binary round trip of 1 MiB, REST resume, UTF-8 and spaces in names", async () => {
  const root = await makeTree({ "anonymous/": "", "u/": "" });
  const data = randomBytes(1 << 20);
  await Deno.writeFile(join(root, "src.bin"), data);
  await using srv = await startServer(root);
  const r = await ftplib<Record<string, string | string[]>>(
    srv.port,
    `
ftp = connect("u", "any")
src = open(sys.argv[2], "rb").read()
ftp.storbinary("STOR big file.bin", io.BytesIO(src))
ftp.storbinary("STOR 日本語 ファイル.txt", io.BytesIO("héllo wörld".encode()))
buf = io.BytesIO(); ftp.retrbinary("RETR big file.bin", buf.write)
part = io.BytesIO(); ftp.retrbinary("RETR big file.bin", part.write, rest=1000000)
half = io.BytesIO(); ftp.retrbinary("RETR 日本語 ファイル.txt", half.write)
print(json.dumps({"same": buf.getvalue() == src, "tail": part.getvalue() == src[1000000:], "utf8": half.getvalue().decode(), "names": sorted(ftp.nlst())}))
`.replace("sys.argv[2]", JSON.stringify(join(root, "src.bin"))),
  );
  assert.equal(r.same, true);
  assert.equal(r.tail, true);
  assert.equal(r.utf8, "héllo wörld");
  assert.deepEqual(r.names, ["big file.bin", "日本語 ファイル.txt"]);
  assert.ok(sameBytes(await Deno.readFile(join(root, "u/big file.bin")), data));
});

Deno.test("STOR after REST N keeps the first N bytes: at the end, inside, never past it", async () => {
  const root = await makeTree({ "u/part.bin": "first-", "u/inner.bin": "0123456789" });
  await using srv = await startServer(root);
  const r = await ftplib<string>(
    srv.port,
    `
ftp = connect("u", "x")
ftp.storbinary("STOR part.bin", io.BytesIO(b"second"), rest=6)
ftp.storbinary("STOR inner.bin", io.BytesIO(b"ab"), rest=3)
bad = attempt(ftp.storbinary, "STOR part.bin", io.BytesIO(b"zz"), 8192, None, 13)
print(json.dumps(bad))
`,
  );
  assert.match(r, /^554/);
  assert.equal(await Deno.readTextFile(join(root, "u/part.bin")), "first-second");
  assert.equal(
    await Deno.readTextFile(join(root, "u/inner.bin")),
    "012ab",
    "cut at 3, then written",
  );
  assert.deepEqual([...Deno.readDirSync(join(root, "u"))].map((e) => e.name).sort(), [
    "inner.bin",
    "part.bin",
  ]);
});

Deno.test("50 clients at once, each with its own file", async () => {
  const root = await makeTree({ "u/": "" });
  await using srv = await startServer(root);
  const r = await ftplib<boolean[]>(
    srv.port,
    `
import threading
results = [False] * 50
def worker(i):
    ftp = connect("u", "x")
    body = (("client %d " % i) * 2000).encode()
    ftp.storbinary("STOR f%d.txt" % i, io.BytesIO(body))
    buf = io.BytesIO(); ftp.retrbinary("RETR f%d.txt" % i, buf.write)
    results[i] = buf.getvalue() == body
    ftp.quit()
threads = [threading.Thread(target=worker, args=(i,)) for i in range(50)]
[t.start() for t in threads]
[t.join(60) for t in threads]
print(json.dumps(results))
`,
  );
  assert.deepEqual(r, new Array(50).fill(true));
  for (let i = 0; i < 50; i++) {
    assert.equal(await Deno.readTextFile(join(root, `u/f${i}.txt`)), `client ${i} `.repeat(2000));
  }
});

Deno.test("STAT and ABOR while a download runs", async () => {
  const root = await makeTree({ "u/": "" });
  await Deno.writeFile(join(root, "u/big.bin"), randomBytes(64 << 20));
  await using srv = await startServer(root);
  using c = await RawClient.open(srv.port);
  await c.login("u", "x");
  const data = await epsvConnect(c);
  assert.equal((await c.cmd("RETR big.bin")).code, 150);
  const stat = await c.cmd("STAT");
  assert.equal(stat.code, 211);
  assert.match(stat.text, /Transfer in progress: \/big\.bin/);
  await c.send("ABOR");
  assert.equal((await c.reply()).code, 426);
  assert.equal((await c.reply()).code, 226);
  data.close();
  assert.equal((await c.cmd("TYPE I")).code, 200);
  assert.equal((await c.cmd("SIZE big.bin")).text, `213 ${64 << 20}`);
});

Deno.test("passive options: --passive-ports range and --public-host in PASV", async () => {
  const root = await makeTree({ "anonymous/f.txt": "f" });
  await using srv = await startServer(root, {
    args: ["--passive-ports", "41000-41002", "--public-host", "10.1.2.3"],
  });
  using c = await RawClient.open(srv.port);
  await c.login();
  assert.match(
    (await c.cmd("PASV")).text,
    /^227 Entering Passive Mode \(10,1,2,3,160,(40|41|42)\)/,
  );
  const ports = new Set<number>();
  for (let i = 0; i < 6; i++) ports.add(await epsvPort(c));
  for (const p of ports) assert.ok(p >= 41000 && p <= 41002, `port ${p}`);
});

/** Why IPv6 cannot be tried on this machine, or null when ::1 works. */
function noIpv6(): string | null {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return null;
  } catch (err) {
    return `no IPv6 loopback here (${(err as Error).message})`;
  }
}
const ipv6Missing = noIpv6();
if (ipv6Missing) console.log(`IPv6 test SKIPPED: ${ipv6Missing}`);

Deno.test({
  name: "IPv6: listen on ::1, EPSV and EPRT with IPv6 addresses",
  ignore: ipv6Missing !== null,
  fn: ipv6Test,
});

async function ipv6Test() {
  const root = await makeTree({ "anonymous/f.txt": "over ipv6" });
  await using srv = await startServer(root, { args: ["--host", "::1"] });
  const r = await ftplib<Record<string, string>>(
    srv.port,
    `
ftp = ftplib.FTP(); ftp.connect("::1", PORT); ftp.login()
out = {"pasv": attempt(ftp.sendcmd, "PASV")}
buf = io.BytesIO(); ftp.retrbinary("RETR f.txt", buf.write); out["epsv"] = buf.getvalue().decode()
ftp.set_pasv(False)
buf = io.BytesIO(); ftp.retrbinary("RETR f.txt", buf.write); out["eprt"] = buf.getvalue().decode()
out["bounce"] = attempt(ftp.sendcmd, "EPRT |2|::2|5000|")
print(json.dumps(out))
`,
  );
  assert.match(r.pasv, /^425/);
  assert.equal(r.epsv, "over ipv6");
  assert.equal(r.eprt, "over ipv6");
  assert.match(r.bounce, /^504/);
}

Deno.test("REST holds for the next command only", async () => {
  const root = await makeTree({ "u/f.txt": "0123456789" });
  await using srv = await startServer(root);
  using c = await RawClient.open(srv.port);
  await c.login("u", "x");
  await c.cmd("TYPE I");
  assert.equal((await c.cmd("REST 4")).code, 350);
  assert.equal((await c.cmd("NOOP")).code, 200);
  const data = await epsvConnect(c);
  assert.equal((await c.cmd("RETR f.txt")).code, 150);
  assert.equal(new TextDecoder().decode(await readAll(data)), "0123456789");
  assert.equal((await c.reply()).code, 226);
});

Deno.test("wildcards in LIST and NLST (as mget and ls *.txt send them)", async () => {
  const root = await makeTree({
    "u/a.txt": "a",
    "u/b.txt": "b",
    "u/c.bin": "c",
    "u/.h.txt": "hidden",
    "u/docs/x.txt": "x",
    "u/docs/y.md": "y",
  });
  await using srv = await startServer(root);
  const r = await ftplib<Record<string, string[]>>(
    srv.port,
    `
ftp = connect("u", "x")
lines = []; ftp.retrlines("LIST docs/*.txt", lines.append)
print(json.dumps({"top": sorted(ftp.nlst("*.txt")), "docs": sorted(ftp.nlst("docs/?.*")), "none": ftp.nlst("*.zip"), "list": [l.split()[-1] for l in lines]}))
`,
  );
  assert.deepEqual(r.top, ["a.txt", "b.txt"]);
  assert.deepEqual(r.docs, ["docs/x.txt", "docs/y.md"]);
  assert.deepEqual(r.none, []);
  assert.deepEqual(r.list, ["x.txt"]);
});
