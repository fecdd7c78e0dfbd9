/**
 * Downloads from a scripted store: a body that breaks off mid-range is resumed, on the same
 * version, without a byte lost or doubled; a store that answers with other bytes than the ones
 * asked for fails the read instead of passing them off.
 */
import assert from "node:assert/strict";
import { S3Client } from "../../lib/storage/s3/client.ts";
import { S3Storage } from "../../lib/storage/s3/storage.ts";
import { StorageError } from "../../lib/storage/storage.ts";

const MiB = 1 << 20;
const SIZE = 40 * MiB + 12345;
const DATA = Uint8Array.from({ length: SIZE }, (_, i) => (i * 7 + (i >> 13)) & 0xff);

interface Asked {
  start: number;
  end: number;
  ifMatch: string | null;
}

/**
 * A store holding DATA: `answer` may change how the `n`th GET is answered (a body cut after
 * some bytes, another offset); ranges otherwise as S3 answers them.
 */
function fakeStore(answer: (n: number, r: Asked) => { cutAfter?: number; from?: number }) {
  const asked: Asked[] = [];
  // A hand-written HTTP/1.1 server, so a body can stop short of its Content-Length.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    for await (const conn of listener) serve(conn).catch(() => {}).finally(() => conn.close());
  })();
  async function serve(conn: Deno.Conn): Promise<void> {
    const buf = new Uint8Array(16 * 1024);
    let head = "";
    for (let i = 0; i < 100 && !head.includes("\r\n\r\n"); i++) {
      const n = await conn.read(buf);
      if (n === null) return;
      head += new TextDecoder().decode(buf.subarray(0, n));
    }
    const m = /\r\nrange: bytes=(\d+)-(\d*)/i.exec(head);
    const start = m ? Number(m[1]) : 0;
    const end = m?.[2] ? Math.min(SIZE, Number(m[2]) + 1) : SIZE;
    const r = { start, end, ifMatch: /\r\nif-match: ([^\r]*)/i.exec(head)?.[1] ?? null };
    asked.push(r);
    const how = answer(asked.length, r);
    const from = how.from ?? start;
    const bytes = DATA.subarray(from, from + end - start);
    await conn.write(new TextEncoder().encode(
      `HTTP/1.1 206 Partial Content\r\ncontent-length: ${bytes.length}\r\n` +
        `content-range: bytes ${from}-${from + bytes.length - 1}/${SIZE}\r\n` +
        `last-modified: Wed, 01 May 2024 10:00:00 GMT\r\netag: "v1"\r\nconnection: close\r\n\r\n`,
    ));
    const body = bytes.subarray(0, how.cutAfter ?? bytes.length);
    for (let at = 0; at < body.length;) at += await conn.write(body.subarray(at));
  }
  const storage = new S3Storage({
    client: new S3Client({
      endpoint: `http://127.0.0.1:${listener.addr.port}`,
      bucket: "b",
      accessKeyId: "AK",
      secretAccessKey: "secret",
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
    }),
    prefix: "",
  });
  return {
    asked,
    storage,
    async [Symbol.asyncDispose]() {
      listener.close();
      await serving.catch(() => {});
    },
  };
}

async function readAll(storage: S3Storage, offset: number): Promise<Uint8Array> {
  const file = await storage.openRead("/f.bin", offset);
  const out = new Uint8Array(SIZE - offset);
  const buf = new Uint8Array(300_000);
  let at = 0;
  try {
    for (let n = await file.read(buf); n !== null; n = await file.read(buf)) {
      assert.ok(at + n <= out.length, "no more bytes than the object has");
      out.set(buf.subarray(0, n), at);
      at += n;
    }
  } finally {
    file.close();
  }
  assert.equal(at, out.length);
  return out;
}

Deno.test("s3 read: bodies that break off mid-range are resumed, byte-identical", async () => {
  // The second and fourth GETs break after 2.5 MiB and 100 KiB.
  const cuts: Record<number, number> = { 2: 2.5 * MiB, 4: 100 * 1024 };
  await using fake = fakeStore((n) => ({ cutAfter: cuts[n] }));
  const got = await readAll(fake.storage, 1000);
  assert.ok(got.every((b, i) => b === DATA[1000 + i]), "byte-identical");
  // Three 16 MiB ranges, two resumed: each from the start of the 1 MiB buffer it was filling.
  assert.equal(fake.asked.length, 5);
  const starts = fake.asked.map((r) => (r.start - 1000) / MiB);
  assert.ok([0, 16, 32].every((s) => starts.includes(s)), `${starts}`);
  assert.ok(starts.every((s) => Number.isInteger(s) && s < 40), `${starts}`);
  assert.ok(fake.asked.slice(1).every((r) => r.ifMatch === '"v1"'), "later ranges If-Match");
});

Deno.test("s3 read: a body that keeps breaking fails the read (unavailable)", async () => {
  await using fake = fakeStore((n) => (n > 1 ? { cutAfter: 10 } : {}));
  await assert.rejects(
    readAll(fake.storage, 0),
    (err) => err instanceof StorageError && err.kind === "unavailable",
  );
});

Deno.test("s3 read: a range answered from another offset is refused, not served", async () => {
  await using fake = fakeStore((n, r) => (n === 3 ? { from: r.start + 1 } : {}));
  await assert.rejects(
    readAll(fake.storage, 0),
    (err) => err instanceof StorageError && err.kind === "unavailable",
  );
});
