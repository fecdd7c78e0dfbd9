/**
 * Faults as networks produce them: data connections reset or cut off without
 * TLS close_notify while the control connection stays open. Nothing is lost
 * (426, the old file byte-identical, no temporary left) and nothing is logged
 * but one line.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { assertNoStackTrace, python, serveTree } from "../support/ftps.ts";
import { randomBytes, sameBytes } from "../support/server.ts";

type Step = { reply: string; same: boolean; temps: string[]; noop: string };

/**
 * Uploads 300,000 bytes over `old.bin`, ends the data connection with `how`,
 * and reports; and a LIST whose data connection was reset before it was taken.
 */
const FAULT_STEPS = `
def cut_upload(ftp, how):
    before = disk("old.bin")
    conn = ftp.transfercmd("STOR old.bin")
    conn.sendall(b"y" * 300000)
    time.sleep(0.3)
    how(conn)
    r = reply(ftp)
    return {"reply": r, "same": disk("old.bin") == before, "temps": temps(""), "noop": ftp.sendcmd("NOOP")}

def reset_before_list(ftp):
    """LIST whose data connection the client made and reset before the server took it."""
    port = int(ftp.sendcmd("EPSV").split("|||")[1].split("|")[0])
    reset(socket.create_connection(("127.0.0.1", port)))
    time.sleep(0.2)
    ftp.putcmd("LIST")
    r150 = reply(ftp)
    return {"list150": r150, "list": reply(ftp) if r150.startswith("150") else ""}
`;

Deno.test("FTPS upload cut off by a reset or a FIN without close_notify: 426, old file intact", async () => {
  const old = randomBytes(1 << 20);
  await using srv = await serveTree({ "bob/old.bin": old });
  const r = await python<Record<string, Step>>(
    srv,
    FAULT_STEPS + `
ftp = login()
out = {"reset": cut_upload(ftp, reset), "fin": cut_upload(ftp, bare_fin)}
conn = ftp.transfercmd("STOR old.bin")
conn.sendall(b"new")
conn.unwrap().close()
out["proper"] = reply(ftp)
ftp.quit()
print(json.dumps(out))
`,
  );
  for (const how of ["reset", "fin"]) {
    assert.match(r[how].reply, /^426 /, how);
    assert.ok(r[how].same, `${how}: the old file is unchanged`);
    assert.deepEqual(r[how].temps, [], `${how}: no temporary is left`);
    assert.match(r[how].noop, /^200/, `${how}: the control connection goes on`);
  }
  assert.match(String(r.proper), /^226 /, "an upload ended with close_notify is complete");
  assert.equal(await Deno.readTextFile(join(srv.root, "bob/old.bin")), "new");
  await srv.waitFor("TLS stream ended without close_notify");
  assertNoStackTrace(srv);
});

Deno.test("plain FTP: a data connection reset during STOR, RETR or LIST is 426, nothing lost", async () => {
  const old = randomBytes(1 << 20);
  await using srv = await serveTree({
    "bob/old.bin": old,
    "bob/big.bin": new Uint8Array(32 << 20),
  });
  const r = await python<Record<string, Step | string>>(
    srv,
    FAULT_STEPS + `
ftp = login(tls=False)
out = {"stor": cut_upload(ftp, reset)}
conn = ftp.transfercmd("RETR big.bin")
conn.recv(1000)
reset(conn)
out["retr"] = reply(ftp)
out.update(reset_before_list(ftp))
out["noop"] = ftp.sendcmd("NOOP")
ftp.quit()
print(json.dumps(out))
`,
  );
  const stor = r.stor as Step;
  assert.match(stor.reply, /^426 /);
  assert.ok(stor.same, "the old file is unchanged");
  assert.deepEqual(stor.temps, []);
  assert.match(String(r.retr), /^426 /);
  assert.match(String(r.list150), /^150 /);
  assert.match(String(r.list), /^426 /);
  assert.match(String(r.noop), /^200 /);
  assert.ok(sameBytes(await Deno.readFile(join(srv.root, "bob/old.bin")), old));
  await srv.waitFor("connection lost: data connection reset before the transfer");
  assertNoStackTrace(srv);
});

Deno.test("FTPS download reset by the client, or its data connection reset before it was taken: 426", async () => {
  await using srv = await serveTree({ "bob/big.bin": new Uint8Array(32 << 20) });
  const r = await python<Record<string, string>>(
    srv,
    FAULT_STEPS + `
ftp = login()
conn = ftp.transfercmd("RETR big.bin")
conn.recv(1000)
reset(conn)
out = {"retr": reply(ftp), "noop": ftp.sendcmd("NOOP")}
out.update(reset_before_list(ftp))
out["noop2"] = ftp.sendcmd("NOOP")
ftp.quit()
print(json.dumps(out))
`,
  );
  assert.match(r.retr, /^426 /);
  assert.match(r.noop, /^200 /);
  assert.match(r.list150, /^150 /);
  assert.match(
    r.list,
    /^426 /,
    "a data connection reset before the handshake is lost, as in clear text",
  );
  assert.match(r.noop2, /^200 /);
  await srv.waitFor("connection lost:");
  // Deno's node:tls took writes after the reset as delivered: the whole file was "sent".
  assert.match(srv.output(), /download failed: \/big\.bin/);
  assert.doesNotMatch(srv.output(), /sent \/big\.bin/);
  assertNoStackTrace(srv);
});
