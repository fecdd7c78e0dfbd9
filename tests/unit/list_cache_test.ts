/**
 * The listing cache of LocalStorage: a kept listing always equals a fresh
 * reading of the folder, even right after a change made outside (no turn of
 * the event loop in between), and every watcher is closed.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { readFolder } from "../../lib/storage/list_cache.ts";
import { LocalStorage } from "../../lib/storage/local.ts";

type Seen = Map<string, string>;

/** name → what a listing says of it. */
async function listing(storage: LocalStorage, path: string): Promise<Seen> {
  const out: Seen = new Map();
  for await (const batch of storage.list(path)) {
    for (const e of batch) {
      const s = e.stat;
      out.set(e.name, s ? `${s.isDir}:${s.size}:${s.mtime.getTime()}:${s.mode}:${e.link}` : "none");
    }
  }
  return out;
}

async function tree(files: number) {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "xxftp-cache-" }));
  const big = join(root, "big");
  Deno.mkdirSync(big);
  for (let i = 0; i < files; i++) Deno.writeTextFileSync(join(big, `f${i}`), "x");
  Deno.mkdirSync(join(big, "sub"));
  return { root, big, probe: join(root, ".xxftp-watch") };
}

Deno.test("list cache: a kept listing equals a fresh reading after each change made outside", async () => {
  const { root, big, probe } = await tree(1200);
  const cached = new LocalStorage({ listCache: { probeDir: probe } });
  const plain = new LocalStorage();
  try {
    // A second name given before the folder is kept (one given later from outside is not seen).
    Deno.linkSync(join(big, "f2"), join(root, "second-name"));
    await listing(cached, big);
    assert.equal(cached.watchedFolders, 1);
    Deno.symlinkSync(join(big, "f1"), join(big, "ln"));
    const changes: (() => void)[] = [
      () => Deno.writeTextFileSync(join(big, "new"), "nn"),
      () => Deno.removeSync(join(big, "f3")),
      () => Deno.writeTextFileSync(join(big, "f4"), "more", { append: true }),
      () => Deno.truncateSync(join(big, "f4"), 1),
      () => Deno.utimeSync(join(big, "f5"), 1, 1),
      () => Deno.chmodSync(join(big, "f6"), 0o600),
      () => Deno.renameSync(join(big, "f7"), join(root, "out")),
      () => Deno.renameSync(join(root, "out"), join(big, "in")),
      () => Deno.writeTextFileSync(join(big, "sub", "inner"), "i"),
      () => Deno.writeTextFileSync(join(big, "f1"), "through the link"),
      () => Deno.writeTextFileSync(join(root, "second-name"), "through another name"),
      () => {
        Deno.writeTextFileSync(join(big, ".tmp"), "replaced");
        Deno.renameSync(join(big, ".tmp"), join(big, "f8"));
      },
    ];
    for (const [i, change] of changes.entries()) {
      change(); // and list at once: its event has not been read yet
      assert.deepEqual(await listing(cached, big), await listing(plain, big), `change ${i}`);
    }
    assert.equal(cached.watchedFolders, 1);
  } finally {
    await cached.close();
  }
  assert.equal(cached.watchedFolders, 0);
  assert.throws(() => Deno.statSync(probe), Deno.errors.NotFound);
  await Deno.remove(root, { recursive: true });
});

Deno.test("list cache: our own changes show at once; a replaced folder is read again", async () => {
  const { root, big, probe } = await tree(1100);
  const cached = new LocalStorage({ listCache: { probeDir: probe } });
  const plain = new LocalStorage();
  try {
    await listing(cached, big);
    const up = await cached.createUpload(join(big, "up"), 0);
    await up.write(new TextEncoder().encode("uploaded"));
    await up.commit();
    await cached.remove(join(big, "f1"));
    await cached.rename(join(big, "f2"), join(big, "f2b"));
    await cached.mkdir(join(big, "d"));
    await cached.setTime(join(big, "f3"), new Date(5000));
    await cached.chmod(join(big, "f4"), 0o600);
    assert.deepEqual(await listing(cached, big), await listing(plain, big));
    Deno.renameSync(big, join(root, "old"));
    Deno.mkdirSync(big);
    Deno.writeTextFileSync(join(big, "only"), "o");
    assert.deepEqual([...(await listing(cached, big)).keys()], ["only"]);
  } finally {
    await cached.close();
  }
  await Deno.remove(root, { recursive: true });
});

Deno.test("list cache: small folders are not kept, nor more than maxFolders; no probe folder, no cache", async () => {
  const { root, big, probe } = await tree(1000);
  for (const n of ["b2", "b3"]) {
    Deno.mkdirSync(join(root, n));
    for (let i = 0; i < 1000; i++) Deno.writeTextFileSync(join(root, n, `f${i}`), "x");
  }
  Deno.mkdirSync(join(root, "small"));
  Deno.writeTextFileSync(join(root, "small", "a"), "a");
  const cached = new LocalStorage({ listCache: { probeDir: probe, maxFolders: 2 } });
  try {
    await listing(cached, join(root, "small"));
    assert.equal(cached.watchedFolders, 0);
    for (const n of ["big", "b2", "b3", "big", "b2"]) {
      await listing(cached, join(root, n));
      await listing(cached, join(root, n)); // the second listing of a folder keeps it at the latest
      assert.ok(cached.watchedFolders <= 2);
    }
    assert.equal(cached.watchedFolders, 2);
  } finally {
    await cached.close();
  }
  const givenUp = new LocalStorage({ listCache: { probeDir: probe } });
  try {
    for await (const _ of givenUp.list(join(root, "b3"))) break; // a listing given up half way
    assert.equal(givenUp.watchedFolders, 0);
  } finally {
    await givenUp.close();
  }
  Deno.writeTextFileSync(probe, "a file where the probe folder should be");
  const blocked = new LocalStorage({ listCache: { probeDir: probe } });
  try {
    assert.equal((await listing(blocked, big)).size, 1001);
    assert.equal((await listing(blocked, big)).size, 1001);
    assert.equal(blocked.watchedFolders, 0);
  } finally {
    await blocked.close();
  }
  assert.equal(Deno.readTextFileSync(probe), "a file where the probe folder should be");
  await Deno.remove(root, { recursive: true });
});

Deno.test("list cache: a folder over maxFolderEntries streams through, is listed whole and never kept", async () => {
  const { root, big, probe } = await tree(1500);
  const storage = new LocalStorage({ listCache: { probeDir: probe, maxFolderEntries: 1200 } });
  try {
    for (let round = 0; round < 3; round++) {
      assert.equal((await listing(storage, big)).size, 1501);
      assert.equal(storage.watchedFolders, 0);
    }
  } finally {
    await storage.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("list cache: a huge folder's async reading yields what the sync one does", async () => {
  const { root, big } = await tree(2500);
  Deno.symlinkSync("missing", join(big, "dangling"));
  Deno.symlinkSync("f1", join(big, "link"));
  try {
    const read = async (hugeBytes: number) => {
      const out: Seen = new Map();
      for await (const batch of readFolder(big, hugeBytes)) {
        for (const e of batch) {
          const s = e.stat;
          out.set(
            e.name,
            s ? `${s.isDir}:${s.size}:${s.mtime.getTime()}:${s.mode}:${e.link}` : "none",
          );
        }
      }
      return out;
    };
    const sync = await read(Infinity);
    const async = await read(0); // every folder counts as huge: the async readDir
    assert.equal(sync.size, 2503);
    assert.deepEqual(async, sync);
    assert.equal(async.get("dangling"), "none");
    assert.match(async.get("link")!, /:true$/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("list cache: another watch of the process on the root (the banners') leaves a kept listing kept", async () => {
  const { root, big, probe } = await tree(1200);
  const storage = new LocalStorage({ listCache: { probeDir: probe }, root });
  const deno = Deno as unknown as { statSync: typeof Deno.statSync };
  const statSync = deno.statSync;
  let stats = 0;
  try {
    assert.equal(await storage.stat(join(root, "xxftp.welcome")), null); // a banner kept
    await listing(storage, big); // kept; the probe folder made in the root is an event of the root's watch
    await new Promise((r) => setTimeout(r, 100)); // every event has come
    deno.statSync = (path) => {
      stats++;
      return statSync(path);
    };
    await listing(storage, big);
    assert.ok(
      stats < 100,
      `${stats} stats: the kept listing was dropped and the folder read again`,
    );
  } finally {
    deno.statSync = statSync;
    await storage.close();
    await Deno.remove(root, { recursive: true });
  }
});
