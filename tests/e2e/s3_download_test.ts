/**
 * Downloads from an object store: ranged GETs fetched several at once and handed over in order.
 * Byte-identical across parts and from any offset, one version only (a replaced object fails
 * the transfer), and an ABOR or a close drops every request in flight.
 */
import { concatBytes } from "../../lib/storage/bytes.ts";
import assert from "node:assert/strict";
import { S3Storage } from "../../lib/storage/s3/storage.ts";
import { StorageError } from "../../lib/storage/storage.ts";
import { assertNoStackTrace } from "../support/ftps.ts";
import { startCeph } from "../support/ceph.ts";
import { epsvConnect, RawClient, readAll } from "../support/raw.ts";
import { makeBucket, putTree, readStored, startS3Server } from "../support/s3_tree.ts";
import { randomBytes, sameBytes } from "../support/server.ts";

const MiB = 1 << 20;

/** Reads from `conn` until at least `n` bytes came (or it ended). */
async function readAtLeast(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let got = 0;
  const buf = new Uint8Array(256 * 1024);
  while (got < n) {
    const r = await conn.read(buf);
    if (r === null) break;
    chunks.push(buf.slice(0, r));
    got += r;
  }
  return concatBytes(chunks);
}

Deno.test("downloads from an object store: parallel ranges, in order, one version", async (t) => {
  await using ceph = await startCeph();
  const s3 = await makeBucket(ceph, "downloads");
  const storage = new S3Storage({ client: s3, prefix: "" });
  // Two 16 MiB ranges and a short one: more than are fetched at once.
  const big = randomBytes(40 * MiB + 123_457);
  await s3.putObject("big.bin", big);
  await s3.putObject("small.bin", big.subarray(0, 5000));
  await s3.putObject("empty.bin", new Uint8Array(0));

  await t.step("an object of many ranges is byte-identical, whatever the read size", async () => {
    for (const bufBytes of [100_000, MiB, 3 * MiB]) {
      const got = await readStored(storage, "/big.bin", 0, bufBytes);
      assert.ok(sameBytes(got, big), `read ${bufBytes} at a time`);
    }
    assert.ok(sameBytes(await readStored(storage, "/small.bin", 0, MiB), big.subarray(0, 5000)));
    assert.equal((await readStored(storage, "/empty.bin", 0, MiB)).length, 0);
  });

  await t.step("from an offset inside a range, at a range's edge, at the end", async () => {
    const offsets = [3, MiB, 8 * MiB - 1, 16 * MiB - 1, 16 * MiB, 16 * MiB + 12_345, 37 * MiB];
    for (const offset of [...offsets, big.length - 1]) {
      const got = await readStored(storage, "/big.bin", offset, MiB);
      assert.ok(sameBytes(got, big.subarray(offset)), `from ${offset}`);
    }
    assert.equal((await readStored(storage, "/big.bin", big.length, MiB)).length, 0);
    assert.equal((await readStored(storage, "/small.bin", 5000, MiB)).length, 0);
  });

  await t.step("an object replaced mid-way fails as gone, after only old bytes", async () => {
    await s3.putObject("moving.bin", big);
    const file = await storage.openRead("/moving.bin", 0);
    const buf = new Uint8Array(MiB);
    const got: Uint8Array[] = [];
    try {
      const first = await file.read(buf);
      assert.ok(first !== null);
      got.push(buf.slice(0, first));
      await s3.putObject("moving.bin", randomBytes(big.length));
      await assert.rejects(
        async () => {
          for (let n = await file.read(buf); n !== null; n = await file.read(buf)) {
            got.push(buf.slice(0, n));
          }
        },
        (e) => e instanceof StorageError && e.kind === "gone",
      );
    } finally {
      file.close();
    }
    const old = concatBytes(got);
    assert.ok(old.length < big.length, `${old.length} bytes before the failure`);
    assert.ok(sameBytes(old, big.subarray(0, old.length)), "every byte read is the old version's");
  });

  await t.step("closed mid-way: later reads fail, and nothing is left running", async () => {
    const file = await storage.openRead("/big.bin", 0);
    const buf = new Uint8Array(MiB);
    assert.ok((await file.read(buf)) !== null);
    file.close();
    await assert.rejects(file.read(buf), StorageError);
    // The test's op sanitizer fails it if a request of the closed download were still pending.
    await new Promise((r) => setTimeout(r, 200));
  });

  await putTree(s3, "", { "anonymous/": "" });
  await s3.putObject("anonymous/big.bin", big);
  await using srv = await startS3Server(ceph, "s3://downloads");

  await t.step("RETR, REST+RETR mid-range through the server", async () => {
    using c = await RawClient.open(srv.port);
    assert.equal((await c.login()).code, 230);
    await c.cmd("TYPE I");
    for (const offset of [0, 16 * MiB + 777]) {
      const data = await epsvConnect(c);
      assert.equal((await c.cmd(`REST ${offset}`)).code, 350);
      assert.equal((await c.cmd("RETR big.bin")).code, 150);
      const got = await readAll(data);
      assert.equal((await c.reply(60_000)).code, 226);
      assert.equal(got.length, big.length - offset, `from ${offset}`);
      assert.ok(sameBytes(got, big.subarray(offset)), `from ${offset}`);
    }
  });

  await t.step("ABOR mid-way: 426 then 226, and the session goes on", async () => {
    using c = await RawClient.open(srv.port);
    await c.login();
    await c.cmd("TYPE I");
    const data = await epsvConnect(c);
    assert.equal((await c.cmd("RETR big.bin")).code, 150);
    await readAtLeast(data, 2 * MiB);
    assert.equal((await c.cmd("ABOR")).code, 426);
    assert.equal((await c.reply()).code, 226);
    data.close();
    assert.equal((await c.cmd("NOOP")).code, 200);
    const again = await epsvConnect(c);
    assert.equal((await c.cmd("RETR big.bin")).code, 150);
    assert.ok(sameBytes(await readAll(again), big), "a whole download after the ABOR");
    assert.equal((await c.reply(60_000)).code, 226);
  });

  await t.step("the client resets mid-way: the server goes on serving", async () => {
    using c = await RawClient.open(srv.port);
    await c.login();
    await c.cmd("TYPE I");
    const data = await epsvConnect(c);
    assert.equal((await c.cmd("RETR big.bin")).code, 150);
    await readAtLeast(data, MiB);
    data.close();
    assert.equal((await c.reply(60_000)).code, 426);
    assert.equal((await c.cmd("SIZE big.bin")).text, `213 ${big.length}`);
  });

  await t.step("an object replaced mid-RETR: 451, and only the old version's bytes", async () => {
    await s3.putObject("anonymous/moving.bin", big);
    using c = await RawClient.open(srv.port);
    await c.login();
    await c.cmd("TYPE I");
    const data = await epsvConnect(c);
    assert.equal((await c.cmd("RETR moving.bin")).code, 150);
    // Under a range's worth read, so the later ranges are asked for after the replacement.
    const head = await readAtLeast(data, MiB);
    await s3.putObject("anonymous/moving.bin", randomBytes(big.length));
    const got = concatBytes([head, await readAll(data)]);
    const end = await c.reply(60_000);
    assert.equal(end.code, 451, end.text);
    assert.ok(got.length < big.length, `${got.length} bytes sent`);
    assert.ok(sameBytes(got, big.subarray(0, got.length)), "no byte of the new version");
    assert.equal((await c.cmd("NOOP")).code, 200);
  });
  assertNoStackTrace(srv);
});
