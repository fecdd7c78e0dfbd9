/** Logs people and tools read: a JSON line per event, the xferlog by position, SIGHUP reopening. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { hashPassword } from "../../lib/core/passwords.ts";
import { makeCert } from "../support/cert.ts";
import { epsvConnect, RawClient } from "../support/raw.ts";
import { ftplib, makeTree, randomBytes, run, startServer } from "../support/server.ts";

const LIB = new URL("../../lib", import.meta.url).pathname;
const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const PASSWORD = "s3cret-Passw0rd";
const WRONG = "wr0ng-Guess";

/** A folder outside the tree for the logs and certificates, and deno flags that allow it (and lib/: the Worker). */
async function setup(tree: Record<string, string>) {
  const root = await makeTree(tree);
  const aside = await Deno.makeTempDir({ prefix: "xxftp-logs-" });
  const denoFlags = [
    "--allow-net",
    `--allow-read=${root},${aside},${LIB}`,
    `--allow-write=${root},${aside}`,
  ];
  return { root, aside, denoFlags, xferlog: join(aside, "xferlog") };
}

const RFC3339_UTC = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/;

/** The JSON lines of a server's output, by event name. */
function jsonEvents(output: string): Map<string, Record<string, unknown>[]> {
  const byEvent = new Map<string, Record<string, unknown>[]>();
  for (const line of output.split("\n")) {
    if (!line.startsWith("{")) continue;
    const e = JSON.parse(line) as Record<string, unknown>;
    assert.match(String(e.time), RFC3339_UTC, line);
    for (const key of ["event", "session", "ip", "user", "path", "proto"]) {
      assert.ok(key in e, `${key} in ${line}`);
    }
    const list = byEvent.get(String(e.event)) ?? [];
    list.push(e);
    byEvent.set(String(e.event), list);
  }
  return byEvent;
}

Deno.test("--log-format json: every event of a session as one JSON object, never a password", async () => {
  const t = await setup({
    "alice/.xxftp/password": await hashPassword(PASSWORD),
    "alice/.xxftp/size": "100",
    "alice/a.txt": "hello",
    "anonymous/": "",
  });
  const cert = await makeCert(t.aside);
  assert.ok(cert, "openssl made a certificate");
  try {
    const srv = await startServer(t.root, {
      denoFlags: t.denoFlags,
      args: [
        ...["--log-format", "json", "--xferlog", t.xferlog],
        ...["--tls-cert", cert.cert, "--tls-key", cert.key],
        ...["--max-login-failures", "2", "--login-fail-delay", "10", "--ban-seconds", "60"],
      ],
    });
    try {
      const r = await ftplib<string[]>(
        srv.port,
        `
out = [attempt(connect, "alice", ${JSON.stringify(WRONG)})]
ftp = connect("alice", ${JSON.stringify(PASSWORD)})
ftp.mkd("d")
ftp.storbinary("STOR d/up file.txt", io.BytesIO(b"0123456789"))
ftp.rename("d/up file.txt", "d/moved.txt")
ftp.sendcmd("SITE CHMOD 600 d/moved.txt")
ftp.sendcmd("MFMT 20200102030405 d/moved.txt")
buf = io.BytesIO(); ftp.retrbinary("RETR a.txt", buf.write)
out.append(attempt(ftp.storbinary, "STOR big.bin", io.BytesIO(b"x" * 200)))
ftp.delete("d/moved.txt")
ftp.rmd("d")
ftp.quit()
print(json.dumps(out))
`,
      );
      assert.match(r[0], /^530/);
      assert.match(r[1], /^552/);
      using tls = await RawClient.open(srv.port);
      assert.equal((await tls.cmd("AUTH TLS")).code, 234);
      await tls.send(new TextEncoder().encode("this is not a TLS ClientHello\r\n".repeat(4)));
      await srv.waitFor('"event":"tls"');
      const bans = await ftplib<string[]>(
        srv.port,
        `print(json.dumps([attempt(connect, "alice", "x1"), attempt(connect, "alice", "x2")]))`,
      );
      assert.match(bans[1], /^421/, "held off");
      await srv.waitFor('"event":"ban"');
    } finally {
      assert.equal(await srv.stop(), 0);
    }
    const output = srv.output();
    assert.ok(!output.includes(PASSWORD) && !output.includes(WRONG), "no password in the log");
    const ev = jsonEvents(output);
    const one = (name: string, where: (e: Record<string, unknown>) => boolean = () => true) => {
      const found = (ev.get(name) ?? []).filter(where);
      assert.equal(found.length, 1, `one ${name} event: ${JSON.stringify(ev.get(name))}`);
      return found[0];
    };
    const s = (one("login").session) as number;
    const mine = (e: Record<string, unknown>) => e.session === s;
    assert.deepEqual(one("server_start").proto, "ftp");
    assert.equal(one("server_stop").reason, "stopping");
    assert.deepEqual(
      { ...one("connect", mine), time: 0 },
      {
        time: 0,
        event: "connect",
        session: s,
        ip: "127.0.0.1",
        user: null,
        path: null,
        proto: "ftp",
      },
    );
    assert.deepEqual(
      (ev.get("login_failed") ?? []).map((e) => [e.user, e.ip, e.proto]),
      [["alice", "127.0.0.1", "ftp"], ["alice", "127.0.0.1", "ftp"], ["alice", "127.0.0.1", "ftp"]],
    );
    assert.equal(one("login").user, "alice");
    assert.equal(one("mkdir").path, "/d");
    assert.equal(one("rmdir").path, "/d");
    assert.equal(one("delete").path, "/d/moved.txt");
    const rename = one("rename");
    assert.deepEqual([rename.from, rename.to], ["/d/up file.txt", "/d/moved.txt"]);
    assert.deepEqual([one("chmod").path, one("chmod").mode], ["/d/moved.txt", "600"]);
    assert.equal(one("mtime").mtime, "2020-01-02T03:04:05.000Z");
    const up = one("upload", (e) => e.status === "ok");
    assert.deepEqual(
      [up.path, up.bytes, up.status, up.mode, up.user, up.session],
      ["/d/up file.txt", 10, "ok", "binary", "alice", s],
    );
    assert.ok(typeof up.duration_ms === "number" && up.duration_ms >= 0);
    const quota = one("upload", (e) => e.status === "quota");
    assert.equal(quota.path, "/big.bin");
    const down = one("download");
    assert.deepEqual([down.path, down.bytes, down.status], ["/a.txt", 5, "ok"]);
    const tls = one("tls");
    assert.equal(tls.channel, "control");
    assert.equal(typeof tls.message, "string");
    assert.deepEqual([one("ban").ip, one("ban").seconds], ["127.0.0.1", 60]);
    const bye = one("disconnect", mine);
    assert.deepEqual([bye.user, typeof bye.duration_ms], ["alice", "number"]);

    const xfer = (await Deno.readTextFile(t.xferlog)).trimEnd().split("\n");
    assert.equal(xfer.length, 3, xfer.join("\n"));
    const fields = (line: string) => {
      const m = /^(\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}) (.*)$/.exec(line);
      assert.ok(m, line);
      return [m[1], ...m[2].split(" ")];
    };
    const [upLine, downLine, quotaLine] = xfer.map(fields);
    assert.equal(upLine.length, 14);
    assert.deepEqual(upLine.slice(2), [
      "127.0.0.1",
      "10",
      "/d/up_file.txt",
      "b",
      "_",
      "i",
      "r",
      "alice",
      "ftp",
      "0",
      "*",
      "c",
    ]);
    assert.match(upLine[1], /^\d+$/);
    assert.deepEqual(downLine.slice(2), [
      "127.0.0.1",
      "5",
      "/a.txt",
      "b",
      "_",
      "o",
      "r",
      "alice",
      "ftp",
      "0",
      "*",
      "c",
    ]);
    assert.deepEqual([quotaLine[4], quotaLine[7], quotaLine[13]], ["/big.bin", "i", "i"]);
  } finally {
    await Deno.remove(t.root, { recursive: true });
    await Deno.remove(t.aside, { recursive: true });
  }
});

Deno.test("--xferlog: SIGHUP reopens the file after logrotate renamed it", async () => {
  const t = await setup({ "anonymous/f.txt": "12345678" });
  try {
    const srv = await startServer(t.root, {
      denoFlags: t.denoFlags,
      args: ["--xferlog", t.xferlog],
    });
    try {
      const get = () =>
        ftplib(srv.port, `ftp = connect(); ftp.retrbinary("RETR f.txt", print); print("1")`);
      await get();
      await srv.waitFor("sent /f.txt (8 bytes)");
      await Deno.rename(t.xferlog, `${t.xferlog}.1`);
      srv.signal("SIGHUP");
      await srv.waitFor(`reopened the xferlog ${t.xferlog}`);
      await get();
    } finally {
      assert.equal(await srv.stop(), 0);
    }
    assert.equal(srv.output().split("sent /f.txt (8 bytes)").length - 1, 2);
    const rotated = (await Deno.readTextFile(`${t.xferlog}.1`)).trimEnd().split("\n");
    const fresh = (await Deno.readTextFile(t.xferlog)).trimEnd().split("\n");
    assert.equal(rotated.length, 1, rotated.join("\n"));
    assert.equal(fresh.length, 1, fresh.join("\n"));
    for (const line of [...rotated, ...fresh]) {
      assert.match(line, / 127\.0\.0\.1 8 \/f\.txt b _ o a anonymous ftp 0 \* c$/);
    }
  } finally {
    await Deno.remove(t.root, { recursive: true });
    await Deno.remove(t.aside, { recursive: true });
  }
});

Deno.test("--log-format and --xferlog: usage errors exit 2", async () => {
  const root = await makeTree({ "anonymous/": "" });
  try {
    const bad = await run(Deno.execPath(), [
      ...["run", "--allow-net", `--allow-read=${root}`, `--allow-write=${root}`, MAIN],
      ...["serve", root, "--port", "0", "--log-format", "xml"],
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--log-format takes text or json, not "xml"/);
    const missing = await run(Deno.execPath(), [
      ...["run", "--allow-net", `--allow-read=${root}`, `--allow-write=${root}`, MAIN],
      ...["serve", root, "--port", "0", "--xferlog", "/nonexistent-dir/xferlog"],
    ]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--xferlog "\/nonexistent-dir\/xferlog" cannot be opened/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("an aborted download is logged as aborted, and incomplete in the xferlog", async () => {
  const t = await setup({ "anonymous/": "" });
  await Deno.writeFile(join(t.root, "anonymous/big.bin"), randomBytes(32 << 20));
  try {
    const srv = await startServer(t.root, {
      denoFlags: t.denoFlags,
      args: ["--xferlog", t.xferlog],
    });
    try {
      using c = await RawClient.open(srv.port);
      await c.login();
      await c.cmd("TYPE I");
      const data = await epsvConnect(c);
      assert.equal((await c.cmd("RETR big.bin")).code, 150);
      const some = new Uint8Array(65536);
      assert.ok((await data.read(some)) !== null, "data flows, then the client stops reading");
      assert.equal((await c.cmd("ABOR")).code, 426);
      assert.equal((await c.reply()).code, 226);
      data.close();
      await srv.waitFor(/download aborted: \/big\.bin \(\d+ bytes\)/);
    } finally {
      assert.equal(await srv.stop(), 0);
    }
    const line = (await Deno.readTextFile(t.xferlog)).trimEnd();
    assert.match(line, / 127\.0\.0\.1 \d+ \/big\.bin b _ o a anonymous ftp 0 \* i$/);
  } finally {
    await Deno.remove(t.root, { recursive: true });
    await Deno.remove(t.aside, { recursive: true });
  }
});

Deno.test("the get door logs its downloads like FTP: a JSON event with proto get, an xferlog line", async () => {
  const t = await setup({ "anonymous/a.txt": "hello" });
  try {
    const srv = await startServer(t.root, {
      denoFlags: t.denoFlags,
      args: ["--log-format", "json", "--xferlog", t.xferlog, "--get-port", "0"],
    });
    try {
      const port = Number(/listening on get:\/\/\S+:(\d+)/.exec(srv.output())?.[1]);
      const got = await run("python3", [
        "-c",
        `import socket,sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"get a.txt\\n")
size = int(s.recv(64)); s.sendall(b"ok")
data = b""
while len(data) < size: data += s.recv(65536)
print(data.decode())`,
        String(port),
      ]);
      assert.equal(got.stdout.trim(), "hello", got.stderr);
      await srv.waitFor('"event":"download"');
    } finally {
      await srv.stop();
    }
    const down = jsonEvents(srv.output()).get("download")?.[0];
    assert.ok(down, srv.output());
    assert.deepEqual([down.proto, down.path, down.bytes, down.status], ["get", "/a.txt", 5, "ok"]);
    const line = (await Deno.readTextFile(t.xferlog)).trim();
    assert.match(line, / 127\.0\.0\.1 5 \/a\.txt b _ o a anonymous get 0 \* c$/);
  } finally {
    await Deno.remove(t.root, { recursive: true });
    await Deno.remove(t.aside, { recursive: true });
  }
});
