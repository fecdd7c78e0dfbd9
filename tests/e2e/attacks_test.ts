/** Hostile clients, each attack tried against a real server process on loopback. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { scryptSync } from "node:crypto";
import { epsvConnect, epsvPort, RawClient, readAll } from "../support/raw.ts";
import {
  ftplib,
  makeTree,
  randomBytes,
  resetFlood,
  run,
  sameBytes,
  startServer,
} from "../support/server.ts";

Deno.test("FTP bounce: PORT/EPRT to another address or a low port is refused", async () => {
  const root = await makeTree({ "anonymous/f.txt": "f" });
  await using srv = await startServer(root);
  using c = await RawClient.open(srv.port);
  await c.login();
  const rows: [string, number][] = [
    ["PORT 127,0,0,2,39,16", 504],
    ["PORT 10,0,0,1,39,16", 504],
    ["PORT 127,0,0,1,0,25", 504],
    ["EPRT |1|127.0.0.2|10000|", 504],
    ["EPRT |1|127.0.0.1|21|", 504],
    ["EPRT |2|::1|10000|", 504],
    ["PORT 127,0,0,1,39,16", 200],
    ["EPRT |2|::ffff:127.0.0.1|10000|", 200],
    ["PORT 1,2,3,4,5", 501],
    ["PORT 300,1,1,1,1,1", 501],
    ["EPSV 2", 522],
    ["EPSV 3", 522],
    ["EPSV ALL", 200],
    ["PORT 127,0,0,1,39,16", 503],
    ["EPRT |1|127.0.0.1|10000|", 503],
    ["PASV", 503],
  ];
  for (const [cmd, code] of rows) assert.equal((await c.cmd(cmd)).code, code, cmd);
  // After refusals nothing is planned: a transfer asks for a data connection first.
  await c.cmd("ABOR");
  assert.equal((await c.cmd("RETR f.txt")).code, 150);
  assert.equal((await c.reply()).code, 425);
});

Deno.test("passive theft: a data connection from another address is dropped; the client's own works", async () => {
  const root = await makeTree({ "anonymous/f.txt": "the data" });
  await using srv = await startServer(root);
  using c = await RawClient.open(srv.port);
  await c.login();
  const port = await epsvPort(c);
  const thief = new Deno.Command("python3", {
    args: [
      "-c",
      `
import socket, sys
s = socket.create_connection(("127.0.0.1", ${port}), timeout=10, source_address=("127.0.0.2", 0))
print("connected", flush=True)
got = b""
try:
    while True:
        b = s.recv(100)
        if not b: break
        got += b
except OSError:
    pass
print(repr(got), flush=True)
`,
    ],
    stdout: "piped",
    signal: AbortSignal.timeout(30_000),
  }).spawn();
  const lines = thief.stdout.pipeThrough(new TextDecoderStream()).getReader();
  // The thief's connection lands first, in the listener's queue.
  assert.equal((await lines.read()).value?.trim(), "connected");
  const data = await Deno.connect({ hostname: "127.0.0.1", port });
  assert.equal((await c.cmd("RETR f.txt")).code, 150);
  assert.equal(new TextDecoder().decode(await readAll(data)), "the data");
  assert.equal((await c.reply()).code, 226);
  let rest = "";
  for (let r = await lines.read(); !r.done; r = await lines.read()) rest += r.value;
  await thief.status;
  assert.equal(rest.trim(), "b''", "the thief got nothing");
});

Deno.test("data-wait limit: a data connection that never comes gives 425 and frees the port", async () => {
  const root = await makeTree({ "anonymous/f.txt": "f" });
  await using srv = await startServer(root, { args: ["--data-timeout", "1"] });
  using c = await RawClient.open(srv.port);
  await c.login();
  const port = await epsvPort(c);
  assert.equal((await c.cmd("RETR f.txt")).code, 150);
  assert.equal((await c.reply()).code, 425);
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port }),
    Deno.errors.ConnectionRefused,
  );
  const unused = await epsvPort(c); // PASV and then nothing: the listener is reaped too
  let reaped = false;
  for (let i = 0; i < 100 && !reaped; i++) { // up to 10 s for a 1 s limit
    await new Promise((r) => setTimeout(r, 100));
    reaped = await Deno.connect({ hostname: "127.0.0.1", port: unused }).then(
      (conn) => (conn.close(), false),
      (err) => err instanceof Deno.errors.ConnectionRefused,
    );
  }
  assert.ok(reaped, "the unused passive port is closed");
  assert.equal((await c.cmd("NOOP")).code, 200);
});

Deno.test("brute force: failures are slowed, then the address is held off; a good login resets", async () => {
  const root = await makeTree({ "bob/.xxftp/password": "5ebe2294ecd0e0f08eab7690d2a6ee69" });
  await using srv = await startServer(root, {
    args: ["--login-fail-delay", "20", "--max-login-failures", "3", "--ban-seconds", "60"],
  });
  using c = await RawClient.open(srv.port);
  await c.cmd("USER bob");
  assert.equal((await c.cmd("PASS a")).code, 530);
  await c.cmd("USER bob");
  assert.equal((await c.cmd("PASS b")).code, 530);
  assert.equal((await c.login("bob", "secret")).code, 230, "a good login resets the count");
  for (const p of ["c", "d"]) {
    await c.cmd("USER bob");
    assert.equal((await c.cmd(`PASS ${p}`)).code, 530);
  }
  await c.cmd("USER nosuchuser");
  assert.equal(
    (await c.cmd("PASS e")).code,
    421,
    "the third failure in a row holds the address off",
  );
  assert.equal((await c.reply()).code, 0, "and closes the connection");
  c.close();
  using again = await RawClient.open(srv.port);
  const greeting = again.greeting;
  assert.equal(greeting.code, 421, "held off on connect");
  again.close();
  const other = await ftplib<string>(
    srv.port,
    `ftp = ftplib.FTP(source_address=("127.0.0.2", 0)); ftp.connect("127.0.0.1", PORT); print(json.dumps(ftp.login("bob", "secret")))`,
  );
  assert.match(other, /^230/, "other addresses are not affected");
});

Deno.test("floods: long lines, chatter before login, silent clients, 1,000 connects", async () => {
  const root = await makeTree({ "anonymous/f.txt": "f" });
  await using srv = await startServer(root, {
    args: ["--login-timeout", "1", "--max-connections", "20", "--max-per-ip", "1000"],
  });
  using long = await RawClient.open(srv.port);
  await long.send("NOOP " + "x".repeat(9000));
  assert.equal((await long.reply()).code, 500);
  assert.equal((await long.reply()).code, 0, "closed after an over-long line");
  long.close();

  using chatty = await RawClient.open(srv.port);
  let last = 0;
  for (let i = 0; i < 40 && last !== 421; i++) last = (await chatty.cmd("NOOP")).code;
  assert.equal(last, 421, "too many commands before login");
  chatty.close();

  using silent = await RawClient.open(srv.port);
  assert.equal((await silent.reply(5000)).code, 421, "login time limit");
  silent.close();

  // A fresh server, so no session above and no login time limit changes the count.
  await using flooded = await startServer(await makeTree({ "anonymous/f.txt": "f" }), {
    args: ["--max-connections", "20", "--max-per-ip", "1000"],
  });
  const conns: Deno.TcpConn[] = [];
  let greeted = 0, refused = 0;
  try {
    for (let i = 0; i < 1000; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: flooded.port });
      conns.push(conn);
    }
    const first = await Promise.all(conns.map(async (conn) => {
      const buf = new Uint8Array(64);
      const n = await conn.read(buf).catch(() => null);
      return n === null ? "" : new TextDecoder().decode(buf.subarray(0, n));
    }));
    greeted = first.filter((t) => t.startsWith("220")).length;
    refused = first.filter((t) => t.startsWith("421")).length;
  } finally {
    for (const conn of conns) conn.close();
  }
  assert.equal(greeted, 20, "never more sessions than --max-connections");
  assert.equal(refused, 980);
  const ok = await ftplib<string>(
    flooded.port,
    `
import time
for attempt_no in range(50):  # the closed sessions leave within moments
    try:
        ftp = connect(); break
    except ftplib.error_temp:
        time.sleep(0.1)
print(json.dumps(ftp.nlst()[0]))
`,
  );
  assert.equal(ok, "f.txt", "the server serves again once the flood is gone");
});

/** A fingerprint of every file under `root`: path, size and bytes. */
async function snapshot(root: string): Promise<string> {
  const out: string[] = [];
  const walk = async (dir: string) => {
    for await (const e of Deno.readDir(dir)) {
      const p = join(dir, e.name);
      if (e.isDirectory) await walk(p);
      else {
        const bytes = await Deno.readFile(p);
        const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
        out.push(`${p.slice(root.length)} ${bytes.length} ${hash.join(".")}`);
      }
    }
  };
  await walk(root);
  return out.sort().join("\n");
}

const VERBS = [
  "USER",
  "PASS",
  "CWD",
  "CDUP",
  "LIST",
  "NLST",
  "RETR",
  "STOR",
  "APPE",
  "DELE",
  "RNFR",
  "RNTO",
  "MKD",
  "RMD",
  "SIZE",
  "MDTM",
  "PORT",
  "EPRT",
  "PASV",
  "EPSV",
  "REST",
  "TYPE",
  "MLSD",
  "MLST",
  "OPTS",
  "FEAT",
  "SITE",
  "STAT",
  "ABOR",
  "HELP",
  "ALLO",
  "MODE",
  "STRU",
  "NOOP",
  "SYST",
];
const ARGS = [
  "",
  "..",
  "../../..",
  "/etc/passwd",
  ".xxftp/password",
  "%2e%2e/x",
  "a\\..\\..\\b",
  "*",
  "127,0,0,1,0,21",
  "|2|::1|21|",
  "|||||",
  "-la",
  "99999999999999999999",
  "A",
  "\u00ff\u00fe",
  "x".repeat(300),
  "f.txt",
  "up/new",
  "日本",
  "\t",
];

/** A random command line: a verb and argument, mutated at random. */
function fuzzLine(rand: () => number): Uint8Array {
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const text = rand() < 0.5 ? pick(VERBS) : pick(VERBS).toLowerCase();
  const bytes = [...new TextEncoder().encode(`${text} ${pick(ARGS)}`)];
  const mutations = Math.floor(rand() * 4);
  for (let m = 0; m < mutations; m++) {
    const at = Math.floor(rand() * (bytes.length + 1));
    const r = rand();
    if (r < 0.3) bytes.splice(at, 0, Math.floor(rand() * 256));
    else if (r < 0.5) bytes.splice(at, 1);
    else if (r < 0.6) bytes.splice(at, 0, 0xff, 0xf4);
    else if (r < 0.7) bytes.splice(at, 0, 13);
    else if (r < 0.8) bytes.splice(at, 0, 0);
    else bytes[at] = Math.floor(rand() * 256);
  }
  return Uint8Array.from([...bytes.filter((b) => b !== 10), 13, 10]);
}

Deno.test("fuzz: 2,000 random and mutated lines on 20 connections; the server and tree survive", async () => {
  const root = await makeTree({
    "anonymous/.xxftp/permission": "read",
    "anonymous/f.txt": "fuzz target",
    "anonymous/dir/g.txt": "g",
    "secret/.xxftp/password": "5ebe2294ecd0e0f08eab7690d2a6ee69",
    "secret/s.txt": "s",
  });
  const before = await snapshot(root);
  await using srv = await startServer(root, {
    args: ["--login-fail-delay", "0", "--max-login-failures", "1000"],
  });
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const replies: string[] = [];
  await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    using c = await RawClient.open(srv.port);
    if (i % 2 === 0) await c.login();
    for (let n = 0; n < 100; n++) {
      // After a QUIT (even one ended by a lone CR, the rest of the line unread) the server has
      // closed the connection, and a write may then fail at once (EPIPE): that ends it too.
      if (!await c.send(fuzzLine(rand)).then(() => true, () => false)) break;
      const r = await c.reply(5000).catch(() => ({ code: 0, text: "" }));
      replies.push(r.text);
      if (r.code === 0 || r.code === 421) break;
    }
  }));
  console.log(`fuzz: ${replies.length} replies`);
  assert.ok(replies.length >= 20);
  for (const text of replies) {
    assert.ok(!text.includes(root), `a reply shows a host path: ${text}`);
    assert.ok(!/\bat .*\.ts:\d+/.test(text), `a reply shows a stack trace: ${text}`);
  }
  const back = await ftplib<Record<string, string | string[]>>(
    srv.port,
    `ftp = connect(); buf = io.BytesIO(); ftp.retrbinary("RETR f.txt", buf.write); print(json.dumps({"list": sorted(ftp.nlst()), "f": buf.getvalue().decode()}))`,
  );
  assert.deepEqual(back, { list: ["dir", "f.txt"], f: "fuzz target" });
  assert.equal(await snapshot(root), before, "the served tree is byte-for-byte the same");
});

Deno.test("garbage: invalid UTF-8, NUL, lone CR, Telnet IAC get replies; the session goes on", async () => {
  const root = await makeTree({ "anonymous/f.txt": "f" });
  await using srv = await startServer(root);
  using c = await RawClient.open(srv.port);
  await c.login();
  const rows: [Uint8Array, number][] = [
    [Uint8Array.from([0xc3, 0x28, 13, 10]), 501],
    [new TextEncoder().encode("NOOP\0x\r\n"), 501],
    [new TextEncoder().encode("NO\rOP\r\n"), 501],
    [Uint8Array.from([0xff, 0xf4, 0xff, 0xf2, ...new TextEncoder().encode("NOOP\r\n")]), 200],
    [Uint8Array.from([13, 10]), 500],
    [new TextEncoder().encode("\x1b[2J\r\n"), 501],
  ];
  for (const [bytes, code] of rows) {
    await c.send(bytes);
    assert.equal((await c.reply()).code, code, JSON.stringify([...bytes]));
  }
  assert.equal((await c.cmd("PWD")).code, 257);
});

Deno.test("information: greeting and SYST reveal no version; errors show no host paths", async () => {
  const root = await makeTree({ "anonymous/f.txt": "f" });
  await using srv = await startServer(root);
  using c = await RawClient.open(srv.port);
  const hello = c.greeting;
  assert.equal(hello.text, "220 xxftp ready.");
  assert.equal((await c.cmd("SYST")).text, "215 UNIX Type: L8");
  await c.login();
  for (const cmd of ["RETR missing", "CWD /nope", "SIZE .", "MDTM nowhere/x", "RMD f.txt"]) {
    const r = await c.cmd(cmd);
    assert.match(String(r.code), /^5/);
    assert.ok(!r.text.includes(root) && !r.text.includes("/tmp"), r.text);
  }
});

Deno.test("torn uploads: vanishing client, ABOR and SIGKILL leave the old file intact and no temporary", async () => {
  const root = await makeTree({ "u/keep.bin": "original content" });
  await using srv = await startServer(root);
  using c = await RawClient.open(srv.port);
  await c.login("u", "x");
  // 1. ABOR in the middle of an upload.
  const data = await epsvConnect(c);
  assert.equal((await c.cmd("STOR keep.bin")).code, 150);
  await data.write(randomBytes(100_000));
  await c.send("ABOR");
  assert.equal((await c.reply()).code, 426);
  assert.equal((await c.reply()).code, 226);
  data.close();
  // 2. The client vanishes: data and control connections drop mid-upload.
  const data2 = await epsvConnect(c);
  assert.equal((await c.cmd("APPE keep.bin")).code, 150);
  await data2.write(randomBytes(50_000));
  c.close();
  data2.close();
  // 3. A real client process killed with SIGKILL mid-STOR.
  const child = new Deno.Command("python3", {
    args: [
      "-c",
      `
import ftplib, sys, time
class Endless:
    def __init__(self): self.end = time.time() + 60  # bounded even if nobody kills us
    def read(self, n):
        time.sleep(0.01)
        return b"z" * 8192 if time.time() < self.end else b""
ftp = ftplib.FTP(); ftp.connect("127.0.0.1", ${srv.port}); ftp.login("u", "x")
print("uploading", flush=True)
ftp.storbinary("STOR keep.bin", Endless())
`,
    ],
    stdout: "piped",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    assert.equal((await reader.read()).value?.trim(), "uploading");
    await new Promise((r) => setTimeout(r, 500));
  } finally {
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
  }
  // The server notices the dead connections and removes their temporaries (within moments).
  const names = () => [...Deno.readDirSync(join(root, "u"))].map((e) => e.name);
  for (let i = 0; i < 100 && names().length > 1; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(names(), ["keep.bin"], "no temporary left");
  assert.equal(await Deno.readTextFile(join(root, "u/keep.bin")), "original content");
});

Deno.test("stale temporaries from a crash are removed at start and never listed", async () => {
  const root = await makeTree({
    "u/f.txt": "f",
    "u/.xxftp-part-1234": "half an upload",
    "u/deep/.xxftp-part-99": "another",
  });
  await using srv = await startServer(root);
  await srv.waitFor("removed 2 unfinished upload(s)");
  assert.deepEqual([...Deno.readDirSync(join(root, "u"))].map((e) => e.name).sort(), [
    "deep",
    "f.txt",
  ]);
  assert.deepEqual([...Deno.readDirSync(join(root, "u/deep"))], []);
});

Deno.test("two clients uploading the same name at once end with one complete file", async () => {
  const root = await makeTree({ "u/": "" });
  const a = randomBytes(3 << 20), b = randomBytes(3 << 20);
  await Deno.writeFile(join(root, "a.bin"), a);
  await Deno.writeFile(join(root, "b.bin"), b);
  await using srv = await startServer(root);
  const r = await ftplib<string[]>(
    srv.port,
    `
import threading
res = ["", ""]
def up(i, src):
    ftp = connect("u", "x")
    res[i] = attempt(ftp.storbinary, "STOR same.bin", open(src, "rb"), 4096)
ts = [threading.Thread(target=up, args=(i, p)) for i, p in enumerate(${
      JSON.stringify([join(root, "a.bin"), join(root, "b.bin")])
    })]
[t.start() for t in ts]; [t.join(60) for t in ts]
print(json.dumps(res))
`,
  );
  assert.deepEqual(r.map((x) => x.slice(0, 3)), ["226", "226"]);
  const got = await Deno.readFile(join(root, "u/same.bin"));
  assert.ok(sameBytes(got, a) || sameBytes(got, b), "one whole upload, never an interleaving");
  assert.deepEqual([...Deno.readDirSync(join(root, "u"))].map((e) => e.name), ["same.bin"]);
});

Deno.test("xxftp passwd: salted scrypt from stdin, --create, login works; legacy MD5 logged once", async () => {
  const root = await makeTree({ "old/.xxftp/password": "5ebe2294ecd0e0f08eab7690d2a6ee69" });
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const passwd = (args: string[], stdin: string) =>
    run(Deno.execPath(), [
      "run",
      `--allow-read=${root}`,
      `--allow-write=${root}`,
      main,
      "passwd",
      ...args,
    ], stdin);
  const missing = await passwd(["newbie", root], "pw\n");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no user "newbie"/);
  const typo = await passwd(["newbie", join(root, "typo"), "--create"], "pw\n");
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /root folder ".*typo" does not exist/);
  const made = await passwd(["newbie", root, "--create"], "correct horse\n");
  assert.equal(made.code, 0, made.stderr);
  const line = (await Deno.readTextFile(join(root, "newbie/.xxftp/password"))).trim();
  assert.match(line, /^scrypt\$N=\d+,r=\d+,p=\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.ok(!line.includes("correct horse"));
  await using srv = await startServer(root, { args: ["--login-fail-delay", "10"] });
  const r = await ftplib<string[]>(
    srv.port,
    `print(json.dumps([attempt(connect, "newbie", "correct horse"), attempt(connect, "newbie", "wrong"), attempt(connect, "old", "secret"), attempt(connect, "old", "secret")]))`,
  );
  assert.match(r[0], /FTP object/);
  assert.match(r[1], /^530/);
  assert.match(r[2], /FTP object/);
  await srv.waitFor("legacy MD5 password");
  assert.equal(srv.output().split("legacy MD5 password").length - 1, 1, "reported once");
});

Deno.test("xxftp passwd on a terminal: asked twice, never echoed", async () => {
  const root = await makeTree({ "anonymous/": "" });
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const script = `
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], [sys.argv[1], "run", "--allow-read=" + sys.argv[3], "--allow-write=" + sys.argv[3], sys.argv[2], "passwd", "ttyuser", sys.argv[3], "--create"])
out = b""
def until(token):
    global out
    end = time.time() + 20
    while token not in out and time.time() < end:
        if select.select([fd], [], [], 0.2)[0]:
            try:
                out += os.read(fd, 1024)
            except OSError:
                break
until(b"New password: "); os.write(fd, b"tty secret 42\\r")
until(b"Repeat password: "); os.write(fd, b"tty secret 42\\r")
until(b"password written")
print(out.decode(errors="replace"))
print("exit", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
`;
  const r = await run("python3", ["-c", script, Deno.execPath(), main, root]);
  try {
    assert.match(r.stdout, /exit 0/, r.stdout + r.stderr);
    assert.match(r.stdout, /New password: [\s\S]*Repeat password: [\s\S]*password written/);
    assert.ok(!r.stdout.includes("tty secret"), "the password is not echoed");
    await using srv = await startServer(root);
    const login = await ftplib<string>(
      srv.port,
      `print(json.dumps(connect("ttyuser", "tty secret 42").pwd()))`,
    );
    assert.equal(login, "/");
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});

Deno.test("parallel brute force: 20 connections get no more tries than one; parallel good logins all pass", async () => {
  const root = await makeTree({ "bob/.xxftp/password": "5ebe2294ecd0e0f08eab7690d2a6ee69" });
  await using srv = await startServer(root, {
    args: ["--login-fail-delay", "10", "--max-login-failures", "3"],
  });
  const good = await ftplib<string[]>(
    srv.port,
    `
import threading
res = [""] * 10
def go(i): res[i] = attempt(connect, "bob", "secret")
ts = [threading.Thread(target=go, args=(i,)) for i in range(10)]
[t.start() for t in ts]; [t.join(30) for t in ts]
print(json.dumps(res))
`,
  );
  assert.ok(good.every((r) => r.includes("FTP object")), good.join());
  const tries = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
    using c = await RawClient.open(srv.port);
    await c.cmd("USER bob");
    return (await c.cmd(`PASS guess${i}`)).code;
  }));
  assert.equal(tries.filter((code) => code === 530).length, 2, tries.join());
  assert.equal(
    tries.filter((code) => code === 421).length,
    18,
    "the third failure and all after it: 421",
  );
});

Deno.test("slow reader: a download that makes no progress is cut off like an idle session", async () => {
  const root = await makeTree({ "anonymous/": "" });
  await Deno.writeFile(join(root, "anonymous/big.bin"), randomBytes(64 << 20));
  await using srv = await startServer(root, { args: ["--idle-timeout", "1"] });
  using c = await RawClient.open(srv.port);
  await c.login();
  const data = await epsvConnect(c); // connected, never read
  assert.equal((await c.cmd("RETR big.bin")).code, 150);
  const r = await c.reply(10000);
  assert.equal(r.code, 421);
  assert.match(r.text, /stalled/);
  data.close();
  const ok = await ftplib<string>(srv.port, `print(json.dumps(connect().nlst()[0]))`);
  assert.equal(ok, "big.bin", "others are served");
});

Deno.test("active mode to a port nobody listens on: 425, and the session goes on", async () => {
  const root = await makeTree({ "anonymous/f.txt": "f" });
  await using srv = await startServer(root);
  using c = await RawClient.open(srv.port);
  await c.login();
  const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const closedPort = probe.addr.port;
  probe.close();
  assert.equal((await c.cmd(`EPRT |1|127.0.0.1|${closedPort}|`)).code, 200);
  assert.equal((await c.cmd("RETR f.txt")).code, 150);
  const r = await c.reply();
  assert.equal(r.code, 425);
  assert.match(r.text, /Can't open data connection/);
  assert.equal((await c.cmd("NOOP")).code, 200);
});

Deno.test("a client that never reads its replies still loses its slot after the idle limit", async () => {
  const root = await makeTree({ "anonymous/f.txt": "f" });
  await using srv = await startServer(root, {
    args: ["--idle-timeout", "1", "--max-connections", "1"],
  });
  using hog = await RawClient.open(srv.port);
  await hog.login();
  const noops = new TextEncoder().encode("NOOP\r\n".repeat(50_000));
  // Fill both directions until the server blocks on its replies (bounded: 40 rounds).
  for (let i = 0; i < 40; i++) {
    const sent = await Promise.race([
      hog.send(noops).then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 500)),
    ]);
    if (!sent) break;
  }
  let greeting = 0;
  for (let i = 0; i < 100 && greeting !== 220; i++) { // up to 10 s; idle 1 s + 2 s for a last reply
    await new Promise((r) => setTimeout(r, 100));
    using other = await RawClient.open(srv.port);
    const hello = other.greeting;
    other.close();
    greeting = hello.code;
  }
  hog.close();
  assert.equal(greeting, 220, "the hog's slot was freed");
});

/** A stored scrypt line with p=8: the same memory as xxftp's own, eight times the work. */
function slowScryptLine(password: string): string {
  const salt = new Uint8Array(16);
  const key = scryptSync(password, salt, 32, { N: 32768, r: 8, p: 8, maxmem: 64 << 20 });
  const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
  return `scrypt$N=32768,r=8,p=8$${b64(salt)}$${b64(new Uint8Array(key))}`;
}

Deno.test("a password check (scrypt) does not hold up other sessions", async () => {
  const root = await makeTree({ "bob/.xxftp/password": slowScryptLine("right"), "anonymous/": "" });
  await using srv = await startServer(root);
  using a = await RawClient.open(srv.port);
  using b = await RawClient.open(srv.port);
  await b.login();
  await a.cmd("USER bob");
  const order: string[] = [];
  await a.send("PASS right"); // a few hundred ms of scrypt work on the server
  const passed = a.reply().then((r) => order.push(`pass ${r.code}`));
  await new Promise((r) => setTimeout(r, 50)); // let the check start
  await b.cmd("NOOP").then((r) => order.push(`noop ${r.code}`));
  await passed;
  // A blocking hash would hold the NOOP until the 230 had gone out.
  assert.deepEqual(order, ["noop 200", "pass 230"]);
});

Deno.test("connections reset before the server takes them: every door goes on accepting", async () => {
  const root = await makeTree({ "anonymous/f.txt": "f" });
  await using srv = await startServer(root, { args: ["--http", "0"] });
  // Some of these are reset while still queued: Deno's accept then fails with NotConnected,
  // which once ended a door's accept loop for good (the next clients waited forever).
  for (const port of [srv.port, srv.httpPort!]) await resetFlood(port, 500);
  const listed = await ftplib<string[]>(srv.port, `print(json.dumps(connect().nlst()))`);
  assert.deepEqual(listed, ["f.txt"]);
  const page = await fetch(`http://127.0.0.1:${srv.httpPort}/`);
  assert.equal(page.status, 200);
  await page.body?.cancel();
  assert.ok(!/accept loop ended|accept failed/.test(srv.output()), srv.output().slice(-400));
});
