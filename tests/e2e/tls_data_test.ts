/**
 * PROT P data connections are accepted by node:net listeners (Deno's native
 * TLS sends through them; lib/net/node_socket.ts). The rules of Deno's
 * listeners hold for them too: only the client's address gets the
 * connection, a connection made before the command waits for it, PROT C
 * after PASV still works, and a listener ends with its session. Node's
 * basic-ftp, another TLS client than Python's and curl's, goes through them;
 * active mode (PORT), which dials with Deno and keeps the stream wrap, is
 * tried beside them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "basic-ftp";
import { assertNoStackTrace, python, serveTree } from "../support/ftps.ts";
import { randomBytes, sameBytes } from "../support/server.ts";
import { collectingSink } from "../support/sink.ts";

Deno.test("PROT P: a dozen earlier connections from another address are dropped; the client's own gets the file, then stores one", async () => {
  const big = randomBytes(3 << 20);
  const up = randomBytes(2 << 20);
  await using srv = await serveTree({ "bob/big.bin": big });
  await Deno.writeFile(join(srv.root, "up.src"), up);
  const r = await python<Record<string, string | boolean | string[]>>(
    srv,
    `
ftp = login()
host, port = ftp.makepasv()
thieves = [socket.create_connection(("127.0.0.1", port), timeout=10, source_address=("127.0.0.2", 0)) for _ in range(12)]
time.sleep(0.2)
conn = socket.create_connection(("127.0.0.1", port), timeout=10)
ftp.putcmd("RETR big.bin")
out = {"r150": reply(ftp)}
conn = CTX.wrap_socket(conn)
data, clean = read_to_end(conn)
out["same"] = data == disk("big.bin")
out["close_notify"] = clean
out["r226"] = reply(ftp)
def got(sock):
    try:
        return repr(sock.recv(100))
    except OSError as e:
        return type(e).__name__
out["thieves"] = sorted(set(got(t) for t in thieves))
with open(os.path.join(ROOT, "up.src"), "rb") as f:
    out["stor"] = ftp.storbinary("STOR up.bin", f)
out["list"] = "up.bin" in ftp.nlst()
ftp.quit()
print(json.dumps(out))
`,
  );
  assert.match(String(r.r150), /^150 /);
  assert.equal(r.same, true, "the client's connection carries the whole file");
  assert.equal(r.close_notify, true, "the download ends with close_notify");
  assert.match(String(r.r226), /^226 /);
  for (const got of r.thieves as string[]) {
    assert.ok(got === "b''" || got === "ConnectionResetError", `a thief got ${got}`);
  }
  assert.match(String(r.stor), /^226 /);
  assert.equal(r.list, true);
  assert.ok(sameBytes(await Deno.readFile(join(srv.root, "bob/up.bin")), up));
  assertNoStackTrace(srv);
});

Deno.test("PROT C after a PASV in PROT P: the listener's connection carries RETR and STOR in clear text", async () => {
  const file = randomBytes(1 << 20);
  await using srv = await serveTree({ "bob/f.bin": file });
  const r = await python<Record<string, string | boolean>>(
    srv,
    `
ftp = login()
out = {}
host, port = ftp.makepasv()
out["prot_c"] = ftp.sendcmd("PROT C")
conn = socket.create_connection(("127.0.0.1", port), timeout=10)
ftp.putcmd("RETR f.bin")
out["r150"] = reply(ftp)
data, _ = read_to_end(conn)
out["same"] = data == disk("f.bin")
out["r226"] = reply(ftp)
ftp.sendcmd("PROT P")
host, port = ftp.makepasv()
ftp.sendcmd("PROT C")
conn = socket.create_connection(("127.0.0.1", port), timeout=10)
ftp.putcmd("STOR g.bin")
out["s150"] = reply(ftp)
conn.sendall(data)
conn.close()
out["s226"] = reply(ftp)
ftp.quit()
print(json.dumps(out))
`,
  );
  assert.match(String(r.prot_c), /^200 /);
  assert.match(String(r.r150), /^150 /);
  assert.equal(r.same, true);
  assert.match(String(r.r226), /^226 /);
  assert.match(String(r.s150), /^150 /);
  assert.match(String(r.s226), /^226 /);
  assert.ok(sameBytes(await Deno.readFile(join(srv.root, "bob/g.bin")), file));
  assertNoStackTrace(srv);
});

Deno.test("PROT P: a passive listener closes when its session ends, and when ABOR drops it", async () => {
  await using srv = await serveTree({ "bob/f.txt": "x" });
  const r = await python<Record<string, string>>(
    srv,
    `
def refused(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
        return "accepted"
    except ConnectionRefusedError:
        return "refused"

ftp = login()
host, port = ftp.makepasv()
out = {"open": "listening" if refused(port) == "accepted" else "not listening"}
ftp.quit()
time.sleep(0.3)
out["after_quit"] = refused(port)
ftp = login()
host, port = ftp.makepasv()
out["abor"] = ftp.sendcmd("ABOR")
time.sleep(0.3)
out["after_abor"] = refused(port)
ftp.quit()
print(json.dumps(out))
`,
  );
  assert.equal(r.open, "listening");
  assert.equal(r.after_quit, "refused");
  assert.match(r.abor, /^225 /);
  assert.equal(r.after_abor, "refused");
  assertNoStackTrace(srv);
});

Deno.test("PROT P: ABOR while the data connection's handshake is pending sends nothing after it", async () => {
  const size = 64 << 20;
  await using srv = await serveTree({ "bob/big.bin": new Uint8Array(size) });
  const r = await python<Record<string, string | number>>(
    srv,
    `
ftp = login()
host, port = ftp.makepasv()
conn = socket.create_connection(("127.0.0.1", port), timeout=10)
ftp.putcmd("RETR big.bin")
out = {"r150": reply(ftp)}
ftp.putcmd("ABOR")
time.sleep(0.3)
conn = CTX.wrap_socket(conn)  # the handshake ends after the ABOR
data, _ = read_to_end(conn)
out["got"] = len(data)
out["transfer"] = reply(ftp)
out["abor"] = reply(ftp)
out["noop"] = ftp.sendcmd("NOOP")
ftp.quit()
print(json.dumps(out))
`,
  );
  assert.match(String(r.r150), /^150 /);
  assert.equal(r.got, 0, "no byte of the file after the ABOR");
  assert.match(String(r.transfer), /^426 /);
  assert.match(String(r.abor), /^226 /);
  assert.match(String(r.noop), /^200 /);
  assertNoStackTrace(srv);
});

Deno.test("PROT P in active mode (PORT): ftplib stores, lists and retrieves byte-correct", async () => {
  const file = randomBytes(3 << 20);
  await using srv = await serveTree({});
  await Deno.writeFile(join(srv.root, "up.src"), file);
  const r = await python<Record<string, string | boolean>>(
    srv,
    `
ftp = login()
ftp.set_pasv(False)
out = {}
with open(os.path.join(ROOT, "up.src"), "rb") as f:
    out["stor"] = ftp.storbinary("STOR a.bin", f)
out["list"] = " ".join(ftp.nlst())
buf = io.BytesIO()
out["retr"] = ftp.retrbinary("RETR a.bin", buf.write)
out["same"] = buf.getvalue() == disk("a.bin")
ftp.quit()
print(json.dumps(out))
`,
  );
  assert.match(String(r.stor), /^226 /);
  assert.equal(r.list, "a.bin");
  assert.match(String(r.retr), /^226 /);
  assert.equal(r.same, true);
  assert.ok(sameBytes(await Deno.readFile(join(srv.root, "bob/a.bin")), file));
  assertNoStackTrace(srv);
});

Deno.test("basic-ftp (Node) over explicit FTPS: MLSD listing, a 3 MiB upload and download, byte-correct", async () => {
  const big = randomBytes(3 << 20);
  await using srv = await serveTree({ "bob/docs/x.txt": "xx" });
  await Deno.writeFile(join(srv.root, "big.src"), big);
  const client = new Client(15000);
  try {
    await client.access({
      host: "127.0.0.1",
      port: srv.port,
      user: "bob",
      password: "secret",
      secure: true,
      secureOptions: { rejectUnauthorized: false },
    });
    const listed = await client.list("/docs");
    assert.deepEqual(listed.map((f) => [f.name, f.size]), [["x.txt", 2]]);
    await client.uploadFrom(join(srv.root, "big.src"), "/docs/big.bin");
    assert.ok(sameBytes(await Deno.readFile(join(srv.root, "bob/docs/big.bin")), big));
    const got = collectingSink();
    await client.downloadTo(got.sink, "/docs/big.bin");
    assert.ok(sameBytes(got.bytes(), big), "the download is the uploaded file");
  } finally {
    client.close();
  }
  assertNoStackTrace(srv);
});
