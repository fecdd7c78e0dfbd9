/**
 * TYPE A as RFC 959 wants it: LF on disk, CRLF on the wire, both ways; the
 * default until the client sends TYPE I. SIZE and REST > 0 are refused in it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertNoStackTrace, python, serveTree } from "../support/ftps.ts";
import { epsvConnect, RawClient, readAll } from "../support/raw.ts";

const TEXT = "first line\nsecond\r\nlone\rcarriage\n\nlast, no end";
const ON_WIRE = "first line\r\nsecond\r\nlone\rcarriage\r\n\r\nlast, no end";
/** What an upload of ON_WIRE in TYPE A stores. */
const STORED = "first line\nsecond\nlone\rcarriage\n\nlast, no end";

Deno.test("TYPE A on the wire: the default, CRLF out, LF stored, listings not doubled", async () => {
  await using srv = await serveTree({ "bob/text.txt": TEXT, "bob/sub/a.txt": "a" }, false);
  using c = await RawClient.open(srv.port);
  await c.login("bob", "secret");
  const get = async (cmd: string, rest = 0) => {
    const data = await epsvConnect(c);
    if (rest > 0) assert.equal((await c.cmd(`REST ${rest}`)).code, 350);
    assert.equal((await c.cmd(cmd)).code, 150, cmd);
    const bytes = new TextDecoder().decode(await readAll(data));
    assert.equal((await c.reply()).code, 226, cmd);
    return bytes;
  };
  assert.equal(await get("RETR text.txt"), ON_WIRE, "ASCII until TYPE I");
  const list = await get("LIST");
  assert.match(list, /text\.txt\r\n/);
  assert.doesNotMatch(list, /\r\r\n/, "a listing's CRLF is not doubled");
  assert.deepEqual((await get("NLST")).split("\r\n").sort(), ["", "sub", "text.txt"]);

  const put = async (cmd: string, body: string) => {
    const data = await epsvConnect(c);
    assert.equal((await c.cmd(cmd)).code, 150, cmd);
    await data.write(new TextEncoder().encode(body));
    data.close();
    assert.equal((await c.reply()).code, 226, cmd);
  };
  await put("STOR up.txt", ON_WIRE);
  assert.equal(await Deno.readTextFile(join(srv.root, "bob/up.txt")), STORED);
  await put("APPE up.txt", "\r\nmore\r\n");
  assert.equal(await Deno.readTextFile(join(srv.root, "bob/up.txt")), `${STORED}\nmore\n`);

  assert.equal((await c.cmd("SIZE text.txt")).code, 550, "SIZE is refused in TYPE A");
  assert.equal((await c.cmd("REST 5")).code, 501, "REST > 0 is refused in TYPE A");
  assert.equal((await c.cmd("REST 0")).code, 350);
  assert.equal((await c.cmd("TYPE I")).code, 200);
  assert.equal(await get("RETR text.txt"), TEXT, "TYPE I sends the bytes as they are");
  assert.equal((await c.cmd("SIZE text.txt")).text, `213 ${TEXT.length}`);
  assert.equal(await get("RETR text.txt", 6), TEXT.slice(6));
  assertNoStackTrace(srv);
});

for (const tls of [false, true]) {
  Deno.test(`ftplib storlines and retrlines round-trip text in TYPE A${tls ? " under PROT P" : ""}`, async () => {
    await using srv = await serveTree({ "bob/": "" }, tls);
    const r = await python<Record<string, string | string[]>>(
      srv,
      `
ftp = login(tls=${tls ? "True" : "False"})
ftp.storlines("STOR lines.txt", io.BytesIO(b"alpha\\nbeta\\r\\ngamma\\n"))
lines = []
ftp.retrlines("RETR lines.txt", lines.append)
out = {"lines": lines, "type": ftp.sendcmd("TYPE A"), "size": attempt(ftp.sendcmd, "SIZE lines.txt")}
ftp.voidcmd("TYPE I")
buf = io.BytesIO(); ftp.retrbinary("RETR lines.txt", buf.write)
out["binary"] = buf.getvalue().decode()
ftp.quit()
print(json.dumps(out))
`,
    );
    assert.deepEqual(r.lines, ["alpha", "beta", "gamma"]);
    assert.match(String(r.size), /^550 /);
    assert.equal(r.binary, "alpha\nbeta\ngamma\n", "stored with LF");
    assert.equal(await Deno.readTextFile(join(srv.root, "bob/lines.txt")), "alpha\nbeta\ngamma\n");
    assertNoStackTrace(srv);
  });
}
