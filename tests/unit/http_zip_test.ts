/** The streaming ZIP writer, checked by two independent readers: Python's zipfile and unzip -t. */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { ReadHandle } from "../../lib/storage/storage.ts";
import {
  crc32,
  dosDateTime,
  TooManyEntries,
  zipChunks,
  type ZipEntry,
  type ZipOptions,
} from "../../lib/http/zip.ts";
import { randomBytes, run } from "../support/server.ts";

/** A read handle over bytes, handing out at most `step` bytes per read. */
function handleOf(bytes: Uint8Array, step = 7000): ReadHandle {
  let at = 0;
  return {
    read(buf) {
      if (at >= bytes.length) return Promise.resolve(null);
      const n = Math.min(buf.length, step, bytes.length - at);
      buf.set(bytes.subarray(at, at + n));
      at += n;
      return Promise.resolve(n);
    },
    close() {},
  };
}

const when = new Date("2024-05-06T07:08:10Z");

function file(name: string, bytes: Uint8Array, size = bytes.length): ZipEntry {
  return { name, dir: false, mtime: when, size, open: () => Promise.resolve(handleOf(bytes)) };
}

function folder(name: string): ZipEntry {
  return { name, dir: true, mtime: when, size: 0, open: () => Promise.reject(new Error("folder")) };
}

async function* each<T>(items: Iterable<T>): AsyncGenerator<T> {
  yield* items;
}

/** Writes the archive of `entries` to a temp file; its path. */
async function writeZip(entries: Iterable<ZipEntry>, opts: ZipOptions = {}): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "xxftp-zip-" });
  const path = join(dir, "out.zip");
  const chunks: Uint8Array[] = [];
  for await (const chunk of zipChunks(each(entries), opts)) chunks.push(chunk);
  await Deno.writeFile(path, ReadableStream.from(chunks));
  return path;
}

/** What Python's zipfile reads back: names, sizes, CRCs, dates, and whether every CRC checks. */
async function pythonRead(path: string) {
  const script = `
import json, sys, zipfile, hashlib
z = zipfile.ZipFile(sys.argv[1])
bad = z.testzip()
out = {"bad": bad, "entries": []}
for i in z.infolist():
    data = z.read(i)
    out["entries"].append({"name": i.filename, "size": i.file_size, "dir": i.is_dir(),
      "sha": hashlib.sha256(data).hexdigest(), "date": list(i.date_time)})
print(json.dumps(out))
`;
  const r = await run("python3", ["-c", script, path]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as {
    bad: string | null;
    entries: { name: string; size: number; dir: boolean; sha: string; date: number[] }[];
  };
}

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes)));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function unzipTest(path: string) {
  const r = await run("unzip", ["-t", path]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /No errors detected/);
}

Deno.test("CRC-32 matches the check value, in one piece or many", () => {
  const text = new TextEncoder().encode("123456789");
  assert.equal(crc32(text), 0xcbf43926);
  assert.equal(crc32(text.subarray(4), crc32(text.subarray(0, 4))), 0xcbf43926);
  const data = randomBytes(100_003);
  assert.equal(crc32(data.subarray(50_001), crc32(data.subarray(0, 50_001))), crc32(data));
  assert.equal(crc32(new Uint8Array(0)), 0);
});

Deno.test("MS-DOS times: two-second steps, clamped to 1980..2107", () => {
  assert.deepEqual(dosDateTime(when), {
    date: (44 << 9) | (5 << 5) | 6,
    time: (7 << 11) | (8 << 5) | 5,
  });
  assert.deepEqual(dosDateTime(new Date("1970-01-01T00:00:00Z")), { date: 0x21, time: 0 });
  assert.deepEqual(dosDateTime(new Date("2200-01-01T00:00:00Z")), { date: 0xff9f, time: 0 });
});

for (const forceZip64 of [false, true]) {
  Deno.test(`an archive of folders, empty and binary files and UTF-8 names reads back whole (zip64 ${forceZip64 ? "forced" : "as needed"})`, async () => {
    const big = randomBytes(300_001);
    const small = new TextEncoder().encode("hello\n");
    const path = await writeZip([
      folder("top"),
      file("top/hello.txt", small),
      file("top/empty", new Uint8Array(0)),
      folder("top/日本語 dir"),
      file("top/日本語 dir/été.bin", big),
    ], { forceZip64 });
    const got = await pythonRead(path);
    assert.equal(got.bad, null);
    assert.deepEqual(got.entries.map((e) => [e.name, e.size, e.dir]), [
      ["top/", 0, true],
      ["top/hello.txt", 6, false],
      ["top/empty", 0, false],
      ["top/日本語 dir/", 0, true],
      ["top/日本語 dir/été.bin", big.length, false],
    ]);
    assert.equal(got.entries[1].sha, await sha256(small));
    assert.equal(got.entries[4].sha, await sha256(big));
    assert.deepEqual(got.entries[1].date, [2024, 5, 6, 7, 8, 10]);
    await unzipTest(path);
    await Deno.remove(join(path, ".."), { recursive: true });
  });
}

Deno.test("an empty archive is valid", async () => {
  const path = await writeZip([]);
  const got = await pythonRead(path);
  assert.deepEqual(got, { bad: null, entries: [] });
  await Deno.remove(join(path, ".."), { recursive: true });
});

Deno.test("more than 65 535 entries: the zip64 end records carry the count", async () => {
  const n = 70_000;
  const entries = function* () {
    for (let i = 0; i < n; i++) yield file(`f${i}`, new Uint8Array([i & 255]));
  };
  const path = await writeZip(entries());
  const r = await run("python3", [
    "-c",
    "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); print(len(z.infolist()), z.testzip(), z.read('f69999')[0])",
    path,
  ]);
  assert.equal(r.stdout.trim(), `${n} None ${69_999 & 255}`, r.stderr);
  await unzipTest(path);
  await Deno.remove(join(path, ".."), { recursive: true });
});

Deno.test("a file that shrank or grew while zipped: the archive records what was sent, never more than announced", async () => {
  const data = randomBytes(10_000);
  const path = await writeZip([
    file("shrank", data.subarray(0, 4000), 10_000),
    file("grew", data, 6000),
  ]);
  const got = await pythonRead(path);
  assert.equal(got.bad, null);
  assert.deepEqual(got.entries.map((e) => [e.name, e.size]), [["shrank", 4000], ["grew", 6000]]);
  assert.equal(got.entries[1].sha, await sha256(data.subarray(0, 6000)));
  await Deno.remove(join(path, ".."), { recursive: true });
});

Deno.test("an archive past its entry limit stops with an error instead of growing its directory", async () => {
  const chunks = zipChunks(each([file("a", new Uint8Array(1)), file("b", new Uint8Array(1))]), {
    maxEntries: 1,
  });
  await assert.rejects(async () => {
    for await (const _ of chunks) { /* drain */ }
  }, TooManyEntries);
});
