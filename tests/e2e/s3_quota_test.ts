/**
 * One limited folder, two instances uploading into it at once: the bytes
 * stored never pass the limit (the instances share the figure through a
 * ledger object written by compare-and-swap), and the ledger follows the
 * deletes and renames of either.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startCeph } from "../support/ceph.ts";
import { epsvConnect, RawClient } from "../support/raw.ts";
import { makeBucket, objectBytes, putTree, startS3Server } from "../support/s3_tree.ts";
import { randomBytes } from "../support/server.ts";

const MiB = 1 << 20;
const LIMIT = 10 * MiB;
const md5 = (s: string) => createHash("md5").update(s).digest("hex");

/** Uploads `bytes` as bob to `path` on the instance at `port`; the final reply code. */
async function upload(port: number, path: string, bytes: Uint8Array): Promise<number> {
  using c = await RawClient.open(port);
  await c.login("bob", "pw");
  await c.cmd("TYPE I");
  const data = await epsvConnect(c);
  const r = await c.cmd(`STOR ${path}`);
  if (r.code !== 150) return r.code;
  try {
    for (let at = 0; at < bytes.length; at += 256 * 1024) {
      await data.write(bytes.subarray(at, Math.min(bytes.length, at + 256 * 1024)));
    }
  } catch {
    // refused mid-way: the server closed the data connection
  }
  try {
    data.close();
  } catch {
    // closed by the server
  }
  return (await c.reply(60_000)).code;
}

/** Bytes stored below `prefix`, `.xxftp` not counted. */
async function stored(
  s3: ReturnType<typeof makeBucket> extends Promise<infer C> ? C : never,
  prefix: string,
) {
  let total = 0;
  for await (const e of s3.listAll(prefix)) {
    if (e.type === "object" && !e.key.includes("/.xxftp/")) total += e.size;
  }
  return total;
}

Deno.test("a limited folder shared by two instances is never overfilled", async (t) => {
  await using ceph = await startCeph();
  const s3 = await makeBucket(ceph, "quota");
  await putTree(s3, "", {
    "bob/.xxftp/password": md5("pw"),
    "bob/.xxftp/size": `${LIMIT}\n`,
    "bob/old.bin": randomBytes(MiB),
  });
  await using a = await startS3Server(ceph, "s3://quota");
  await using b = await startS3Server(ceph, "s3://quota");

  await t.step(
    "8 uploads of 3 MiB at once, 4 through each instance, into 9 MiB of room",
    async () => {
      for (let round = 0; round < 3; round++) {
        const codes = await Promise.all(
          Array.from(
            { length: 8 },
            (_, i) => upload(i % 2 ? b.port : a.port, `/r${round}-${i}.bin`, randomBytes(3 * MiB)),
          ),
        );
        const total = await stored(s3, "bob/");
        const ledger = new TextDecoder().decode(await objectBytes(s3, "bob/.xxftp/usage"));
        console.log(
          `round ${round}: stored ${total} under ${LIMIT}; replies ${codes.join(" ")}; ${ledger}`,
        );
        assert.ok(total <= LIMIT, `${total} bytes stored under a limit of ${LIMIT}`);
        assert.ok(
          codes.every((c) => c === 226 || c === 552),
          codes.join(" "),
        );
        for (const [i, code] of codes.entries()) {
          if (code === 226) await s3.deleteObject(`bob/r${round}-${i}.bin`);
        }
        await s3.deleteObject("bob/.xxftp/usage"); // deleted behind the servers' back: walked again
      }
    },
  );

  await t.step("a delete through one instance frees room on the other", async () => {
    assert.equal(await upload(a.port, "/six.bin", randomBytes(6 * MiB)), 226);
    assert.equal(await upload(b.port, "/four.bin", randomBytes(4 * MiB)), 552, "1 + 6 + 4 > 10");
    using c = await RawClient.open(b.port);
    await c.login("bob", "pw");
    assert.equal((await c.cmd("DELE /six.bin")).code, 250);
    assert.equal(await upload(a.port, "/four.bin", randomBytes(4 * MiB)), 226, "1 + 4 <= 10");
    const ledger = JSON.parse(new TextDecoder().decode(await objectBytes(s3, "bob/.xxftp/usage")));
    assert.equal(ledger.used, await stored(s3, "bob/"), "the ledger holds what is stored");
    assert.deepEqual(ledger.claims, {}, "no claim left once every upload ended");
  });
});
