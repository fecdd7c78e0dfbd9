/**
 * The local folder tree as a `Storage`: the only module that calls Deno's
 * file API. Metadata calls are synchronous: on a local disk they take
 * microseconds, where each async call costs about 30 µs of thread hand-off.
 * File data moves with async reads and writes, except for small files.
 * Uploads go to a hidden temporary beside the target, renamed over it on
 * commit, so a file is never torn.
 */
import { Absences } from "./absences.ts";
import { dirname, join } from "node:path";
import {
  LIST_BATCH,
  ListCache,
  type ListCacheOptions,
  readFolder,
  yieldToOthers,
} from "./list_cache.ts";
import { folderWatchSeesAll, statOf } from "./local_stat.ts";
import { WatchedNames } from "./watched_names.ts";
import {
  BANNER_FILES,
  type Listed,
  type ReadHandle,
  type Stat,
  type Storage,
  StorageError,
  type UploadWriter,
} from "./storage.ts";

/** Name prefix of upload temporaries (hidden: a leading dot). */
export const UPLOAD_TEMP_PREFIX = ".xxftp-part-";

/**
 * The hidden folder in the served root where the listing cache makes its
 * probes (list_cache.ts); removed when the server stops.
 */
export const LIST_PROBE_DIR = ".xxftp-watch";

/** Whether a file name is one of our upload temporaries. */
export function isUploadTemp(name: string): boolean {
  return name.startsWith(UPLOAD_TEMP_PREFIX);
}

/**
 * A file is read synchronously while the page cache answers: a 1 MiB chunk in
 * about 0.1 ms, on the thread that then sends it, with no hand-off to a
 * blocking thread per chunk (a download's event loop sat idle 78% of the
 * time). A read slower than this came from the disk, and the rest of the file
 * is read off the event loop.
 */
const SLOW_READ_MS = 2;

/** The storage error for a Deno error, or the error itself when it is not a storage matter. */
export function storageError(err: unknown, path: string): unknown {
  if (err instanceof StorageError) return err;
  const at = `${path}: ${(err as Error)?.message ?? err}`;
  if (err instanceof Deno.errors.NotFound) return new StorageError("not-found", at);
  if (err instanceof Deno.errors.FilesystemLoop) return new StorageError("not-found", at); // a link cycle leads nowhere
  if (err instanceof Deno.errors.AlreadyExists) return new StorageError("exists", at);
  if (err instanceof Deno.errors.NotADirectory) return new StorageError("not-a-folder", at);
  if (err instanceof Deno.errors.IsADirectory) return new StorageError("not-a-file", at);
  if (err instanceof Deno.errors.NotCapable) {
    return new StorageError("denied", `refused by Deno's sandbox: ${at}`);
  }
  if (err instanceof Deno.errors.PermissionDenied) {
    return new StorageError("denied", `refused by the file system: ${at}`);
  }
  const code = (err as { code?: string })?.code;
  if (code === "ENOTEMPTY") return new StorageError("not-empty", at);
  if (code === "ENOSPC" || code === "EDQUOT") return new StorageError("no-space", at);
  return err;
}

/** Runs a synchronous file call now; its result or its storage error as a promise. */
function now<T>(path: string, call: () => T): Promise<T> {
  try {
    return Promise.resolve(call());
  } catch (err) {
    return Promise.reject(storageError(err, path));
  }
}

/** Deno's errors that only mean "nothing there". */
const ABSENT = [Deno.errors.NotFound, Deno.errors.NotADirectory, Deno.errors.FilesystemLoop];

/** Whether a Deno error only means "nothing there". */
const isDenoAbsence = (err: unknown) => ABSENT.some((kind) => err instanceof kind);

/** A banner's stat, kept while the root's watch reports no change (see watched_names.ts). */
function bannerStat(banners: WatchedNames<Stat | null>, path: string): Stat | null {
  const kept = banners.get(path);
  if (kept !== undefined) return kept;
  let info: Deno.FileInfo;
  try {
    info = Deno.lstatSync(path);
  } catch (err) {
    if (!isDenoAbsence(err)) throw err;
    banners.keep(path, null);
    return null;
  }
  if (folderWatchSeesAll(info)) {
    const stat = statOf(info);
    banners.keep(path, stat);
    return stat;
  }
  try {
    return statOf(Deno.statSync(path)); // a link, a folder or a file with other names: live
  } catch (err) {
    if (isDenoAbsence(err)) return null;
    throw err;
  }
}

/** A storage error that only means "nothing there". */
const isAbsence = (e: unknown) =>
  e instanceof StorageError && (e.kind === "not-found" || e.kind === "not-a-folder");

/** The real path of `path`, or of its deepest existing ancestor with the rest appended. */
function realPathOfNearest(path: string): string {
  let rest = "";
  let current = path;
  for (let depth = 0; depth < 4096; depth++) {
    try {
      const real = Deno.realPathSync(current);
      return rest === "" ? real : join(real, rest);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw storageError(err, path);
      const parent = dirname(current);
      if (parent === current) break;
      const name = current.slice(parent.length + 1);
      rest = rest === "" ? name : join(name, rest);
      current = parent;
    }
  }
  return path;
}

/** Yields every regular file below `root` (links not followed, folders failing `enter` skipped). */
function* filesBelow(root: string, enter: (name: string) => boolean) {
  const pending = [root];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    let entries: Deno.DirEntry[];
    try {
      entries = [...Deno.readDirSync(dir)];
    } catch {
      continue; // unreadable or vanished: nothing to count
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory && enter(e.name)) pending.push(path);
      else if (e.isFile) yield { path, name: e.name };
    }
  }
}

class LocalUpload implements UploadWriter {
  #done = false;

  constructor(
    private readonly file: Deno.FsFile,
    private readonly temp: string,
    private readonly target: string,
    private readonly changed: (path: string) => void,
  ) {}

  /**
   * Synchronous: a write into the page cache takes microseconds, where an
   * async write per chunk costs a thread hand-off, and many small chunks (an
   * HTTP body of unknown length) made uploads ten times slower.
   */
  write(chunk: Uint8Array): Promise<void> {
    return now(this.target, () => {
      let off = this.file.writeSync(chunk);
      while (off < chunk.length) off += this.file.writeSync(chunk.subarray(off));
    });
  }

  commit(): Promise<void> {
    this.#done = true;
    this.file.close();
    try {
      Deno.renameSync(this.temp, this.target);
    } catch (err) {
      this.#discard();
      return Promise.reject(storageError(err, this.target));
    } finally {
      this.changed(this.target);
    }
    return Promise.resolve();
  }

  abort(): Promise<void> {
    if (this.#done) return Promise.resolve();
    this.#done = true;
    this.file.close();
    this.#discard();
    return Promise.resolve();
  }

  #discard(): void {
    try {
      Deno.removeSync(this.temp);
    } catch {
      // already gone: nothing left to discard
    }
    this.changed(this.temp);
  }
}

/** How a `LocalStorage` works. */
export interface LocalStorageOptions {
  /** Keep the listings of big folders, fresh by watching them (see list_cache.ts); absent: none kept. */
  listCache?: ListCacheOptions;
  /** The served root, whose banners' stats are kept while a watch sees no change (watched_names.ts). */
  root?: string;
}

/** A local folder tree. */
export class LocalStorage implements Storage {
  readonly capabilities = { chmod: true, shared: false };
  readonly #cache: ListCache | null;
  /** Tells the listing cache that the entry at a path was changed by us. */
  readonly #changed: (path: string) => void;

  /** The root's banners, kept while unchanged. */
  readonly #banners: WatchedNames<Stat | null> | null;

  constructor(opts: LocalStorageOptions = {}) {
    const cache = opts.listCache ? new ListCache(opts.listCache) : null;
    const banners = opts.root === undefined
      ? null
      : new WatchedNames<Stat | null>(opts.root, BANNER_FILES);
    this.#cache = cache;
    this.#banners = banners;
    this.#changed = (path) => {
      cache?.changed(path);
      banners?.forget(path);
    };
  }

  /** Folders whose listing is kept under a watch now (each holds a watcher until `close`). */
  get watchedFolders(): number {
    return this.#cache?.watched ?? 0;
  }

  async close(): Promise<void> {
    await Promise.all([this.#banners?.close(), this.#cache?.close()]);
  }

  readonly #absences = new Absences();

  stat(path: string): Promise<Stat | null> {
    const banners = this.#banners;
    if (banners?.covers(path)) return now(path, () => bannerStat(banners, path));
    if (this.#absences.has(path)) return Promise.resolve(null);
    try {
      return Promise.resolve(statOf(Deno.statSync(path)));
    } catch (err) {
      if (!isDenoAbsence(err)) {
        return Promise.reject(storageError(err, path));
      }
      this.#absences.add(path);
      return Promise.resolve(null);
    }
  }

  async *list(path: string): AsyncIterable<Listed[]> {
    try {
      yield* this.#cache?.list(path) ?? readFolder(path);
    } catch (err) {
      throw storageError(err, path);
    }
  }

  openRead(path: string, offset: number): Promise<ReadHandle> {
    return now(path, () => {
      const file = Deno.openSync(path, { read: true });
      try {
        const info = file.statSync();
        if (!info.isFile) throw new StorageError("not-a-file", path);
        if (offset > 0) file.seekSync(offset, Deno.SeekMode.Start);
        let fromCache = true;
        return {
          read(buf) {
            if (!fromCache) return file.read(buf);
            const started = performance.now();
            const n = file.readSync(buf);
            if (performance.now() - started > SLOW_READ_MS) fromCache = false;
            return Promise.resolve(n);
          },
          close: () => file.close(),
        };
      } catch (err) {
        file.close();
        throw err;
      }
    });
  }

  async createUpload(path: string, keep: number): Promise<UploadWriter> {
    const temp = join(dirname(path), `${UPLOAD_TEMP_PREFIX}${crypto.randomUUID()}`);
    this.#changed(temp);
    try {
      if (keep > 0) {
        await Deno.copyFile(path, temp);
        if (Deno.statSync(temp).size > keep) Deno.truncateSync(temp, keep);
      }
      const file = Deno.openSync(temp, { write: true, create: true, append: true });
      return new LocalUpload(file, temp, path, this.#changed);
    } catch (err) {
      try {
        Deno.removeSync(temp);
      } catch {
        // never created
      }
      throw storageError(err, path);
    }
  }

  /** Runs a synchronous change of the entry at `paths[0]` (and `paths[1]`), then tells the listing cache. */
  #change<T>(paths: string[], call: () => T): Promise<T> {
    try {
      return now(paths[0], call);
    } finally {
      for (const p of paths) this.#changed(p);
    }
  }

  remove(path: string): Promise<void> {
    return this.#change([path], () => {
      if (Deno.lstatSync(path).isDirectory) throw new StorageError("not-a-file", path);
      Deno.removeSync(path);
    });
  }

  rmdir(path: string): Promise<void> {
    return this.#change([path], () => {
      if (!Deno.lstatSync(path).isDirectory) throw new StorageError("not-a-folder", path);
      Deno.removeSync(path);
    });
  }

  mkdir(path: string): Promise<void> {
    return this.#change([path], () => Deno.mkdirSync(path));
  }

  rename(from: string, to: string): Promise<void> {
    return this.#change([from, to], () => Deno.renameSync(from, to));
  }

  setTime(path: string, mtime: Date): Promise<void> {
    return this.#change(
      [path],
      () => Deno.utimeSync(path, Deno.statSync(path).atime ?? mtime, mtime),
    );
  }

  chmod(path: string, mode: number): Promise<void> {
    return this.#change([path], () => Deno.chmodSync(path, mode));
  }

  realPath(path: string): Promise<string> {
    return now(path, () => realPathOfNearest(path));
  }

  readText(path: string, maxBytes: number): Promise<{ text: string; version: string } | null> {
    return now(path, () => {
      const file = Deno.openSync(path, { read: true });
      try {
        const info = file.statSync();
        if (!info.isFile) throw new StorageError("not-a-file", path);
        const buf = new Uint8Array(Math.min(info.size, maxBytes));
        let got = 0;
        while (got < buf.length) {
          const n = file.readSync(buf.subarray(got));
          if (n === null) break;
          got += n;
        }
        return {
          text: new TextDecoder().decode(buf.subarray(0, got)),
          version: statOf(info).version,
        };
      } finally {
        file.close();
      }
    }).catch((e) => {
      if (isAbsence(e)) return null;
      throw e;
    });
  }

  async writeText(path: string, text: string): Promise<void> {
    const temp = join(dirname(path), `${UPLOAD_TEMP_PREFIX}${crypto.randomUUID()}`);
    try {
      await Deno.mkdir(dirname(path), { recursive: true });
      await Deno.writeTextFile(temp, text, { mode: 0o600 });
      await Deno.rename(temp, path);
    } catch (err) {
      await Deno.remove(temp).catch(() => {});
      throw storageError(err, path);
    } finally {
      this.#changed(dirname(path));
      this.#changed(path);
    }
  }

  /**
   * Compares and writes without giving up the thread in between: atomic
   * within this process (a local tree has one server), not across processes.
   */
  writeTextIf(path: string, text: string, ifVersion: string | null): Promise<boolean> {
    return now(path, () => {
      let version: string | null = null;
      try {
        version = statOf(Deno.statSync(path)).version;
      } catch (err) {
        if (!(err instanceof Deno.errors.NotFound)) throw err;
      }
      if (version !== ifVersion) return false;
      const temp = join(dirname(path), `${UPLOAD_TEMP_PREFIX}${crypto.randomUUID()}`);
      this.#changed(dirname(path));
      this.#changed(path);
      Deno.mkdirSync(dirname(path), { recursive: true });
      try {
        Deno.writeTextFileSync(temp, text, { mode: 0o600 });
        Deno.renameSync(temp, path);
      } catch (err) {
        try {
          Deno.removeSync(temp);
        } catch {
          // never written
        }
        throw err;
      }
      return true;
    });
  }

  async usage(folder: string, enter: (name: string) => boolean): Promise<number> {
    let total = 0;
    let count = 0;
    for (const f of filesBelow(folder, enter)) {
      if (isUploadTemp(f.name)) continue;
      try {
        total += Deno.lstatSync(f.path).size;
      } catch {
        // removed while counting
      }
      if (++count % LIST_BATCH === 0) await yieldToOthers();
    }
    return total;
  }

  removeStaleUploads(folder: string): Promise<number> {
    let removed = 0;
    for (const f of filesBelow(folder, () => true)) {
      if (!isUploadTemp(f.name)) continue;
      try {
        Deno.removeSync(f.path);
        removed++;
      } catch {
        // gone already
      }
      this.#changed(f.path);
    }
    return Promise.resolve(removed);
  }

  findStaleUploads(folder: string): Promise<string[]> {
    const found: string[] = [];
    for (const f of filesBelow(folder, () => true)) if (isUploadTemp(f.name)) found.push(f.path);
    return Promise.resolve(found);
  }
}

/**
 * A folder named on the command line, as a real path: links resolved, and
 * checked to be a folder. Throws a `StorageError` (`not-found`,
 * `not-a-folder`, `denied`) otherwise.
 */
export async function realFolder(path: string): Promise<string> {
  const real = await Deno.realPath(path).catch((err) => {
    throw storageError(err, path);
  });
  const info = await Deno.stat(real).catch((err) => {
    throw storageError(err, path);
  });
  if (!info.isDirectory) throw new StorageError("not-a-folder", path);
  return real;
}

/** A host file named on the command line (a certificate, a key), as text. */
export function readHostText(path: string): Promise<string> {
  return Deno.readTextFile(path).catch((err) => {
    throw storageError(err, path);
  });
}

/** A host file opened for appending (a log named on the command line). */
export interface HostAppendFile {
  /** Writes some of `bytes`; how many. */
  write(bytes: Uint8Array): Promise<number>;
  close(): void;
}

/** Opens (creating it, mode 0640) a host file named on the command line for appending. */
export async function openHostAppend(path: string): Promise<HostAppendFile> {
  const file = await Deno.open(path, { append: true, create: true, mode: 0o640 }).catch((err) => {
    throw storageError(err, path);
  });
  return { write: (bytes) => file.write(bytes), close: () => file.close() };
}
