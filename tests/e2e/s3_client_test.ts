/** The S3 client against a real Ceph RADOS Gateway (one cluster for the whole file). */
import { concatBytes } from "../../lib/storage/bytes.ts";
import assert from "node:assert/strict";
import { type S3Client, S3Error, type S3ErrorKind } from "../../lib/storage/s3/client.ts";
import { startCeph } from "../support/ceph.ts";
import { randomBytes, sameBytes } from "../support/server.ts";

const MiB = 1 << 20;

async function bytesOf(stream: ReadableStream<Uint8Array>): Promise<Uint8Array> {
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function read(s3: S3Client, key: string, offset?: number, length?: number) {
  return bytesOf((await s3.getObject(key, { offset, length })).body.stream());
}

async function rejectsWith(p: Promise<unknown>, kind: S3ErrorKind, code?: string) {
  await assert.rejects(p, (err) => {
    assert.ok(err instanceof S3Error, String(err));
    assert.equal(err.kind, kind, err.message);
    if (code) assert.equal(err.code, code, err.message);
    return true;
  });
}

Deno.test("S3 client against Ceph RGW", async (t) => {
  await using ceph = await startCeph();
  const s3 = ceph.client("xxftp-test");
  await s3.createBucket();
  // Like AWS in us-east-1, RGW answers 200 when the owner creates its bucket again.
  await s3.createBucket();

  await t.step("put, get, ranges, head with metadata, missing keys", async () => {
    const data = randomBytes(MiB + 17);
    const etag = await s3.putObject("obj/data.bin", data, {
      metadata: { mtime: "20240102030405" },
    });
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    assert.ok(sameBytes(await read(s3, "obj/data.bin"), data));
    assert.ok(sameBytes(await read(s3, "obj/data.bin", 1000), data.subarray(1000)));
    assert.ok(sameBytes(await read(s3, "obj/data.bin", 5, 10), data.subarray(5, 15)));
    const ranged = await s3.getObject("obj/data.bin", { offset: 100 });
    assert.equal(ranged.size, data.length, "size is the whole object's, not the range's");
    await ranged.body.cancel();
    assert.equal((await read(s3, "obj/data.bin", data.length)).length, 0, "offset at EOF: empty");
    await rejectsWith(s3.getObject("obj/data.bin", { offset: data.length + 1 }), "invalid");
    const info = await s3.headObject("obj/data.bin");
    assert.equal(info?.size, data.length);
    assert.equal(info?.etag, etag);
    assert.deepEqual(info?.metadata, { mtime: "20240102030405" });
    assert.ok(Math.abs((info?.lastModified.getTime() ?? 0) - Date.now()) < 600_000);
    assert.equal(await s3.headObject("obj/missing"), null);
    await rejectsWith(s3.getObject("obj/missing"), "not-found", "NoSuchKey");
    await s3.putObject("obj/empty", new Uint8Array(0));
    assert.equal((await read(s3, "obj/empty")).length, 0);
    assert.equal((await s3.headObject("obj/empty"))?.size, 0);
  });

  await t.step("a non-ASCII key with spaces and URL-special characters", async () => {
    const key = "dir with space/Grüße 日本 + & = ? # % ; , ' ~ 😀.txt";
    await s3.putObject(key, "unicode");
    assert.equal(new TextDecoder().decode(await read(s3, key)), "unicode");
    assert.equal((await s3.headObject(key))?.size, 7);
    const listed = await Array.fromAsync(s3.listAll("dir with space/", "/"));
    assert.deepEqual(listed.map((e) => e.key), [key]);
    await s3.copyObject(key, `${key}.copy`);
    assert.equal(new TextDecoder().decode(await read(s3, `${key}.copy`)), "unicode");
    await s3.deleteObject(key);
    await s3.deleteObject(`${key}.copy`);
    assert.equal(await s3.headObject(key), null);
    await rejectsWith(s3.putObject("a/../b", "x"), "invalid");
  });

  await t.step("listing pages: maxKeys 2 over 5 keys and 2 folders, with a delimiter", async () => {
    const keys = ["ls/a", "ls/b", "ls/c", "ls/d", "ls/e", "ls/f/x", "ls/f/y", "ls/g/z"];
    for (const key of keys) await s3.putObject(key, key);
    const first = await s3.listObjectsV2("ls/", { delimiter: "/", maxKeys: 2 });
    assert.equal(first.objects.length + first.prefixes.length, 2);
    assert.ok(first.nextToken);
    const pages = [];
    let token: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await s3.listObjectsV2("ls/", {
        delimiter: "/",
        maxKeys: 2,
        continuationToken: token,
      });
      pages.push(page);
      assert.ok(page.objects.length + page.prefixes.length <= 2);
      token = page.nextToken;
      if (!token) break;
    }
    assert.equal(token, undefined, "the listing ended");
    assert.deepEqual(pages.flatMap((p) => p.objects.map((o) => o.key)), keys.slice(0, 5));
    assert.deepEqual(pages.flatMap((p) => p.prefixes), ["ls/f/", "ls/g/"]);
    const all = await Array.fromAsync(s3.listAll("ls/", "/", 2));
    assert.deepEqual(all.map((e) => `${e.type}:${e.key}`), [
      "object:ls/a",
      "object:ls/b",
      "object:ls/c",
      "object:ls/d",
      "object:ls/e",
      "prefix:ls/f/",
      "prefix:ls/g/",
    ]);
    const flat = await Array.fromAsync(s3.listAll("ls/", undefined, 3));
    assert.deepEqual(flat.map((e) => e.key), keys);
    const a = all[0];
    assert.ok(a.type === "object" && a.size === 4 && a.etag.startsWith('"'));
    assert.deepEqual(await Array.fromAsync(s3.listAll("nothing-here/", "/")), []);
  });

  await t.step("multipart: UploadPartCopy composes an existing object and new bytes", async () => {
    const old = randomBytes(6 * MiB + 3);
    const extra = randomBytes(MiB + 5);
    await s3.putObject("mp/old.bin", old);
    // APPE: the whole old object as part 1, the new bytes as part 2.
    const id = await s3.createMultipartUpload("mp/appended.bin", { mtime: "1" });
    const p1 = await s3.uploadPartCopy("mp/appended.bin", id, 1, "mp/old.bin");
    const p2 = await s3.uploadPart("mp/appended.bin", id, 2, extra);
    await s3.completeMultipartUpload("mp/appended.bin", id, [
      { partNumber: 2, etag: p2 },
      { partNumber: 1, etag: p1 },
    ]);
    assert.match((await s3.headObject("mp/appended.bin"))?.etag ?? "", /-2"$/);
    assert.ok(sameBytes(await read(s3, "mp/appended.bin"), concatBytes([old, extra])));
    assert.deepEqual((await s3.headObject("mp/appended.bin"))?.metadata, { mtime: "1" });
    // REST STOR at 5 MiB: a range of the old object, then the new bytes.
    const cut = 5 * MiB;
    const id2 = await s3.createMultipartUpload("mp/resumed.bin");
    const q1 = await s3.uploadPartCopy("mp/resumed.bin", id2, 1, "mp/old.bin", {
      offset: 0,
      length: cut,
    });
    const q2 = await s3.uploadPart("mp/resumed.bin", id2, 2, extra);
    await s3.completeMultipartUpload("mp/resumed.bin", id2, [{ partNumber: 1, etag: q1 }, {
      partNumber: 2,
      etag: q2,
    }]);
    assert.ok(
      sameBytes(await read(s3, "mp/resumed.bin"), concatBytes([old.subarray(0, cut), extra])),
    );
    // A part under 5 MiB that is not the last one is refused when completing.
    const id3 = await s3.createMultipartUpload("mp/small.bin");
    const r1 = await s3.uploadPart("mp/small.bin", id3, 1, randomBytes(1000));
    const r2 = await s3.uploadPart("mp/small.bin", id3, 2, randomBytes(1000));
    await rejectsWith(
      s3.completeMultipartUpload("mp/small.bin", id3, [{ partNumber: 1, etag: r1 }, {
        partNumber: 2,
        etag: r2,
      }]),
      "invalid",
      "EntityTooSmall",
    );
    await s3.abortMultipartUpload("mp/small.bin", id3);
    assert.deepEqual(await s3.listMultipartUploads("mp/"), []);
  });

  await t.step("abort leaves no object and no pending multipart upload", async () => {
    const id = await s3.createMultipartUpload("ab/torn.bin");
    await s3.uploadPart("ab/torn.bin", id, 1, randomBytes(5 * MiB));
    const pending = await s3.listMultipartUploads("ab/");
    assert.deepEqual(pending.map((u) => [u.key, u.uploadId]), [["ab/torn.bin", id]]);
    await s3.abortMultipartUpload("ab/torn.bin", id);
    assert.deepEqual(await s3.listMultipartUploads("ab/"), []);
    assert.equal(await s3.headObject("ab/torn.bin"), null);
    await rejectsWith(s3.uploadPart("ab/torn.bin", id, 2, randomBytes(10)), "gone", "NoSuchUpload");
    await rejectsWith(s3.abortMultipartUpload("ab/torn.bin", id), "gone", "NoSuchUpload");
  });

  await t.step("conditional writes: If-None-Match: * and If-Match", async () => {
    const first = await s3.putObject("lease", "owner-1", { ifNoneMatch: "*" });
    await rejectsWith(
      s3.putObject("lease", "owner-2", { ifNoneMatch: "*" }),
      "exists",
      "PreconditionFailed",
    );
    const second = await s3.putObject("lease", "owner-1 renewed", { ifMatch: first });
    await rejectsWith(
      s3.putObject("lease", "owner-2", { ifMatch: first }),
      "gone",
      "PreconditionFailed",
    );
    assert.equal(new TextDecoder().decode(await read(s3, "lease")), "owner-1 renewed");
    assert.equal((await s3.headObject("lease"))?.etag, second);
    // Racing creators: exactly one wins.
    const racers = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) => s3.putObject("race", `racer ${i}`, { ifNoneMatch: "*" })),
    );
    const won = racers.filter((r) => r.status === "fulfilled");
    assert.equal(won.length, 1, JSON.stringify(racers.map((r) => r.status)));
    for (const r of racers) {
      if (r.status === "rejected") assert.equal((r.reason as S3Error).kind, "exists");
    }
  });

  await t.step("copy keeps or replaces metadata; deletes, single and batched", async () => {
    await s3.putObject("cp/src", "source", { metadata: { a: "1" } });
    await s3.copyObject("cp/src", "cp/kept");
    assert.deepEqual((await s3.headObject("cp/kept"))?.metadata, { a: "1" });
    await s3.copyObject("cp/src", "cp/replaced", { metadata: { b: "2" }, replaceMetadata: true });
    assert.deepEqual((await s3.headObject("cp/replaced"))?.metadata, { b: "2" });
    await rejectsWith(s3.copyObject("cp/missing", "cp/x"), "not-found");
    await s3.deleteObject("cp/never-existed");
    const failed = await s3.deleteObjects(["cp/src", "cp/kept", "cp/replaced", "cp/absent"]);
    assert.deepEqual(failed, []);
    assert.deepEqual(await Array.fromAsync(s3.listAll("cp/")), []);
  });

  await t.step(
    "errors map to kinds: bad secret, missing bucket, store quota, closed port",
    async () => {
      await rejectsWith(
        ceph.client("xxftp-test", { secretAccessKey: "wrong" }).headObject("lease"),
        "denied",
      );
      await rejectsWith(
        ceph.client("xxftp-test", { secretAccessKey: "wrong" }).getObject("lease"),
        "denied",
        "SignatureDoesNotMatch",
      );
      await rejectsWith(ceph.client("no-such-bucket").getObject("k"), "not-found", "NoSuchBucket");
      const quota = ceph.client("xxftp-quota");
      await quota.createBucket();
      await ceph.admin(
        "quota",
        "set",
        "--quota-scope=bucket",
        "--bucket=xxftp-quota",
        "--max-size=100000",
      );
      await ceph.admin("quota", "enable", "--quota-scope=bucket", "--bucket=xxftp-quota");
      await quota.putObject("fits", randomBytes(60_000));
      await rejectsWith(
        quota.putObject("too-much", randomBytes(60_000)),
        "no-space",
        "QuotaExceeded",
      );
      const closed = ceph.client("xxftp-test", {
        endpoint: `http://127.0.0.1:${closedPort()}`,
        retry: { attempts: 2, baseDelayMs: 10 },
      });
      await rejectsWith(closed.headObject("lease"), "unavailable", "NetworkError");
    },
  );
});

function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}
