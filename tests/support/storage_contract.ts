/**
 * What every `Storage` must do, as one function a test file runs against an
 * implementation: the local folder tree, an object store.
 */
import assert from "node:assert/strict";
import { type Storage, StorageError, type StorageErrorKind } from "../../lib/storage/storage.ts";

const text = (s: string) => new TextEncoder().encode(s);

/** Reads a whole file through the storage. */
export async function readAll(storage: Storage, path: string, offset = 0): Promise<string> {
  const file = await storage.openRead(path, offset);
  const buf = new Uint8Array(7); // small on purpose: many reads
  let out = "";
  try {
    for (let n = await file.read(buf); n !== null; n = await file.read(buf)) {
      out += new TextDecoder().decode(buf.subarray(0, n));
    }
  } finally {
    file.close();
  }
  return out;
}

async function rejectsWith(p: Promise<unknown>, kind: StorageErrorKind, what: string) {
  await assert.rejects(p, (e) => e instanceof StorageError && e.kind === kind, what);
}

/** Writes `content` at `path` through an upload. */
async function put(storage: Storage, path: string, content: string, keep = 0) {
  const w = await storage.createUpload(path, keep);
  await w.write(text(content));
  await w.commit();
}

/** Runs the contract against `storage`, inside the empty folder `base`. */
export async function storageContract(storage: Storage, base: string): Promise<void> {
  const p = (rel: string) => `${base}/${rel}`;
  assert.equal(await storage.stat(p("none")), null, "missing: null");
  await storage.mkdir(p("d"));
  assert.ok((await storage.stat(p("d")))?.isDir);
  await rejectsWith(storage.mkdir(p("d")), "exists", "mkdir twice");

  await put(storage, p("d/f.txt"), "0123456789");
  const st = await storage.stat(p("d/f.txt"));
  assert.ok(st?.isFile && st.size === 10);
  assert.equal(await readAll(storage, p("d/f.txt")), "0123456789");
  assert.equal(await readAll(storage, p("d/f.txt"), 4), "456789", "read from an offset");

  const torn = await storage.createUpload(p("d/f.txt"), 0);
  await torn.write(text("partial"));
  await torn.abort();
  await torn.abort();
  assert.equal(await readAll(storage, p("d/f.txt")), "0123456789", "abort keeps the old file");

  await put(storage, p("d/f.txt"), "ab", 3);
  assert.equal(await readAll(storage, p("d/f.txt")), "012ab", "keep 3, then write");
  await put(storage, p("d/f.txt"), "++", 5);
  assert.equal(await readAll(storage, p("d/f.txt")), "012ab++", "keep all: append");
  const before = (await storage.stat(p("d/f.txt")))?.version;
  await put(storage, p("d/f.txt"), "new content");
  assert.equal(await readAll(storage, p("d/f.txt")), "new content", "replace");
  assert.notEqual((await storage.stat(p("d/f.txt")))?.version, before, "a new version");

  await put(storage, p("d/.hidden"), "h");
  const names: string[] = [];
  for await (const batch of storage.list(p("d"))) names.push(...batch.map((e) => e.name));
  assert.deepEqual(
    names.sort(),
    [".hidden", "f.txt"],
    "list shows hidden names: the core hides them",
  );
  await rejectsWith(storage.rmdir(p("d")), "not-empty", "rmdir of a full folder");
  await rejectsWith(storage.remove(p("d")), "not-a-file", "remove of a folder");
  await rejectsWith(storage.openRead(p("d/none"), 0), "not-found", "read of a missing file");

  const when = new Date(Date.UTC(2020, 0, 2, 3, 4, 5));
  await storage.setTime(p("d/f.txt"), when);
  assert.equal((await storage.stat(p("d/f.txt")))?.mtime.getTime(), when.getTime());

  await storage.rename(p("d/f.txt"), p("g.txt"));
  assert.equal(await storage.stat(p("d/f.txt")), null);
  assert.equal(await readAll(storage, p("g.txt")), "new content");

  await storage.writeText(p("u/.xxftp/password"), "line\n");
  assert.equal((await storage.readText(p("u/.xxftp/password"), 100))?.text, "line\n");
  assert.equal((await storage.readText(p("u/.xxftp/password"), 2))?.text, "li", "bounded");
  assert.equal(await storage.readText(p("u/.xxftp/none"), 100), null);

  const ledger = p("u/.xxftp/usage");
  assert.equal(await storage.writeTextIf(ledger, "1", null), true, "created where none was");
  assert.equal(await storage.writeTextIf(ledger, "2", null), false, "not where one is");
  const seen = await storage.readText(ledger, 100);
  assert.equal(seen?.text, "1");
  assert.equal(await storage.writeTextIf(ledger, "3", seen!.version), true, "same version");
  assert.equal(await storage.writeTextIf(ledger, "4", seen!.version), false, "changed since");
  assert.equal((await storage.readText(ledger, 100))?.text, "3");

  assert.equal(await storage.usage(base, (n) => n !== ".xxftp"), 11 + 1, "g.txt + d/.hidden");
  assert.equal(await storage.realPath(p("d/not/yet")), p("d/not/yet"));

  await storage.remove(p("d/.hidden"));
  await storage.rmdir(p("d"));
  assert.equal(await storage.stat(p("d")), null);
}
