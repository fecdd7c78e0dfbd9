/**
 * The get door (`--get-port`) against a real server process: the original's
 * protocol byte for byte from a Python script, `xxftp get`, refusals, a
 * 1 GiB file in bounded memory, the shared limits and the idle time-out.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { RawClient } from "../support/raw.ts";
import {
  makeTree,
  randomBytes,
  resetFlood,
  run,
  sameBytes,
  startServer,
  type TestServer,
} from "../support/server.ts";
import { hasStackTrace } from "../support/trees.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The get door's port, from the server's startup line. */
function getPortOf(srv: TestServer): number {
  const m = /listening on get:\/\/\S+:(\d+)/.exec(srv.output());
  if (!m) throw new Error(`no get door in:\n${srv.output()}`);
  return Number(m[1]);
}

/** A server with the get door on a free port. */
async function startGet(root: string, args: string[] = []) {
  const srv = await startServer(root, { args: ["--get-port", "0", ...args] });
  return { srv, port: getPortOf(srv) };
}

/** A raw connection to the get door. */
class GetSocket {
  #buf = new Uint8Array(1 << 20);

  private constructor(readonly conn: Deno.TcpConn) {}

  static async open(port: number): Promise<GetSocket> {
    return new GetSocket(await Deno.connect({ hostname: "127.0.0.1", port }));
  }

  async send(data: string | Uint8Array): Promise<void> {
    const bytes = typeof data === "string" ? enc(data) : data;
    for (let off = 0; off < bytes.length;) off += await this.conn.write(bytes.subarray(off));
  }

  /** One read (bounded in time); null at the end (or a reset). */
  async read(timeoutMs = 15000): Promise<Uint8Array | null> {
    const timer = setTimeout(() => this.close(), timeoutMs);
    try {
      const n = await this.conn.read(this.#buf);
      return n === null ? null : this.#buf.slice(0, n);
    } catch {
      return null;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Everything until the server closes (bounded in time). */
  async readToEnd(timeoutMs = 15000): Promise<string> {
    let text = "";
    const deadline = Date.now() + timeoutMs;
    for (let b = await this.read(timeoutMs); b !== null; b = await this.read()) {
      text += dec(b);
      if (Date.now() > deadline) throw new Error(`still open after ${timeoutMs} ms: ${text}`);
    }
    return text;
  }

  /** Exactly `n` bytes, or fewer if the server closes first. */
  async readBytes(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const b = await this.read();
      if (b === null) break;
      out.set(b.subarray(0, n - got), got);
      got += b.length;
    }
    return out.subarray(0, got);
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // closed already
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

const B_BIN = randomBytes(300_000);

Deno.test("get: a Python script of the original's era, byte for byte; several files on one connection", async () => {
  const root = await makeTree({
    "anonymous/a.txt": "hello world",
    "anonymous/sub/b.bin": B_BIN,
    "anonymous/empty.txt": "",
    "anonymous/with space.txt": "spaced",
  });
  const { srv, port } = await startGet(root);
  await using _ = srv;
  const r = await run("python3", [
    "-c",
    `
import hashlib, json, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=20)
out = []
def fetch(request):
    s.send(request)
    size = int(s.recv(1024).decode())
    if size < 0:
        return [request.decode(), size]
    s.send(b"ok")
    got = b""
    while len(got) < size:
        chunk = s.recv(1024)
        if not chunk:
            break
        got += chunk
    return [request.decode(), size, len(got), hashlib.sha256(got).hexdigest()]
out.append(fetch(b"get a.txt"))                      # no line end at all, as the original's clients
out.append(fetch(b"get sub/b.bin\\n"))
out.append(fetch(b"get empty.txt\\r\\n"))
out.append(fetch(b"get with space.txt\\n"))
s.send(b"get a.txt\\nok\\n")                          # the go-ahead sent with the request
got = b""
while len(got) < 13:
    got += s.recv(1024)
out.append(got.decode())
out.append(fetch(b"get nope.txt\\n"))
out.append(["after -1", s.recv(1024).decode()])       # the connection is closed
print(json.dumps(out))
`,
    String(port),
  ]);
  assert.equal(r.code, 0, r.stderr);
  const sha = async (b: Uint8Array) =>
    Array.from(
      new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(b))),
      (x) => x.toString(16).padStart(2, "0"),
    ).join("");
  const row = async (req: string, b: Uint8Array) => [req, b.length, b.length, await sha(b)];
  assert.deepEqual(JSON.parse(r.stdout), [
    await row("get a.txt", enc("hello world")),
    await row("get sub/b.bin\n", B_BIN),
    await row("get empty.txt\r\n", new Uint8Array(0)),
    await row("get with space.txt\n", enc("spaced")),
    "11hello world",
    ["get nope.txt\n", -1],
    ["after -1", ""],
  ]);
  await srv.waitFor(`get "nope.txt": failed (not-found)`);
  assert.match(
    srv.output(),
    /\[get \d+ 127\.0\.0\.1 anonymous\] sent \/sub\/b\.bin \(300000 bytes\)/,
  );
});

Deno.test("get: nc style: the request, then the sending side shut; the size and the bytes come back", async () => {
  const root = await makeTree({ "anonymous/a.txt": "hello world" });
  const { srv, port } = await startGet(root);
  await using _ = srv;
  using s = await GetSocket.open(port);
  await s.send("get a.txt\n\nget a.txt\n");
  await s.conn.closeWrite(); // printf '...' | nc -N: the end of input is the go-ahead
  assert.equal(await s.readToEnd(), "11hello world11hello world");
});

/** Runs `xxftp get` in `cwd` with network and `cwd` access only. */
function client(cwd: string, args: string[]) {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      `--allow-read=${cwd}`,
      `--allow-write=${cwd}`,
      MAIN,
      "get",
      ...args,
    ],
    cwd,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output().then((o) => ({ code: o.code, stdout: o.stdout, stderr: dec(o.stderr) }));
}

Deno.test("get: xxftp get saves the file (to -o, to stdout, by default to NAME's base name), fails on -1", async () => {
  const root = await makeTree({ "anonymous/a.txt": "hello world", "anonymous/sub/b.bin": B_BIN });
  const { srv, port } = await startGet(root);
  await using _ = srv;
  const here = await makeTree({ "keep.txt": "old content" });
  try {
    const at = `127.0.0.1:${port}`;
    let r = await client(here, [at, "sub/b.bin"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(sameBytes(await Deno.readFile(join(here, "b.bin")), B_BIN));
    r = await client(here, [at, "a.txt", "-o", join(here, "out.txt")]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(await Deno.readTextFile(join(here, "out.txt")), "hello world");
    r = await client(here, [at, "a.txt", "-o", "-"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(dec(r.stdout), "hello world");
    assert.equal(r.stderr, "", "no progress line when stderr is no terminal");
    for (const name of ["nope.txt", "sub", "../a.txt/x"]) {
      r = await client(here, [at, name, "-o", "keep.txt"]);
      assert.equal(r.code, 1, name);
      assert.match(r.stderr, /refused .*\(-1: no such file, or not allowed\)/, name);
    }
    assert.equal(await Deno.readTextFile(join(here, "keep.txt")), "old content");
    r = await client(here, [at, "sub/"]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /give -o FILE/);
    const names = [...Deno.readDirSync(here)].map((e) => e.name).sort();
    assert.deepEqual(names, ["b.bin", "keep.txt", "out.txt"], "no partial file left behind");
  } finally {
    await Deno.remove(here, { recursive: true });
  }
});

/** A fake server that answers one connection with `answer` and then `body`, then closes. */
function fakeServer(answer: string, body: Uint8Array) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    const buf = new Uint8Array(1024);
    await conn.read(buf); // the request
    await conn.write(enc(answer));
    if (body.length > 0) {
      await conn.read(buf); // the go-ahead
      for (let off = 0; off < body.length;) off += await conn.write(body.subarray(off));
    }
    conn.close();
    listener.close();
  })();
  return { port: (listener.addr as Deno.NetAddr).port, served };
}

Deno.test("get: xxftp get exits non-zero on a short read and on an answer no get server gives", async () => {
  const here = await makeTree({ "f.bin": "old" });
  try {
    const short = fakeServer("100", new Uint8Array(50));
    let r = await client(here, [`127.0.0.1:${short.port}`, "f.bin"]);
    await short.served;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /short read: 50 of 100 bytes arrived; f\.bin not written/);
    assert.equal(await Deno.readTextFile(join(here, "f.bin")), "old");
    const ftp = fakeServer("220 FTP ready\r\n", new Uint8Array(0));
    r = await client(here, [`127.0.0.1:${ftp.port}`, "f.bin"]);
    await ftp.served;
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is no get server: it answered "220 FTP ready\\r\\n"/);
    assert.deepEqual([...Deno.readDirSync(here)].map((e) => e.name), ["f.bin"]);
  } finally {
    await Deno.remove(here, { recursive: true });
  }
});

Deno.test("get: traversal spellings, hidden names, folders, other users, other verbs: -1, closed", async () => {
  const root = await makeTree({
    "anonymous/a.txt": "hello world",
    "anonymous/.hidden": "h",
    "anonymous/sub/b.txt": "b",
    "anonymous/.xxftp/virtual": "drop $root/drop write\n",
    "drop/d.txt": "write-only folder",
    "alice/private.txt": "alice's",
    "alice/.xxftp/password": "5ebe2294ecd0e0f08eab7690d2a6ee69",
    "secret.txt": "root secret",
  });
  await Deno.symlink(join(root, "secret.txt"), join(root, "anonymous/link.txt"));
  const { srv, port } = await startGet(root);
  await using _ = srv;
  const long = "get " + "a".repeat(2000);
  const requests: (string | Uint8Array)[] = [
    "get ../secret.txt\n",
    "get ..\\secret.txt\n",
    "get ../../../../../../etc/passwd\n",
    "get /etc/passwd\n",
    "get %2e%2e/secret.txt\n",
    "get %2e%2e%2fsecret.txt\n",
    "get a.txt\0\n",
    "get a.txt\0../secret.txt\n",
    "get .xxftp/password\n",
    "get .xxftp/virtual\n",
    "get .hidden\n",
    "get sub/../.hidden\n",
    "get ../alice/private.txt\n",
    "get ../alice/.xxftp/password\n",
    "get link.txt\n",
    "get drop/d.txt\n",
    "get sub\n",
    "get /\n",
    "get nope.txt\n",
    "GET a.txt\n",
    "GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n",
    "put a.txt\n",
    "get\n",
    "get \n",
    new Uint8Array([0x67, 0x65, 0x74, 0x20, 0xc3, 0x28, 0x0a]),
    long + "\n",
    long,
  ];
  for (const request of requests) {
    using s = await GetSocket.open(port);
    await s.send(request);
    assert.equal(await s.readToEnd(), "-1", JSON.stringify(request));
  }
  // Log lines travel from the Worker through a writer: wait for the last one, bounded.
  const failures = () => srv.output().split("\n").filter((l) => /\[get \d+ .*failed/.test(l));
  for (let i = 0; i < 100 && failures().length < requests.length; i++) await sleep(50);
  assert.equal(failures().length, requests.length, srv.output());
  assert.ok(!/\] sent /.test(srv.output()), "nothing was served");
  assert.ok(!hasStackTrace(srv.output()), srv.output());
  // The door still serves after all that.
  using s = await GetSocket.open(port);
  await s.send("get a.txt\n");
  assert.equal(dec(await s.readBytes(2)), "11");
  await s.send("ok");
  assert.equal(dec(await s.readBytes(11)), "hello world");
});

Deno.test("get: a 1 GiB file is streamed whole while the server stays far below 1 GiB of memory", async () => {
  const GIB = 1024 ** 3;
  const root = await makeTree({ "anonymous/": "" });
  const big = join(root, "anonymous/big.bin");
  await Deno.writeFile(big, new Uint8Array(0));
  await Deno.truncate(big, GIB); // sparse: no disk, and reading it is fast
  const { srv, port } = await startGet(root);
  await using _ = srv;
  using s = await GetSocket.open(port);
  await s.send("get big.bin\n");
  assert.equal(dec((await s.read())!), String(GIB));
  await s.send("ok");
  let got = 0;
  let nonZero = 0;
  while (got < GIB) {
    const b = await s.read(60_000);
    if (b === null) break;
    got += b.length;
    if (b[0] !== 0 || b[b.length - 1] !== 0) nonZero++;
  }
  assert.equal(got, GIB);
  assert.equal(nonZero, 0);
  await srv.waitFor(`sent /big.bin (${GIB} bytes)`);
  const status = await Deno.readTextFile(`/proc/${srv.pid}/status`);
  const hwmKiB = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]);
  console.log(`server peak resident memory after 1 GiB: ${Math.round(hwmKiB / 1024)} MiB`);
  assert.ok(hwmKiB > 0 && hwmKiB < 300 * 1024, `VmHWM ${hwmKiB} kB`);
});

/** Waits until `check` holds (bounded); the limits are released when the server sees a close. */
async function eventually(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`never: ${what}`);
}

/** Whether a new get connection is served (rather than answered -1). */
async function served(port: number): Promise<boolean> {
  using s = await GetSocket.open(port);
  await s.send("get a.txt\n");
  const answer = dec(await s.readBytes(2));
  return answer === "11";
}

Deno.test("get: --max-per-ip and --max-connections count get and FTP connections together", async () => {
  {
    const root = await makeTree({ "anonymous/a.txt": "hello world" });
    const { srv, port } = await startGet(root, ["--max-per-ip", "2"]);
    await using _ = srv;
    using ftp = await RawClient.open(srv.port);
    assert.equal(ftp.greeting.code, 220);
    const held = await GetSocket.open(port);
    await held.send("get a.txt\n");
    assert.equal(dec(await held.readBytes(2)), "11"); // admitted: two from this address now
    using third = await GetSocket.open(port);
    assert.equal(await third.readToEnd(), "-1");
    using ftp2 = await RawClient.open(srv.port);
    assert.equal(ftp2.greeting.code, 421);
    held.close();
    await eventually(() => served(port), "a slot freed by a closed get connection");
    await srv.waitFor("refused: too-many-from-address");
  }
  {
    const root = await makeTree({ "anonymous/a.txt": "hello world" });
    const { srv, port } = await startGet(root, ["--max-connections", "1"]);
    await using _ = srv;
    using held = await GetSocket.open(port);
    await held.send("get a.txt\n");
    assert.equal(dec(await held.readBytes(2)), "11");
    using second = await GetSocket.open(port);
    assert.equal(await second.readToEnd(), "-1");
    using ftp = await RawClient.open(srv.port);
    assert.equal(ftp.greeting.code, 421);
    await srv.waitFor("refused: too-many");
  }
});

Deno.test("get: --idle-timeout closes a silent connection, one that never gives the go-ahead, one after a file", async () => {
  const root = await makeTree({ "anonymous/a.txt": "hello world" });
  const { srv, port } = await startGet(root, ["--idle-timeout", "1"]);
  await using _ = srv;
  using silent = await GetSocket.open(port);
  using noGoAhead = await GetSocket.open(port);
  await noGoAhead.send("get a.txt\n");
  assert.equal(dec(await noGoAhead.readBytes(2)), "11");
  using afterFile = await GetSocket.open(port);
  await afterFile.send("get a.txt\nok\n");
  assert.equal(dec(await afterFile.readBytes(13)), "11hello world");
  assert.equal(await silent.readToEnd(), "");
  assert.equal(await noGoAhead.readToEnd(), "");
  assert.equal(await afterFile.readToEnd(), "");
  await srv.waitFor(`get "a.txt": 0 of 11 bytes, failed (closed before the go-ahead)`);
  assert.equal(srv.output().match(/idle for 1 s: closed/g)?.length, 3);
});

/** A port that was free a moment ago. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

Deno.test("get: no --get-port, no listener; --get-port N listens on N; a taken N is a usage error", async () => {
  const tree = () => makeTree({ "anonymous/a.txt": "hello world" });
  const port = freePort();
  {
    await using srv = await startServer(await tree());
    await assert.rejects(
      () => Deno.connect({ hostname: "127.0.0.1", port }),
      Deno.errors.ConnectionRefused,
    );
    assert.ok(!srv.output().includes("get://"));
  }
  {
    await using srv = await startServer(await tree(), { args: ["--get-port", String(port)] });
    assert.equal(getPortOf(srv), port);
    assert.ok(await served(port));
  }
  const root = await tree();
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const busy = (taken.addr as Deno.NetAddr).port;
    const r = await run(Deno.execPath(), [
      "run",
      "--allow-net",
      `--allow-read=${root}`,
      `--allow-write=${root}`,
      MAIN,
      "serve",
      root,
      "--port",
      "0",
      "--get-port",
      String(busy),
    ]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, new RegExp(`--get-port ${busy} on 127\\.0\\.0\\.1 is in use`));
  } finally {
    taken.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("get: a client that leaves mid-file costs one log line; the door serves on", async () => {
  const root = await makeTree({ "anonymous/a.txt": "hello world" });
  const big = join(root, "anonymous/big.bin");
  await Deno.writeFile(big, new Uint8Array(0));
  await Deno.truncate(big, 256 * 1024 ** 2);
  const { srv, port } = await startGet(root);
  await using _ = srv;
  {
    using s = await GetSocket.open(port);
    await s.send("get big.bin\nok\n");
    assert.ok((await s.read()) !== null);
  }
  await srv.waitFor("of 268435456 bytes, failed");
  assert.ok(await served(port));
  assert.ok(!hasStackTrace(srv.output()), srv.output());
});

Deno.test("get: share mode serves the shared folder itself, hidden names still refused", async () => {
  const root = await makeTree({ "a.txt": "shared", ".secret": "s", "sub/.xxftp/x": "x" });
  const srv = await startServer(root, { command: "share", args: ["--get-port", "0"] });
  await using _ = srv;
  const port = getPortOf(srv);
  using s = await GetSocket.open(port);
  await s.send("get /a.txt\nok\n");
  assert.equal(dec(await s.readBytes(7)), "6shared");
  for (const name of [".secret", "sub/.xxftp/x", "../a.txt/../../etc/passwd"]) {
    using r = await GetSocket.open(port);
    await r.send(`get ${name}\n`);
    assert.equal(await r.readToEnd(), "-1", name);
  }
});

/** util-linux `script` runs a command on a pseudo-terminal. */
const hasScript = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "get: xxftp get draws progress on a terminal, up to 100%",
  ignore: !hasScript,
  async fn() {
    const root = await makeTree({ "anonymous/sub/b.bin": B_BIN });
    const { srv, port } = await startGet(root);
    await using _ = srv;
    const here = await makeTree({});
    try {
      const cmd = [Deno.execPath(), "run", "--allow-all", MAIN, "get", `127.0.0.1:${port}`]
        .concat("sub/b.bin", "-o", join(here, "b.bin")).join(" ");
      const r = await run("script", ["-qec", cmd, "/dev/null"]);
      assert.equal(r.code, 0, r.stdout);
      assert.match(r.stdout, /\rsub\/b\.bin: 293\.0 KiB of 293\.0 KiB \(100%\)/);
      assert.ok(sameBytes(await Deno.readFile(join(here, "b.bin")), B_BIN));
    } finally {
      await Deno.remove(here, { recursive: true });
    }
  },
});

Deno.test("get: connections reset before the door takes them do not stop it", async () => {
  const root = await makeTree({ "anonymous/a.txt": "hello world" });
  const { srv, port } = await startGet(root);
  await using _ = srv;
  await resetFlood(port, 500);
  assert.ok(await served(port), "the get door still serves");
  assert.ok(!/accept loop ended|accept failed/.test(srv.output()), srv.output().slice(-400));
});
