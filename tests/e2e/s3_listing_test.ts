/**
 * A folder of 10,000 objects: listed a page at a time as it is consumed, in
 * batches of at most 1,000, and whole through FTP. (The benchmark
 * tests/bench/s3_bench.ts lists 100,000 and measures the server's memory.)
 */
import assert from "node:assert/strict";
import { S3Storage } from "../../lib/storage/s3/storage.ts";
import { startCeph } from "../support/ceph.ts";
import { startFaultProxy } from "../support/fault_proxy.ts";
import { epsvConnect, RawClient, readAll } from "../support/raw.ts";
import { makeBucket, putEmpty, putTree, startS3Server } from "../support/s3_tree.ts";

const COUNT = 10_000;
const MD5_OF_SECRET = "5ebe2294ecd0e0f08eab7690d2a6ee69";

Deno.test(`a folder of ${COUNT} objects is listed a page at a time`, async (t) => {
  await using ceph = await startCeph();
  const s3 = await makeBucket(ceph, "many");
  const names = Array.from({ length: COUNT }, (_, i) => `f${String(i).padStart(6, "0")}`);
  await putTree(s3, "", { "bob/.xxftp/password": MD5_OF_SECRET });
  await putEmpty(s3, names.map((n) => `bob/many/${n}`));

  await t.step("S3Storage.list: batches of at most 1,000, pages fetched as consumed", async () => {
    await using proxy = startFaultProxy(ceph.endpoint);
    const storage = new S3Storage({
      client: ceph.client("many", { endpoint: proxy.endpoint }),
      prefix: "",
    });
    let listed = 0;
    let largest = 0;
    let requestsAtFirst = -1;
    for await (const batch of storage.list("/bob/many")) {
      if (requestsAtFirst < 0) requestsAtFirst = proxy.requests;
      listed += batch.length;
      largest = Math.max(largest, batch.length);
    }
    assert.equal(listed, COUNT);
    assert.ok(largest <= 1000, `a batch of ${largest}`);
    assert.equal(requestsAtFirst, 1, "the first batch came from the first page alone");
    assert.equal(proxy.requests, COUNT / 1000, "one request per page of 1,000");
  });

  await t.step("NLST and MLSD through FTP list every name", async () => {
    await using srv = await startS3Server(ceph, "s3://many");
    using c = await RawClient.open(srv.port);
    assert.equal((await c.login("bob", "secret")).code, 230);
    for (const verb of ["NLST", "MLSD"]) {
      const data = await epsvConnect(c);
      assert.equal((await c.cmd(`${verb} /many`)).code, 150);
      const lines = new TextDecoder().decode(await readAll(data)).trim().split("\r\n");
      assert.equal((await c.reply(60_000)).code, 226);
      assert.equal(lines.length, COUNT, verb);
      const shown = lines.map((l) => l.slice(l.lastIndexOf(verb === "NLST" ? "/" : " ") + 1));
      assert.deepEqual(shown, names, `${verb}: every name, in key order`);
    }
  });
});
