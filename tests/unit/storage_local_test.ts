import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../lib/storage/local.ts";
import { StorageError } from "../../lib/storage/storage.ts";
import { storageContract } from "../support/storage_contract.ts";

Deno.test("LocalStorage keeps the storage contract", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "xxftp-storage-" }));
  try {
    await storageContract(new LocalStorage(), base);
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});

Deno.test("LocalStorage: links resolved by realPath, unfinished uploads removed and not counted", async () => {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "xxftp-storage-" }));
  const storage = new LocalStorage();
  try {
    await Deno.mkdir(join(base, "real"));
    await Deno.symlink(join(base, "real"), join(base, "link"));
    assert.equal(await storage.realPath(join(base, "link/new.txt")), join(base, "real/new.txt"));
    const w = await storage.createUpload(join(base, "real/f.bin"), 0);
    await w.write(new Uint8Array(100));
    assert.equal(await storage.usage(base, () => true), 0, "an upload in flight is not counted");
    assert.equal(await storage.removeStaleUploads(base), 1);
    await assert.rejects(w.commit(), (e) => e instanceof StorageError, "its temporary is gone");
    assert.equal(await storage.stat(join(base, "real/f.bin")), null, "nothing published");
  } finally {
    await Deno.remove(base, { recursive: true });
  }
});
