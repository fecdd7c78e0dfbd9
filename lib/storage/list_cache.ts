/**
 * Listings of big local folders kept between LISTs, so that an unchanged
 * folder of thousands of files is listed without a stat per entry (under
 * Deno a stat costs ~4 µs: 40 ms for 10,000 files), and never served stale:
 *
 * - Each kept folder has its own inotify watch (`Deno.watchFs`, not
 *   recursive), set before the folder is read, so that every later change of
 *   an entry arrives as an event naming it.
 * - Events arrive a moment after the change. Before a kept listing is
 *   served, a probe (a folder made in a private probe folder that the same
 *   watcher watches) is made and its event awaited: inotify keeps one ordered
 *   queue per watcher, so every change completed before the probe has then
 *   been seen.
 * - What a watch on a folder cannot see is examined on every listing:
 *   sub-folders (their time changes with their contents), links (their
 *   target may change) and files with several names (changed through another).
 * - The server's own changes mark the folder at once (`changed`).
 *
 * A file given a second name from outside the folder after it was listed,
 * then written through that name, is not seen: no event reaches the folder's
 * watch. Nor are writes through a shared memory mapping, or changes made by
 * another machine on a network file system.
 */
import { setImmediate } from "node:timers";
import { folderWatchSeesAll, statOf } from "./local_stat.ts";
import type { Listed } from "./storage.ts";

/** Entries examined between turns given to other sessions while a folder is listed. */
export const LIST_BATCH = 1024;

/** Lets pending I/O of other sessions run (setTimeout would be clamped to 4 ms when nested). */
export const yieldToOthers = () => new Promise((r) => setImmediate(r));

/** A listed entry as kept: `stable` when a watch on its folder sees all its changes. */
interface Kept extends Listed {
  stable: boolean;
}

/** `path` ending in one slash, ready for a name. */
const slashed = (path: string) => path.endsWith("/") ? path : `${path}/`;

/** One entry examined: its stat (links followed), or null when it vanished or dangles. */
function examine(prefix: string, name: string, link: boolean): Kept {
  try {
    const info = Deno.statSync(prefix + name);
    return { name, stat: statOf(info), link, stable: !link && folderWatchSeesAll(info) };
  } catch {
    return { name, stat: null, link, stable: false };
  }
}

/**
 * A folder file this large (bytes; ~30,000 names on ext4, ~50,000 on tmpfs)
 * is read with the async readDir: Deno hands over a whole folder either way,
 * but for 100,000 names the sync one peaks at +57 MiB, the async one at
 * +13.5 MiB, for 0.15 s more. Smaller folders take the sync one, twice as fast.
 */
const HUGE_FOLDER_BYTES = 1 << 20;

/**
 * Reads a folder and examines each entry, in batches: the way without a
 * cache. Throws Deno's errors. `hugeBytes` is where the async read starts.
 */
export async function* readFolder(
  path: string,
  hugeBytes = HUGE_FOLDER_BYTES,
): AsyncGenerator<Kept[]> {
  const prefix = slashed(path);
  let batch: Kept[] = [];
  /** Adds an entry; true when the batch is full. */
  const take = (e: Deno.DirEntry) =>
    batch.push(examine(prefix, e.name, e.isSymlink)) === LIST_BATCH;
  if (Deno.statSync(path).size >= hugeBytes) {
    for await (const e of Deno.readDir(path)) {
      if (!take(e)) continue;
      yield batch;
      batch = [];
      await yieldToOthers();
    }
  } else {
    for (const e of Deno.readDirSync(path)) {
      if (!take(e)) continue;
      yield batch;
      batch = [];
      await yieldToOthers();
    }
  }
  if (batch.length > 0) yield batch;
}

/** Yields kept entries in batches, examining again those a watch cannot vouch for. */
async function* serve(prefix: string, items: Kept[]): AsyncGenerator<Listed[]> {
  for (let at = 0; at < items.length; at += LIST_BATCH) {
    if (at > 0) await yieldToOthers();
    const batch = items.slice(at, at + LIST_BATCH);
    for (let i = 0; i < batch.length; i++) {
      const e = batch[i];
      if (!e.stable) batch[i] = examine(prefix, e.name, e.link);
    }
    yield batch;
  }
}

/** A watched folder and, once it was read whole, its entries. */
class Watched {
  /** The entries, null while the first reading is under way. Never changed in place. */
  items: Kept[] | null = null;
  /** Names an event or our own change touched since `items` was made. */
  dirty = new Set<string>();
  /** Names may have come or gone: read the folder again. */
  relist = false;
  /** Something beyond single entries changed (the folder itself, a lost event): drop it. */
  broken = false;
  readonly #probes = new Map<string, () => void>();
  readonly #prefix: string;
  readonly #probeDir: string;
  readonly #probePrefix: string;
  /** Settles when the watcher has ended. */
  readonly ended: Promise<void>;

  constructor(
    readonly path: string,
    readonly ino: number | null,
    readonly dev: number,
    private readonly watcher: Deno.FsWatcher,
    probeDir: string,
  ) {
    this.#prefix = slashed(path);
    this.#probeDir = probeDir;
    this.#probePrefix = slashed(probeDir);
    this.ended = this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      for await (const e of this.watcher) this.#apply(e);
    } catch {
      // the watcher failed: nothing it says can be trusted any more
    }
    this.broken = true;
    for (const wake of this.#probes.values()) wake();
  }

  #apply(e: Deno.FsEvent): void {
    // A flag (rescan: the kernel's queue overflowed; Deno gives null for none) or no path: events were lost.
    if (e.flag || e.paths.length === 0) this.broken = true;
    for (const p of e.paths) {
      // Any event naming a probe (a quick mkdir + rmdir can come as two "remove"s) follows its making.
      if (p.startsWith(this.#probePrefix) && !p.includes("/", this.#probePrefix.length)) {
        this.#probes.get(p)?.();
        continue;
      }
      // The probe folder itself, as another watch of the process on its parent saw it (Deno
      // hands every watcher the events under its paths): nothing about this folder.
      if (p === this.#probeDir) continue;
      const child = p.length > this.#prefix.length && p.startsWith(this.#prefix) &&
        !p.includes("/", this.#prefix.length);
      if (!child) {
        this.broken = true;
        continue;
      }
      // The kind is not trusted to tell content from names: a vanished file's events come as "remove".
      this.dirty.add(p.slice(this.#prefix.length));
      this.relist = true;
    }
  }

  /**
   * Makes the probe `name` and waits (at most `timeoutMs`) for its event;
   * true when every change made before this call has been seen.
   */
  async probe(name: string, timeoutMs: number): Promise<boolean> {
    if (this.broken) return false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const seen = new Promise<boolean>((resolve) => {
      this.#probes.set(name, () => resolve(true));
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    try {
      Deno.mkdirSync(name);
    } catch {
      this.#probes.delete(name);
      clearTimeout(timer);
      return false;
    }
    const ok = await seen;
    clearTimeout(timer);
    this.#probes.delete(name);
    try {
      Deno.removeSync(name);
    } catch {
      // removed already: it only had to exist for a moment
    }
    return ok && !this.broken;
  }

  /** The entries with every change seen so far applied (synchronous: no event slips in between). */
  refresh(): Kept[] {
    let items = this.items!;
    const dirty = this.dirty;
    if (this.relist) {
      this.relist = false;
      this.dirty = new Set();
      const old = new Map<string, Kept>();
      for (const e of items) old.set(e.name, e);
      const next: Kept[] = [];
      for (const e of Deno.readDirSync(this.path)) {
        const was = old.get(e.name);
        const keep = was !== undefined && was.stable && !e.isSymlink && !dirty.has(e.name);
        next.push(keep ? was : examine(this.#prefix, e.name, e.isSymlink));
      }
      items = next;
    } else if (dirty.size > 0) {
      this.dirty = new Set();
      items = items.map((e) => dirty.has(e.name) ? examine(this.#prefix, e.name, e.link) : e);
    }
    this.items = items;
    return items;
  }

  close(): void {
    try {
      this.watcher.close();
    } catch {
      // closed already
    }
  }
}

/** Limits of a `ListCache`. */
export interface ListCacheOptions {
  /** Where probes are made: a hidden folder in the served root, made when first needed. */
  probeDir: string;
  /** Folders with fewer entries are not kept (default 1,000). */
  minEntries?: number;
  /** Folders kept at once, each with its own watcher (default 8). */
  maxFolders?: number;
  /** Entries kept in all (default 200,000). */
  maxEntries?: number;
  /**
   * A folder with more entries is not kept (default 50,000), so that listing
   * a huge folder streams in bounded memory rather than keeping it whole.
   */
  maxFolderEntries?: number;
  /** How long to wait for a probe's event before listing the slow way (default 50 ms). */
  probeTimeoutMs?: number;
}

/**
 * A folder this large (st_size, bytes) likely holds `minEntries` or more: it
 * is watched from its first listing on (ext4: ~36 bytes per short name).
 */
const BIG_FOLDER_BYTES = 16 * 1024;

/** Folders remembered as big or small by their last reading. */
const REMEMBERED = 64;

/** The kept listings of the big folders of one local tree. */
export class ListCache {
  readonly #folders = new Map<string, Watched>();
  /** Folders last read with many entries (watched from their next listing on). */
  readonly #big = new Set<string>();
  /** Folders large on disk whose last reading was not kept (too few or too many entries), by their size then. */
  readonly #unkept = new Map<string, number>();
  readonly #tag = crypto.randomUUID().slice(0, 8);
  #probes = 0;
  #closed = false;
  #madeProbeDir = false;
  readonly #min: number;
  readonly #maxFolders: number;
  readonly #maxEntries: number;
  readonly #maxFolderEntries: number;
  readonly #timeoutMs: number;

  constructor(private readonly opts: ListCacheOptions) {
    this.#min = opts.minEntries ?? 1000;
    this.#maxFolders = opts.maxFolders ?? 8;
    this.#maxEntries = opts.maxEntries ?? 200_000;
    this.#maxFolderEntries = Math.min(opts.maxFolderEntries ?? 50_000, this.#maxEntries);
    this.#timeoutMs = opts.probeTimeoutMs ?? 50;
  }

  /** Folders kept or being read under a watch now. */
  get watched(): number {
    return this.#folders.size;
  }

  /** The entries of a folder, in batches; Deno's errors are thrown as they are. */
  async *list(path: string): AsyncGenerator<Listed[]> {
    const key = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
    const info = Deno.statSync(key);
    const kept = this.#folders.get(key);
    if (kept !== undefined) {
      if (kept.items === null) return yield* this.#plain(key); // its first reading is under way
      const items = await this.#fresh(key, kept, info);
      if (items !== null) return yield* serve(slashed(key), items);
    }
    if (!this.#worthWatching(key, info)) return yield* this.#plain(key);
    const watched = this.#watch(key, info);
    if (watched === null) return yield* this.#plain(key);
    const items: Kept[] = [];
    let whole = false;
    let keeping = true;
    try {
      for await (const batch of readFolder(key)) {
        if (keeping) { for (const e of batch) items.push(e); }
        if (keeping && items.length > this.#maxFolderEntries) {
          keeping = false; // too big to keep: the rest streams through
          items.length = 0;
          if (this.#folders.get(key) === watched) this.#drop(key);
          this.#remember(this.#unkept, key, info.size);
        }
        yield batch;
      }
      whole = keeping;
    } finally {
      if (this.#folders.get(key) === watched) {
        if (whole && items.length >= this.#min && items.length <= this.#maxFolderEntries) {
          watched.items = items;
          this.#fit();
        } else {
          this.#drop(key);
          if (whole && items.length < this.#min) this.#remember(this.#unkept, key, info.size);
        }
      }
    }
  }

  /** The kept entries of `key`, brought up to date, or null (then dropped) when they cannot be vouched for. */
  async #fresh(key: string, kept: Watched, info: Deno.FileInfo): Promise<Kept[] | null> {
    const same = info.isDirectory && info.ino === kept.ino && info.dev === kept.dev;
    const probe = `${slashed(this.opts.probeDir)}.${this.#tag}-${++this.#probes}`;
    if (same && await kept.probe(probe, this.#timeoutMs) && this.#folders.get(key) === kept) {
      try {
        const items = kept.refresh();
        this.#folders.delete(key); // most recently used last
        this.#folders.set(key, kept);
        this.#fit();
        if (this.#folders.get(key) === kept) return items;
      } catch {
        // the folder went away while being read again: the slow way says how
      }
    }
    if (this.#folders.get(key) === kept) this.#drop(key);
    return null;
  }

  /** Reads a folder without keeping it, remembering whether it was big. */
  async *#plain(key: string): AsyncGenerator<Listed[]> {
    let count = 0;
    for await (const batch of readFolder(key)) {
      count += batch.length;
      yield batch;
    }
    if (count >= this.#min && count <= this.#maxFolderEntries) this.#remember(this.#big, key);
  }

  #worthWatching(key: string, info: Deno.FileInfo): boolean {
    if (this.#closed || !info.isDirectory) return false;
    if (this.#big.has(key)) return true;
    return info.size >= BIG_FOLDER_BYTES && this.#unkept.get(key) !== info.size;
  }

  #remember(set: Set<string> | Map<string, number>, key: string, size = 0): void {
    set.delete(key);
    if (set instanceof Set) set.add(key);
    else set.set(key, size);
    if (set.size > REMEMBERED) set.delete(set.keys().next().value!);
  }

  /** Starts watching `key` (with the probe folder), or null when a watch cannot be had. */
  #watch(key: string, info: Deno.FileInfo): Watched | null {
    if (!this.#probeDirReady()) return null;
    let watcher: Deno.FsWatcher;
    try {
      watcher = Deno.watchFs([key, this.opts.probeDir], { recursive: false });
    } catch {
      return null; // out of inotify instances or watches: list the slow way
    }
    const watched = new Watched(key, info.ino, info.dev, watcher, this.opts.probeDir);
    this.#folders.set(key, watched);
    this.#fit();
    return watched;
  }

  /** Makes the probe folder when missing; false when there can be none (read-only, a file there). */
  #probeDirReady(): boolean {
    try {
      Deno.mkdirSync(this.opts.probeDir);
    } catch (err) {
      if (!(err instanceof Deno.errors.AlreadyExists)) return false;
      try {
        if (!Deno.lstatSync(this.opts.probeDir).isDirectory) return false; // not ours: left be
      } catch {
        return false;
      }
    }
    this.#madeProbeDir = true;
    return true;
  }

  /** Drops the least recently used folders beyond the limits. */
  #fit(): void {
    let entries = 0;
    for (const w of this.#folders.values()) entries += w.items?.length ?? 0;
    for (const [key, w] of this.#folders) {
      if (this.#folders.size <= this.#maxFolders && entries <= this.#maxEntries) break;
      entries -= w.items?.length ?? 0;
      this.#drop(key);
    }
  }

  #drop(key: string): void {
    this.#folders.get(key)?.close();
    this.#folders.delete(key);
  }

  /**
   * The server changed (or tried to change) the entry at `path`: its folder
   * reads its names again, and kept folders at or below `path` are dropped.
   */
  changed(path: string): void {
    if (this.#folders.size === 0) return;
    const at = path.length > 1 && path.endsWith("/") ? path.slice(0, -1) : path;
    const slash = at.lastIndexOf("/");
    const parent = this.#folders.get(slash <= 0 ? "/" : at.slice(0, slash));
    if (parent !== undefined) {
      parent.dirty.add(at.slice(slash + 1));
      parent.relist = true;
    }
    const below = slashed(at);
    for (const key of [...this.#folders.keys()]) {
      if (key === at || key.startsWith(below)) this.#drop(key);
    }
  }

  /** Closes every watcher and removes the probe folder; later listings are read the slow way. */
  async close(): Promise<void> {
    this.#closed = true;
    const ended = [...this.#folders.values()].map((w) => w.ended);
    for (const key of [...this.#folders.keys()]) this.#drop(key);
    await Promise.all(ended);
    if (!this.#madeProbeDir) return;
    try {
      // Only an empty folder goes: another server on this tree may still be probing in it.
      if (Deno.lstatSync(this.opts.probeDir).isDirectory) Deno.removeSync(this.opts.probeDir);
    } catch {
      // gone already, or another server's probes are in it
    }
  }
}
