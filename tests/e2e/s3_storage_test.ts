/** S3Storage against a real Ceph RADOS Gateway: the storage contract, then what is S3's own. */
import assert from "node:assert/strict";
import { S3Storage } from "../../lib/storage/s3/storage.ts";
import { StorageError, type StorageErrorKind } from "../../lib/storage/storage.ts";
import { startCeph } from "../support/ceph.ts";
import { randomBytes, sameBytes } from "../support/server.ts";
import { readStored } from "../support/s3_tree.ts";
import { storageContract } from "../support/storage_contract.ts";

const MiB = 1 << 20;

async function upload(storage: S3Storage, path: string, data: Uint8Array, keep = 0) {
  const w = await storage.createUpload(path, keep);
  for (let at = 0; at < data.length; at += 100_000) {
    await w.write(data.subarray(at, Math.min(data.length, at + 100_000)));
  }
  await w.commit();
}

async function rejectsWith(p: Promise<unknown>, kind: StorageErrorKind) {
  await assert.rejects(p, (e) => e instanceof StorageError && e.kind === kind, kind);
}

async function names(storage: S3Storage, path: string): Promise<string[]> {
  const out: string[] = [];
  for await (const batch of storage.list(path)) out.push(...batch.map((e) => e.name));
  return out.sort();
}

Deno.test("S3Storage against Ceph RGW", async (t) => {
  await using ceph = await startCeph();
  const s3 = ceph.client("xxftp-storage");
  await s3.createBucket();
  const storage = new S3Storage({ client: s3, prefix: "tree/" });

  await t.step("keeps the storage contract", async () => {
    await storage.mkdir("/contract");
    await storageContract(storage, "/contract");
  });

  await t.step("the root always exists; a folder is a marker or keys below it", async () => {
    assert.ok((await storage.stat("/"))?.isDir);
    await s3.putObject("tree/implicit/deep/file.txt", "x");
    assert.ok((await storage.stat("/implicit"))?.isDir, "keys below make a folder");
    assert.ok((await storage.stat("/implicit/deep"))?.isDir);
    assert.deepEqual(await names(storage, "/implicit"), ["deep"]);
    await storage.remove("/implicit/deep/file.txt");
    assert.ok((await storage.stat("/implicit/deep"))?.isDir, "a folder stays when emptied");
    await storage.rmdir("/implicit/deep");
    await storage.rmdir("/implicit");
    assert.equal(await storage.stat("/implicit"), null);
    await rejectsWith(storage.mkdir("/no/such"), "not-found");
    await s3.putObject("tree/afile", "x");
    await rejectsWith(storage.mkdir("/afile/sub"), "not-a-folder");
    await rejectsWith(storage.createUpload("/afile/sub.txt", 0), "not-a-folder");
    await rejectsWith(storage.createUpload("/nothing/sub.txt", 0), "not-found");
    await rejectsWith(Array.fromAsync(storage.list("/afile")), "not-a-folder");
    await rejectsWith(Array.fromAsync(storage.list("/nothing")), "not-found");
    await rejectsWith(storage.openRead("/contract", 0), "not-a-file");
    await storage.remove("/afile");
  });

  await t.step(
    "multipart: 20 MiB in parts; keep 6 MiB by copy, keep 1 MiB by reading",
    async () => {
      await storage.mkdir("/big");
      const data = randomBytes(20 * MiB + 123);
      await upload(storage, "/big/a.bin", data);
      assert.equal((await storage.stat("/big/a.bin"))?.size, data.length);
      assert.ok(sameBytes(await readStored(storage, "/big/a.bin"), data));
      assert.ok(
        sameBytes(await readStored(storage, "/big/a.bin", 9 * MiB), data.subarray(9 * MiB)),
      );

      const tail = randomBytes(3 * MiB);
      await upload(storage, "/big/a.bin", tail, 6 * MiB);
      const kept = new Uint8Array(9 * MiB);
      kept.set(data.subarray(0, 6 * MiB));
      kept.set(tail, 6 * MiB);
      assert.ok(sameBytes(await readStored(storage, "/big/a.bin"), kept), "6 MiB copied + 3 MiB");

      await upload(storage, "/big/a.bin", tail.subarray(0, 10), MiB);
      const small = new Uint8Array(MiB + 10);
      small.set(kept.subarray(0, MiB));
      small.set(tail.subarray(0, 10), MiB);
      assert.ok(sameBytes(await readStored(storage, "/big/a.bin"), small), "1 MiB read + 10 bytes");

      const torn = await storage.createUpload("/big/a.bin", 0);
      await torn.write(randomBytes(17 * MiB));
      await torn.abort();
      assert.ok(sameBytes(await readStored(storage, "/big/a.bin"), small), "abort keeps the old");
      assert.deepEqual(await s3.listMultipartUploads("tree/"), [], "no pending upload left");
      const never = await storage.createUpload("/big/new.bin", 0);
      await never.write(randomBytes(9 * MiB));
      await never.abort();
      assert.equal(await storage.stat("/big/new.bin"), null, "a torn upload publishes nothing");
    },
  );

  await t.step("MFMT time kept in metadata, also across a rename", async () => {
    const when = new Date(Date.UTC(2001, 1, 3, 4, 5, 6));
    await upload(storage, "/big/t.txt", new TextEncoder().encode("time"));
    await storage.setTime("/big/t.txt", when);
    assert.equal((await storage.stat("/big/t.txt"))?.mtime.getTime(), when.getTime());
    assert.equal((await s3.headObject("tree/big/t.txt"))?.metadata.mtime, "981173106");
    await storage.rename("/big/t.txt", "/big/u.txt");
    assert.equal((await storage.stat("/big/u.txt"))?.mtime.getTime(), when.getTime());
    await rejectsWith(storage.chmod("/big/u.txt"), "denied");
    assert.equal(storage.capabilities.chmod, false);
  });

  await t.step("a folder moves whole: every key copied, then the old ones deleted", async () => {
    await storage.mkdir("/from");
    await storage.mkdir("/from/sub");
    await upload(storage, "/from/sub/x.txt", new TextEncoder().encode("x"));
    await storage.writeText("/from/.xxftp/permission", "read\n");
    await storage.rename("/from", "/to");
    assert.equal(await storage.stat("/from"), null);
    assert.deepEqual(await names(storage, "/to"), [".xxftp", "sub"]);
    assert.equal((await storage.readText("/to/.xxftp/permission", 100))?.text, "read\n");
    assert.equal(new TextDecoder().decode(await readStored(storage, "/to/sub/x.txt")), "x");
    await rejectsWith(storage.rename("/to", "/big/u.txt"), "not-a-folder");
  });

  await t.step("tree files are cached for the bound, then seen", async () => {
    const cached = new S3Storage({ client: s3, prefix: "tree/", configCacheMs: 300 });
    await storage.writeText("/to/.xxftp/size", "100\n");
    const before = (await cached.stat("/to/.xxftp/size"))?.version;
    await s3.putObject("tree/to/.xxftp/size", "200\n");
    assert.equal((await cached.stat("/to/.xxftp/size"))?.version, before, "within the bound");
    await new Promise((r) => setTimeout(r, 350));
    assert.notEqual((await cached.stat("/to/.xxftp/size"))?.version, before, "after the bound");
  });

  await t.step("stale uploads: only old ones nobody writes to are aborted", async () => {
    const w = await storage.createUpload("/big/live.bin", 0);
    await w.write(randomBytes(17 * MiB)); // one part sent: a multipart upload exists
    await s3.createMultipartUpload("tree/big/orphan.bin");
    const sweeper = new S3Storage({ client: s3, prefix: "tree/", staleUploadMs: 60_000 });
    assert.equal(await sweeper.removeStaleUploads("/"), 0, "young uploads are left alone");
    const eager = new S3Storage({ client: s3, prefix: "tree/", staleUploadMs: 0 });
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await storage.removeStaleUploads("/"), 0, "an instance spares its own");
    assert.equal(await eager.removeStaleUploads("/"), 2, "both, with no age allowed");
    await rejectsWith(w.commit(), "gone");
    await w.abort();
    assert.equal(await storage.stat("/big/live.bin"), null);
  });

  await t.step("keys S3 cannot hold are refused as invalid", async () => {
    const long = "/" + Array.from({ length: 5 }, () => "n".repeat(250)).join("/");
    await rejectsWith(storage.stat(long), "invalid");
  });
});
