/**
 * ABOR as real clients send it: Telnet IP and DM first, one byte of them as
 * TCP urgent data (which the server's byte stream never shows). During a
 * transfer the answer is 426 then 226, otherwise 225; the session goes on.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertNoStackTrace, LFTP_FTPS, python, serveTree } from "../support/ftps.ts";
import { epsvConnect, RawClient } from "../support/raw.ts";
import { randomBytes, run, sameBytes } from "../support/server.ts";

/** What the server's stream holds before `ABOR`, by the client behaviour that produces it. */
const PATTERNS: [string, number[]][] = [
  ["all inline (over TLS, or SO_OOBINLINE)", [0xff, 0xf4, 0xff, 0xf2]],
  ["DM out of band (lftp)", [0xff, 0xf4, 0xff]],
  ["second IAC out of band (BSD ftp, tnftp)", [0xff, 0xf4, 0xf2]],
  ["first IAC out of band (older lftp)", [0xf4, 0xff, 0xf2]],
  ["a lone DM", [0xf2]],
  ["a dangling IAC", [0xff]],
  ["none", []],
];

const abor = (prefix: number[]) =>
  Uint8Array.from([...prefix, ...new TextEncoder().encode("ABOR\r\n")]);

Deno.test("ABOR after Telnet bytes, as the server sees them: 225 idle, 426 then 226 in a transfer", async () => {
  await using srv = await serveTree({ "bob/big.bin": new Uint8Array(32 << 20) }, false);
  using c = await RawClient.open(srv.port);
  assert.equal((await c.login("bob", "secret")).code, 230);
  await c.cmd("TYPE I");
  for (const [name, prefix] of PATTERNS) {
    await c.send(abor(prefix));
    assert.equal((await c.reply()).code, 225, `${name}, idle`);
    using _data = await epsvConnect(c); // connected, never read: the transfer stays running
    assert.equal((await c.cmd("RETR big.bin")).code, 150);
    await c.send(abor(prefix)); // the client reads no data: the transfer is still running
    assert.equal((await c.reply()).code, 426, `${name}, in a transfer`);
    assert.equal((await c.reply()).code, 226, `${name}, in a transfer`);
    assert.equal((await c.cmd("NOOP")).code, 200, `${name}: the session goes on`);
  }
  // ftplib sends "ABOR\r\n" as urgent data: the LF never arrives, or arrives later.
  await c.send(new TextEncoder().encode("ABOR\r"));
  assert.equal((await c.reply()).code, 225, "ABOR ended by a bare CR");
  await c.send(new TextEncoder().encode("\nNOOP\r\n"));
  assert.equal((await c.reply()).code, 200, "a late LF is not an empty command");
  await srv.waitFor("aborted after"); // one line for each aborted transfer
  assertNoStackTrace(srv);
});

Deno.test("ABOR with a byte sent as TCP urgent data, as lftp, older lftp, BSD ftp and ftplib send it", async () => {
  await using srv = await serveTree({ "bob/big.bin": new Uint8Array(32 << 20) }, false);
  const r = await python<Record<string, string[]>>(
    srv,
    `
OOB = socket.MSG_OOB
SENDS = {
    "lftp": [(b"\\xff\\xf4\\xff", 0), (b"\\xf2", OOB), (b"ABOR\\r\\n", 0)],
    "older lftp": [(b"\\xff", OOB), (b"\\xf4\\xff\\xf2", 0), (b"ABOR\\r\\n", 0)],
    "BSD ftp": [(b"\\xff\\xf4\\xff", OOB), (b"\\xf2ABOR\\r\\n", 0)],
    "ftplib": [(b"ABOR\\r\\n", OOB)],
}
ftp = login(tls=False)
ftp.sock.settimeout(5)  # a reply that does not come fails the test
out = {}
for name, parts in SENDS.items():
    got = []
    for running in (False, True):
        conn = ftp.transfercmd("RETR big.bin") if running else None
        if conn:
            conn.recv(65536)
        for data, flags in parts:
            ftp.sock.send(data, flags)
        got.append(reply(ftp))
        if conn:
            got.append(reply(ftp))
            conn.close()
    got.append(ftp.sendcmd("NOOP"))
    out[name] = [g[:3] for g in got]
ftp.quit()
print(json.dumps(out))
`,
  );
  for (const [name, codes] of Object.entries(r)) {
    assert.deepEqual(codes, ["225", "426", "226", "200"], name);
  }
  assertNoStackTrace(srv);
});

Deno.test("ftplib abort() (ABOR as TCP urgent data) during a big RETR and when idle", async () => {
  await using srv = await serveTree({ "bob/big.bin": new Uint8Array(32 << 20) }, false);
  const r = await python<Record<string, string>>(
    srv,
    `
ftp = login(tls=False)
out = {"idle": ftp.abort()}
conn = ftp.transfercmd("RETR big.bin")
conn.recv(65536)
out["abort"] = ftp.abort()
conn.close()
out["after"] = reply(ftp)
out["noop"] = ftp.sendcmd("NOOP")
conn = ftp.transfercmd("RETR big.bin")
conn.recv(65536)
out["again"] = ftp.abort()
conn.close()
out["after2"] = reply(ftp)
ftp.quit()
print(json.dumps(out))
`,
  );
  assert.match(r.idle, /^225 /);
  assert.match(r.abort, /^426 /);
  assert.match(r.after, /^226 /);
  assert.match(r.noop, /^200 /);
  assert.match(r.again, /^426 /);
  assert.match(r.after2, /^226 /);
  assertNoStackTrace(srv);
});

for (const tls of [false, true]) {
  Deno.test(`lftp pget -n 4 finishes without a stall (${tls ? "FTPS" : "plain FTP"})`, async () => {
    const payload = randomBytes(16 << 20);
    await using srv = await serveTree({ "bob/p.bin": payload }, tls);
    const local = await Deno.makeTempDir({ prefix: "xxftp-pget-" });
    try {
      const r = await run(
        "lftp",
        ["-f", "/dev/stdin"],
        [
          "debug 5",
          ...(tls ? LFTP_FTPS : [
            "set cmd:fail-exit yes",
            "set net:timeout 5",
            "set net:max-retries 1",
            "set ftp:ssl-allow no",
          ]),
          // Slow enough that the four parts overlap, so three of them end with ABOR.
          "set net:limit-rate 2000000",
          `open -u bob,secret ftp://127.0.0.1:${srv.port}`,
          `pget -n 4 p.bin -o ${join(local, "p.bin")}`,
          "bye",
        ].join("\n"),
      );
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /Timeout/, "no connection waited for a reply");
      assert.match(r.stderr, /ABOR/, "lftp aborted the parts it had");
      assert.ok(sameBytes(await Deno.readFile(join(local, "p.bin")), payload));
    } finally {
      await Deno.remove(local, { recursive: true });
    }
    assertNoStackTrace(srv);
  });
}
