/** The HTTP door's bounds: slow heads, idle connections, connection limits, head size; and HTTPS. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeCert } from "../support/cert.ts";
import { curl } from "../support/http.ts";
import { makeTree, startServer } from "../support/server.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Reads until the server closes (or `ms` pass); the text, and whether it closed. */
async function readToClose(
  conn: Deno.Conn,
  ms: number,
): Promise<{ text: string; closed: boolean }> {
  const buf = new Uint8Array(65536);
  let text = "";
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), ms));
  try {
    for (;;) {
      const n = await Promise.race([conn.read(buf).catch(() => null), timeout]);
      if (n === "timeout") return { text, closed: false };
      if (n === null) return { text, closed: true };
      text += decoder.decode(buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
}

Deno.test("a head that never ends and a connection left idle are closed; the limits count connections", async () => {
  const root = await makeTree({ "anonymous/a.txt": "a" });
  await using srv = await startServer(root, {
    args: ["--http", "0", "--login-timeout", "1", "--idle-timeout", "2", "--max-per-ip", "3"],
  });
  const port = srv.httpPort!;
  const slow = await Deno.connect({ hostname: "127.0.0.1", port });
  await slow.write(encoder.encode("GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Slow: "));
  const idle = await Deno.connect({ hostname: "127.0.0.1", port });
  await idle.write(encoder.encode("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"));
  const silent = await Deno.connect({ hostname: "127.0.0.1", port });
  // Three open: a fourth from the same address is refused with a reply.
  const extra = await Deno.connect({ hostname: "127.0.0.1", port });
  const refused = await readToClose(extra, 10000);
  assert.ok(refused.closed);
  assert.match(refused.text, /^HTTP\/1\.1 429 /);
  extra.close();

  const s = await readToClose(slow, 15000);
  assert.ok(s.closed, "an unfinished head is cut off");
  assert.equal(s.text, "");
  const i = await readToClose(idle, 15000);
  assert.match(i.text, /^HTTP\/1\.1 200 OK/);
  assert.ok(i.closed, "a keep-alive connection left idle is closed");
  assert.ok((await readToClose(silent, 15000)).closed, "a connection that says nothing is closed");
  for (const c of [slow, idle, silent]) c.close();
  // Released: new connections are served again.
  assert.equal((await curl([`http://127.0.0.1:${port}/a.txt`])).body, "a");
});

Deno.test("request heads are bounded in size and count", async () => {
  const root = await makeTree({ "anonymous/a.txt": "a" });
  await using srv = await startServer(root, { args: ["--http", "0"] });
  const port = srv.httpPort!;
  const huge = await Deno.connect({ hostname: "127.0.0.1", port });
  const big = `GET /a.txt HTTP/1.1\r\nHost: x\r\nX-Big: ${"a".repeat(1 << 20)}\r\n\r\n`;
  await huge.write(encoder.encode(big)).catch(() => 0);
  // Refused: a 400, or a bare close when the rest of the head resets the connection first.
  const r1 = await readToClose(huge, 15000);
  assert.ok(r1.closed);
  assert.match(r1.text, /^(HTTP\/1\.1 (400|431) |$)/);
  huge.close();
  const many = await Deno.connect({ hostname: "127.0.0.1", port });
  const headers = Array.from({ length: 500 }, (_, i) => `X-H${i}: v\r\n`).join("");
  await many.write(encoder.encode(`GET /a.txt HTTP/1.1\r\nHost: x\r\n${headers}\r\n`));
  const r2 = await readToClose(many, 15000);
  assert.ok(r2.closed);
  assert.match(r2.text, /^(HTTP\/1\.1 (400|431) |$)/);
  many.close();
  const garbage = await Deno.connect({ hostname: "127.0.0.1", port });
  await garbage.write(encoder.encode("\x16\x03\x01 not http at all\r\n\r\n"));
  const r3 = await readToClose(garbage, 15000);
  assert.ok(r3.closed);
  garbage.close();
  assert.equal((await curl([`http://127.0.0.1:${port}/a.txt`])).body, "a");
  assert.doesNotMatch(srv.output(), /\n\s+at /, "no stack trace in the log");
});

Deno.test("HTTPS on the --http port with --tls-cert/--tls-key; the session cookie is Secure", async () => {
  const root = await makeTree({ "anonymous/a.txt": "over tls", "bob/b.txt": "bob's" });
  const certs = await Deno.makeTempDir({ prefix: "xxftp-cert-" });
  const made = await makeCert(certs);
  assert.ok(made, "openssl made a certificate");
  try {
    await using srv = await startServer(root, {
      args: ["--http", "0", "--tls-cert", made.cert, "--tls-key", made.key],
      denoFlags: ["--allow-net", `--allow-read=${root},${certs}`, `--allow-write=${root}`],
    });
    assert.match(srv.output(), /browsers: https:\/\/127\.0\.0\.1:\d+\//);
    const base = `https://127.0.0.1:${srv.httpPort}`;
    const r = await curl([
      "--cacert",
      made.cert,
      "--resolve",
      `localhost:${srv.httpPort}:127.0.0.1`,
      `https://localhost:${srv.httpPort}/a.txt`,
    ]);
    assert.equal(r.status, 200);
    assert.equal(r.body, "over tls");
    const login = await curl(["-k", "-d", "user=bob&password=x", `${base}/.login`]);
    assert.equal(login.status, 303);
    assert.match(login.headers.get("set-cookie") ?? "", /; HttpOnly; SameSite=Strict; Secure$/);
    const clear = await curl([`http://127.0.0.1:${srv.httpPort}/a.txt`], 15000);
    assert.notEqual(clear.status, 200, "no clear text on the TLS port");
  } finally {
    await Deno.remove(certs, { recursive: true });
  }
});

Deno.test("the door stops with the server: SIGTERM ends it cleanly", async () => {
  const root = await makeTree({ "anonymous/a.txt": "a" });
  const srv = await startServer(root, { args: ["--http", "0"] });
  const idle = await Deno.connect({ hostname: "127.0.0.1", port: srv.httpPort! });
  await idle.write(encoder.encode("GET /a.txt HTTP/1.1\r\nHost: x\r\n\r\n"));
  assert.match((await readToClose(idle, 2000)).text, /^HTTP\/1\.1 200/);
  assert.equal(await srv.stop(), 0);
  idle.close();
  await Deno.remove(join(root), { recursive: true });
});

Deno.test("a bad --http value or a port in use is one line and exit code 2", async () => {
  const root = await makeTree({ "anonymous/": "" });
  const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const flags = ["--allow-net", `--allow-read=${root}`, `--allow-write=${root}`];
  try {
    for (
      const [value, said] of [["x", /--http needs a whole number/], [
        String(busy.addr.port),
        /--http port \d+ on 127\.0\.0\.1 is in use/,
      ]] as const
    ) {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", ...flags, main, "serve", root, "--port", "0", "--http", value],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(r.stderr);
      assert.equal(r.code, 2, err);
      assert.match(err, said);
      assert.equal(err.trim().split("\n").length, 1);
    }
  } finally {
    busy.close();
    await Deno.remove(root, { recursive: true });
  }
});
