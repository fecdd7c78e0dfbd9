/**
 * A tree kept in an S3-compatible object store, as a `Storage`. The served
 * `/` is a key prefix (`PREFIX/` or the bucket's top); `/alice/a.txt` is the
 * key `PREFIX/alice/a.txt`. Folders are common prefixes, plus a zero-byte
 * `name/` marker that makes an empty folder exist. There are no links and no
 * permission bits.
 *
 * Uploads are multipart, in parts of 16 MiB (growing after 2,000 parts) with
 * at most two parts in flight, so an upload holds at most three parts in
 * memory; a file that fits in one part is one PUT. Nothing is visible until
 * the commit, and an aborted upload aborts its multipart upload. Keeping the
 * first N bytes of the old object (REST+STOR, APPE) copies them server-side
 * (UploadPartCopy) when N is at least S3's 5 MiB minimum part, and reads
 * them into the first part otherwise.
 *
 * Downloads are ranged GETs of 16 MiB, two in flight, read into reused 1 MiB
 * buffers and handed over in order (at most two ranges in memory); every range
 * after the first is asked for with the first one's ETag (If-Match), so a
 * replaced object fails (`gone`).
 *
 * The tree's own files (`.xxftp/*`, banners) are asked for on every command,
 * so their stats are served from a cache that lives `configCacheMs` (2 s by
 * default): an edit made in the bucket, by hand or by another instance, is
 * seen within that bound.
 */
import { posix } from "node:path";
import {
  type Body,
  type CompletedPart,
  type ObjectInfo,
  type PendingUpload,
  type S3Client,
  S3Error,
} from "./client.ts";
import {
  BANNER_FILES,
  type Listed,
  type ReadHandle,
  type Stat,
  type Storage,
  StorageError,
  type UploadWriter,
} from "../storage.ts";

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

/** S3's smallest part but the last one. */
export const MIN_PART = 5 * MiB;
/** S3's largest single copy (CopyObject, one UploadPartCopy). */
const MAX_COPY = 5 * GiB;
/** S3's highest part number. */
const MAX_PARTS = 10_000;
/** Parts uploaded at once by one upload, besides the one being filled. */
const PARTS_IN_FLIGHT = 2;
/** Server-side copies at once when a folder moves. */
const COPIES_AT_ONCE = 8;
/** Objects a folder rename copies at most; a fuller folder is refused (`not-empty`). */
export const MAX_FOLDER_MOVE = 10_000;
/** Bytes of one ranged GET of a download (here 16 MiB, two at once, beat 4-12 MiB, three or four). */
const READ_PART = 16 * MiB;
/** Ranges a download holds at once (fetched or being fetched): its memory is at most this many parts. */
const PARTS_AHEAD = 2;
/** Bytes of one buffer a range is read into and handed over in. */
const READ_SLAB = 1 * MiB;
/** Reads of a stream that broke off, resumed from where they stopped, per open file. */
const READ_RESUMES = 3;
/** Delays before trying again an abort the store did not take. */
const ABORT_RETRIES_MS = [5_000, 30_000, 120_000];
/** Entries of the tree-file cache. */
const CACHE_ENTRIES = 4096;
/** The folder holding a folder's own configuration, never served. */
const CONFIG_DIR = ".xxftp";
/** The object metadata holding a time set with MFMT: seconds since 1970, as rclone and s3fs write it. */
export const MTIME_META = "mtime";

/** How the store is reached and how the tree sits in it. */
export interface S3StorageOptions {
  client: S3Client;
  /** The key prefix `/` maps to: "" (the whole bucket) or a prefix such as `team/` (one trailing slash). */
  prefix: string;
  /** Life of a cached stat of a tree file (`.xxftp/*`, banners); default 2000 ms. */
  configCacheMs?: number;
  /**
   * A pending multipart upload whose last part (or start) is older than this
   * belongs to an instance that died; `removeStaleUploads` aborts it. Default 1 h.
   */
  staleUploadMs?: number;
  /** Size of upload parts, at least {@link MIN_PART}; default 16 MiB (here ~30% faster than 8 MiB). */
  partBytes?: number;
  /** Where a partial failure that leaves objects behind is told. */
  log?: (line: string) => void;
}

/** A storage error for an S3 error; other errors pass unchanged. */
export function storageErrorOf(err: unknown, what: string): unknown {
  if (err instanceof StorageError || !(err instanceof S3Error)) return err;
  const message = `${what}: ${err.message}`;
  return new StorageError(err.kind, message, { cause: err });
}

/** The time a file shows: the one MFMT set, else when the object was written. */
function mtimeOf(info: { lastModified: Date; metadata?: Record<string, string> }): Date {
  const meta = info.metadata?.[MTIME_META];
  const seconds = meta === undefined ? NaN : Number(meta);
  return Number.isFinite(seconds) ? new Date(Math.round(seconds * 1000)) : info.lastModified;
}

function fileStat(info: { size: number; lastModified: Date; etag: string } & Partial<ObjectInfo>) {
  return {
    isDir: false,
    isFile: true,
    size: info.size,
    mtime: mtimeOf(info),
    mode: null,
    version: info.etag,
  } satisfies Stat;
}

function folderStat(mtime: Date): Stat {
  return { isDir: true, isFile: false, size: 0, mtime, mode: null, version: "folder" };
}

/** Runs `fn` over `items`, at most `limit` at once; the first failure wins, after all settle. */
async function eachLimited<T>(items: T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  let failure: { err: unknown } | null = null;
  const worker = async () => {
    while (next < items.length && failure === null) {
      const item = items[next++];
      try {
        await fn(item);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== null) throw (failure as { err: unknown }).err;
}

/** Byte ranges of at most 5 GiB, each at least 5 MiB when `total` is, covering `total` bytes. */
function copyRanges(total: number): Array<{ offset: number; length: number }> {
  const count = Math.max(1, Math.ceil(total / MAX_COPY));
  const size = Math.ceil(total / count);
  const ranges = [];
  for (let offset = 0; offset < total; offset += size) {
    ranges.push({ offset, length: Math.min(size, total - offset) });
  }
  return ranges;
}

/** A file being written as a multipart upload (or one PUT when it fits in a part). */
class S3Upload implements UploadWriter {
  #buf = new Uint8Array(0);
  #filled = 0;
  #uploadId: string | null = null;
  #partNumber = 0;
  readonly #parts: CompletedPart[] = [];
  readonly #inFlight = new Set<Promise<void>>();
  #failure: { err: unknown } | null = null;
  #done = false;

  constructor(
    private readonly client: S3Client,
    private readonly key: string,
    private readonly partBytes: number,
    /** Upload ids of this instance's uploads in progress, which the stale sweep leaves alone. */
    private readonly mine: Set<string>,
    private readonly onPublished: () => void,
    /** Told of an abort the store did not take, to be tried again later. */
    private readonly onAbortFailed: (key: string, uploadId: string) => void,
  ) {}

  async #start(): Promise<string> {
    if (this.#uploadId === null) {
      this.#uploadId = await this.client.createMultipartUpload(this.key);
      this.mine.add(this.#uploadId);
    }
    return this.#uploadId;
  }

  #end(): void {
    this.#done = true;
    this.#buf = new Uint8Array(0);
    if (this.#uploadId !== null) this.mine.delete(this.#uploadId);
  }

  /** Starts from the first `keep` bytes of the object at `source`. */
  async keepFrom(source: string, keep: number): Promise<void> {
    if (keep >= MIN_PART) {
      const id = await this.#start();
      for (const range of copyRanges(keep)) {
        const partNumber = ++this.#partNumber;
        const etag = await this.client.uploadPartCopy(this.key, id, partNumber, source, range);
        this.#parts.push({ partNumber, etag });
      }
      return;
    }
    const got = await this.client.getObject(source, { length: keep });
    const bytes = new Uint8Array(await new Response(got.body.stream()).arrayBuffer());
    if (bytes.length !== keep) {
      throw new StorageError("gone", `${source}: ${bytes.length} bytes read, ${keep} expected`);
    }
    await this.write(bytes);
  }

  /** The size of the part being filled: doubles every 2,000 parts, so 10,000 reach ~500 GiB. */
  #partSize(): number {
    return this.partBytes * 2 ** Math.floor(this.#partNumber / 2000);
  }

  #check(): void {
    if (this.#failure !== null) throw storageErrorOf(this.#failure.err, this.key);
  }

  async write(chunk: Uint8Array): Promise<void> {
    this.#check();
    let at = 0;
    while (at < chunk.length) {
      const size = this.#partSize();
      const take = Math.min(size - this.#filled, chunk.length - at);
      this.#reserve(take, size);
      this.#buf.set(chunk.subarray(at, at + take), this.#filled);
      this.#filled += take;
      at += take;
      if (this.#filled === size) await this.#sendPart();
    }
  }

  /** Grows the buffer for `n` more bytes: small files stay small, parts after the first are allocated whole. */
  #reserve(n: number, size: number): void {
    if (this.#filled + n <= this.#buf.length) return;
    const grown = this.#partNumber > 0
      ? size
      : Math.min(size, Math.max(this.#filled + n, this.#buf.length * 2, 256 * KiB));
    const buf = new Uint8Array(grown);
    buf.set(this.#buf.subarray(0, this.#filled));
    this.#buf = buf;
  }

  async #sendPart(): Promise<void> {
    const body = this.#buf.subarray(0, this.#filled);
    this.#buf = new Uint8Array(0);
    this.#filled = 0;
    if (this.#partNumber >= MAX_PARTS) {
      throw new StorageError("no-space", `${this.key}: larger than ${MAX_PARTS} parts`);
    }
    let id: string;
    try {
      id = await this.#start();
    } catch (err) {
      throw storageErrorOf(err, this.key);
    }
    const partNumber = ++this.#partNumber;
    const sent: Promise<void> = this.client.uploadPart(this.key, id, partNumber, body)
      .then((etag) => void this.#parts.push({ partNumber, etag }))
      .catch((err) => void (this.#failure ??= { err }))
      .finally(() => this.#inFlight.delete(sent));
    this.#inFlight.add(sent);
    while (this.#inFlight.size >= PARTS_IN_FLIGHT) await Promise.race(this.#inFlight);
    this.#check();
  }

  async commit(): Promise<void> {
    this.#check();
    try {
      if (this.#uploadId === null) {
        await this.client.putObject(this.key, this.#buf.subarray(0, this.#filled));
      } else {
        if (this.#filled > 0) await this.#sendPart();
        await Promise.all(this.#inFlight);
        this.#check();
        await this.client.completeMultipartUpload(this.key, this.#uploadId, this.#parts);
      }
    } catch (err) {
      throw storageErrorOf(err, this.key);
    }
    this.#end();
    this.onPublished();
  }

  async abort(): Promise<void> {
    if (this.#done) return;
    const id = this.#uploadId;
    this.#end();
    await Promise.allSettled(this.#inFlight);
    if (id === null) return;
    await this.client.abortMultipartUpload(this.key, id).catch((err) => {
      if (!(err instanceof S3Error && err.kind === "gone")) this.onAbortFailed(this.key, id);
    });
  }
}

/**
 * Buffers downloads read into, reused from one download to the next (at most one download's
 * worth is kept), so a download allocates nothing per read.
 */
class SlabPool {
  readonly #free: ArrayBuffer[] = [];

  take(): ArrayBuffer {
    return this.#free.pop() ?? new ArrayBuffer(READ_SLAB);
  }

  /** Takes a buffer back (not one a pending read detached). */
  give(buf: ArrayBuffer): void {
    if (buf.byteLength === READ_SLAB && this.#free.length < PARTS_AHEAD * READ_PART / READ_SLAB) {
      this.#free.push(buf);
    }
  }
}

const slabs = new SlabPool();

/**
 * One range of a download, read into buffers of {@link READ_SLAB} bytes that
 * are handed over as they fill; a stream that breaks is resumed, on the same
 * version, from the start of the buffer it was filling.
 */
class RangePart {
  /** Filled buffers, in order; the first is handed over from `#taken`. */
  readonly #slabs: Uint8Array<ArrayBuffer>[] = [];
  #taken = 0;
  /** Where the bytes the part reads next lie in the object. */
  #fetched: number;
  #body: Body | null = null;
  #failure: { err: unknown } | null = null;
  #ended = false;

  constructor(
    private readonly read: S3Read,
    readonly start: number,
    readonly end: number,
    body: Body | null,
  ) {
    this.#fetched = start;
    this.#pump(body);
  }

  async #pump(body: Body | null): Promise<void> {
    try {
      this.#body = body ?? await this.read.open(this.start, this.end);
      while (this.#fetched < this.end) {
        const slab = await this.#fill(Math.min(READ_SLAB, this.end - this.#fetched));
        this.#fetched += slab.length;
        this.#slabs.push(slab);
        this.read.wake();
      }
      // The range is whole; a byte more means the store sent other bytes than the ones asked for.
      const more = await this.#body.read(new Uint8Array(1));
      if (more.length > 0) {
        throw new StorageError("unavailable", `${this.read.key}: more bytes than the range`);
      }
    } catch (err) {
      this.#failure = { err };
    }
    this.#ended = true;
    this.#body?.cancel();
    this.read.wake();
  }

  /** The next `want` bytes, in a buffer of their own; a stream that breaks or ends short is resumed. */
  async #fill(want: number): Promise<Uint8Array<ArrayBuffer>> {
    for (;;) {
      let buf = slabs.take();
      let filled = 0;
      let broke: unknown = null;
      try {
        while (filled < want) {
          const got = await this.#body!.read(new Uint8Array(buf, filled, want - filled));
          buf = got.buffer;
          if (got.length === 0) break;
          filled += got.length;
        }
        if (filled === want) return new Uint8Array(buf, 0, want);
        slabs.give(buf);
      } catch (err) {
        // A broken connection is resumed; a store that stopped answering is not waited for again.
        if (!(err instanceof S3Error && err.kind === "unavailable" && err.code !== "Timeout")) {
          throw err;
        }
        broke = err;
      }
      if (this.read.closed) throw new StorageError("gone", `${this.read.key}: closed`);
      broke ??= new StorageError("unavailable", `${this.read.key}: the range ended short`);
      if (!this.read.mayResume()) throw broke;
      this.#body!.cancel();
      this.#body = await this.read.open(this.#fetched, this.end);
    }
  }

  /** Moves bytes into `buf` from `at`; how many. */
  take(buf: Uint8Array, at: number): number {
    let n = at;
    while (n < buf.length && this.#slabs.length > 0) {
      const slab = this.#slabs[0];
      const take = Math.min(slab.length - this.#taken, buf.length - n);
      buf.set(slab.subarray(this.#taken, this.#taken + take), n);
      n += take;
      this.#taken += take;
      if (this.#taken === slab.length) {
        this.#slabs.shift();
        this.#taken = 0;
        slabs.give(slab.buffer);
      }
    }
    return n - at;
  }

  /** Bytes are waiting. */
  get ready(): boolean {
    return this.#slabs.length > 0;
  }

  /** Every byte was handed over (throws what stopped it instead, once its bytes are out). */
  get done(): boolean {
    if (this.#slabs.length > 0) return false;
    if (this.#failure) throw this.#failure.err;
    return this.#ended;
  }

  cancel(): void {
    for (const slab of this.#slabs) slabs.give(slab.buffer);
    this.#slabs.length = 0;
    this.#body?.cancel();
  }
}

/**
 * An object being read, from an offset: ranges of {@link READ_PART} bytes
 * fetched {@link PARTS_AHEAD} at once and handed over in order, so the store
 * serves several streams while the caller writes (an object within one range
 * is one GET). Every range after the first asks for the first one's version
 * (If-Match), so a file replaced mid-way fails (`gone`) instead of mixing two.
 */
class S3Read implements ReadHandle {
  readonly #parts: RangePart[] = [];
  readonly #abort = new AbortController();
  #next: number;
  #resumes = 0;
  /** The caller waits for bytes. */
  #wakeReader: (() => void) | null = null;

  constructor(
    private readonly client: S3Client,
    readonly key: string,
    offset: number,
    private readonly size: number,
    private readonly etag: string,
    body: Body,
  ) {
    this.#next = Math.min(size, offset + READ_PART);
    this.#parts.push(new RangePart(this, offset, this.#next, body));
    this.#fill();
  }

  /** Opens `[start, end)` of the version being read. */
  async open(start: number, end: number): Promise<Body> {
    const got = await this.client.getObject(this.key, {
      offset: start,
      length: end - start,
      ifMatch: this.etag,
      signal: this.#abort.signal,
    });
    return got.body;
  }

  /** Whether a broken stream may be opened again (a few times per file). */
  mayResume(): boolean {
    return ++this.#resumes <= READ_RESUMES;
  }

  get closed(): boolean {
    return this.#abort.signal.aborted;
  }

  wake(): void {
    this.#wakeReader?.();
    this.#wakeReader = null;
  }

  #fill(): void {
    while (this.#parts.length < PARTS_AHEAD && this.#next < this.size && !this.closed) {
      const start = this.#next;
      this.#next = Math.min(this.size, start + READ_PART);
      this.#parts.push(new RangePart(this, start, this.#next, null));
    }
  }

  async read(buf: Uint8Array): Promise<number | null> {
    let n = 0;
    try {
      while (n < buf.length) {
        if (this.closed) throw new StorageError("gone", `${this.key}: read after close`);
        const head = this.#parts[0];
        if (head === undefined) break;
        if (head.done) {
          this.#parts.shift();
          this.#fill();
          continue;
        }
        if (head.ready) n += head.take(buf, n);
        else if (n > 0) break;
        else await new Promise<void>((r) => this.#wakeReader = r);
      }
    } catch (err) {
      throw storageErrorOf(err, this.key);
    }
    return n === 0 ? null : n;
  }

  close(): void {
    this.#abort.abort(new StorageError("gone", `${this.key}: closed`));
    for (const part of this.#parts) part.cancel();
    this.#parts.length = 0;
    this.wake();
  }
}

interface Cached<T> {
  at: number;
  value: Promise<T>;
}

/** A tree in an object store. */
export class S3Storage implements Storage {
  readonly capabilities = { chmod: false, shared: true };
  readonly #client: S3Client;
  readonly #prefix: string;
  readonly #configMs: number;
  readonly #staleMs: number;
  readonly #partBytes: number;
  readonly #log: (line: string) => void;
  /** Tree-file stats: `.xxftp/` folder listings by folder, banner stats by path. */
  readonly #cache = new Map<string, Cached<Map<string, Stat> | Stat | null>>();
  /** Upload ids of this instance's uploads in progress: never stale. */
  readonly #mine = new Set<string>();

  constructor(opts: S3StorageOptions) {
    if (opts.prefix !== "" && (!opts.prefix.endsWith("/") || opts.prefix.startsWith("/"))) {
      throw new Error(`S3 prefix must be "" or end in one "/": "${opts.prefix}"`);
    }
    this.#client = opts.client;
    this.#prefix = opts.prefix;
    this.#configMs = opts.configCacheMs ?? 2000;
    this.#staleMs = opts.staleUploadMs ?? 3_600_000;
    this.#partBytes = Math.max(MIN_PART, opts.partBytes ?? 16 * MiB);
    this.#log = opts.log ?? (() => {});
  }

  /** The object key of a path (`/` has none: it is the prefix itself). */
  #key(path: string): string {
    if (!path.startsWith("/") || path === "/") {
      throw new StorageError("invalid", `not a file path in the store: "${path}"`);
    }
    const key = this.#prefix + posix.normalize(path).slice(1).replace(/\/+$/, "");
    if (new TextEncoder().encode(key).length > 1023) {
      throw new StorageError("invalid", `key longer than S3 allows: ${key.slice(0, 60)}...`);
    }
    return key;
  }

  /** The key prefix of everything inside the folder at `path`. */
  #inside(path: string): string {
    return posix.normalize(path) === "/" ? this.#prefix : `${this.#key(path)}/`;
  }

  /** Runs a store call with its errors as storage errors. */
  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw storageErrorOf(err, what);
    }
  }

  stat(path: string): Promise<Stat | null> {
    if (posix.normalize(path) === "/") return Promise.resolve(folderStat(new Date(0)));
    const parent = posix.dirname(path);
    const name = posix.basename(path);
    if (posix.basename(parent) === CONFIG_DIR) {
      return this.#configListing(parent).then((files) => files.get(name) ?? null);
    }
    if (parent === "/" && BANNER_FILES.has(name)) {
      return this.#cached(path, () => this.#statLive(path)) as Promise<Stat | null>;
    }
    return this.#statLive(path);
  }

  async #statLive(path: string): Promise<Stat | null> {
    const key = this.#key(path);
    const info = await this.#call(path, () => this.#client.headObject(key));
    if (info !== null) return fileStat(info);
    return await this.#folderStat(path);
  }

  /** A folder's stat when anything lies below it (its marker included), else null. */
  async #folderStat(path: string): Promise<Stat | null> {
    const page = await this.#call(
      path,
      () => this.#client.listObjectsV2(this.#inside(path), { maxKeys: 1 }),
    );
    const first = page.objects[0];
    if (first !== undefined) return folderStat(first.lastModified);
    return page.prefixes.length > 0 ? folderStat(new Date(0)) : null;
  }

  /** Throws unless `path` is a folder: `not-a-folder` for a file, `not-found` for nothing. */
  async #requireFolder(path: string): Promise<void> {
    if (posix.normalize(path) === "/") return;
    if (await this.#folderStat(path) !== null) return;
    const file = await this.#call(path, () => this.#client.headObject(this.#key(path)));
    throw new StorageError(file ? "not-a-folder" : "not-found", path);
  }

  /** The files of a `.xxftp` folder, listed once per cache period. */
  #configListing(folder: string): Promise<Map<string, Stat>> {
    return this.#cached(folder, async () => {
      const prefix = this.#inside(folder);
      const page = await this.#call(
        folder,
        () => this.#client.listObjectsV2(prefix, { delimiter: "/", maxKeys: 1000 }),
      );
      const files = new Map<string, Stat>();
      for (const o of page.objects) files.set(o.key.slice(prefix.length), fileStat(o));
      return files;
    }) as Promise<Map<string, Stat>>;
  }

  /** A value remembered for `configCacheMs`; failures are not remembered. */
  #cached<T extends Map<string, Stat> | Stat | null>(
    id: string,
    load: () => Promise<T>,
  ): Promise<T> {
    const now = Date.now();
    const hit = this.#cache.get(id);
    if (hit && now - hit.at < this.#configMs) return hit.value as Promise<T>;
    const value = load();
    this.#cache.delete(id);
    this.#cache.set(id, { at: now, value });
    value.catch(() => {
      if (this.#cache.get(id)?.value === value) this.#cache.delete(id);
    });
    if (this.#cache.size > CACHE_ENTRIES) this.#cache.delete(this.#cache.keys().next().value!);
    return value;
  }

  /** Forgets what the cache holds about `path`, its folder and anything below it, after a change. */
  #changed(path: string): void {
    const parent = posix.dirname(path);
    const below = `${path}/`;
    for (const id of [...this.#cache.keys()]) {
      if (id === path || id === parent || id.startsWith(below)) this.#cache.delete(id);
    }
  }

  async *list(path: string): AsyncIterable<Listed[]> {
    const prefix = this.#inside(path);
    let batch: Listed[] = [];
    let seen = false;
    try {
      for await (const e of this.#client.listAll(prefix, "/", 1000)) {
        seen = true;
        const name = e.key.slice(prefix.length, e.type === "prefix" ? -1 : undefined);
        // The folder's own marker, and keys no path can name ("a//b", "a/./b").
        if (name === "" || name === "." || name === ".." || name.includes("/")) continue;
        const stat = e.type === "prefix" ? folderStat(new Date(0)) : fileStat(e);
        batch.push({ name, stat, link: false });
        if (batch.length === 1000) {
          yield batch;
          batch = [];
        }
      }
    } catch (err) {
      throw storageErrorOf(err, path);
    }
    if (!seen) await this.#requireFolder(path);
    if (batch.length > 0) yield batch;
  }

  async openRead(path: string, offset: number): Promise<ReadHandle> {
    const key = this.#key(path);
    try {
      const got = await this.#client.getObject(key, { offset, length: READ_PART });
      return new S3Read(this.#client, key, offset, got.size, got.etag, got.body);
    } catch (err) {
      if (err instanceof S3Error && err.kind === "not-found" && await this.#folderStat(path)) {
        throw new StorageError("not-a-file", path);
      }
      throw storageErrorOf(err, path);
    }
  }

  async createUpload(path: string, keep: number): Promise<UploadWriter> {
    const key = this.#key(path);
    await this.#requireFolder(posix.dirname(path));
    const upload = new S3Upload(
      this.#client,
      key,
      this.#partBytes,
      this.#mine,
      () => this.#changed(path),
      (k, id) => this.#abortLater(k, id, 0),
    );
    if (keep > 0) {
      try {
        await upload.keepFrom(key, keep);
      } catch (err) {
        await upload.abort();
        throw storageErrorOf(err, path);
      }
    }
    return upload;
  }

  /**
   * Tries an abort the store did not take (it was down) again after 5 s,
   * 30 s and 2 min; what is still left then is the stale sweep's.
   */
  #abortLater(key: string, uploadId: string, tries: number): void {
    if (tries >= ABORT_RETRIES_MS.length) {
      this.#log(`a multipart upload of ${key} could not be aborted; the stale sweep will`);
      return;
    }
    const timer = setTimeout(() => {
      this.#client.abortMultipartUpload(key, uploadId).catch((err) => {
        if (!(err instanceof S3Error && err.kind === "gone")) {
          this.#abortLater(key, uploadId, tries + 1);
        }
      });
    }, ABORT_RETRIES_MS[tries]);
    Deno.unrefTimer(timer);
  }

  async remove(path: string): Promise<void> {
    const key = this.#key(path);
    const info = await this.#call(path, () => this.#client.headObject(key));
    if (info === null) {
      throw new StorageError(await this.#folderStat(path) ? "not-a-file" : "not-found", path);
    }
    await this.#call(path, () => this.#client.deleteObject(key));
    this.#changed(path);
    await this.#keepFolder(posix.dirname(path));
  }

  /**
   * Makes sure a folder still exists once something left it: a folder
   * known only by its keys would vanish with the last one, which a local
   * folder does not.
   */
  async #keepFolder(path: string): Promise<void> {
    if (posix.normalize(path) === "/") return;
    await this.#client.putObject(`${this.#key(path)}/`, new Uint8Array(0), { ifNoneMatch: "*" })
      .catch((err) => {
        if (!(err instanceof S3Error && err.kind === "exists")) throw storageErrorOf(err, path);
      });
  }

  async rmdir(path: string): Promise<void> {
    const inside = this.#inside(path);
    const page = await this.#call(path, () => this.#client.listObjectsV2(inside, { maxKeys: 2 }));
    if (page.objects.length === 0) {
      const file = await this.#call(path, () => this.#client.headObject(this.#key(path)));
      throw new StorageError(file ? "not-a-folder" : "not-found", path);
    }
    if (page.objects.some((o) => o.key !== inside)) throw new StorageError("not-empty", path);
    await this.#call(path, () => this.#client.deleteObject(inside));
    this.#changed(path);
    await this.#keepFolder(posix.dirname(path));
  }

  async mkdir(path: string): Promise<void> {
    const key = this.#key(path);
    await this.#requireFolder(posix.dirname(path));
    if (await this.#statLive(path) !== null) throw new StorageError("exists", path);
    await this.#call(
      path,
      () => this.#client.putObject(`${key}/`, new Uint8Array(0), { ifNoneMatch: "*" }),
    );
    this.#changed(path);
  }

  async rename(from: string, to: string): Promise<void> {
    if (posix.normalize(from) === posix.normalize(to)) return;
    const src = this.#key(from);
    const dst = this.#key(to);
    await this.#requireFolder(posix.dirname(to));
    const info = await this.#call(from, () => this.#client.headObject(src));
    if (info !== null) {
      const there = await this.#statLive(to);
      if (there?.isDir) throw new StorageError("exists", to);
      await this.#copy(src, dst, info.size);
      await this.#call(from, () => this.#client.deleteObject(src));
    } else {
      if (await this.#folderStat(from) === null) throw new StorageError("not-found", from);
      if (await this.#call(to, () => this.#client.headObject(dst))) {
        throw new StorageError("not-a-folder", to);
      }
      await this.#moveFolder(from, to);
    }
    this.#changed(from);
    this.#changed(to);
    await this.#keepFolder(posix.dirname(from));
  }

  /** A server-side copy of an object of `size` bytes (multipart beyond 5 GiB), metadata kept or replaced. */
  async #copy(src: string, dst: string, size: number, metadata?: Record<string, string>) {
    const replace = metadata !== undefined;
    if (size <= MAX_COPY) {
      await this.#call(
        src,
        () => this.#client.copyObject(src, dst, { metadata, replaceMetadata: replace }),
      );
      return;
    }
    const keep = metadata ?? (await this.#call(src, () => this.#client.headObject(src)))?.metadata;
    const id = await this.#call(dst, () => this.#client.createMultipartUpload(dst, keep));
    try {
      const parts: CompletedPart[] = [];
      for (const [i, range] of copyRanges(size).entries()) {
        const etag = await this.#client.uploadPartCopy(dst, id, i + 1, src, range);
        parts.push({ partNumber: i + 1, etag });
      }
      await this.#client.completeMultipartUpload(dst, id, parts);
    } catch (err) {
      await this.#client.abortMultipartUpload(dst, id).catch(() => {});
      throw storageErrorOf(err, src);
    }
  }

  /**
   * Moves a folder: copies every key, then deletes the old ones, so a failure
   * never loses an object. A failed copy removes the copies made (the folder
   * stays where it was); a failed delete leaves both copies and says so.
   */
  async #moveFolder(from: string, to: string): Promise<void> {
    const src = this.#inside(from);
    const dst = this.#inside(to);
    const objects: Array<{ key: string; size: number }> = [];
    try {
      for await (const e of this.#client.listAll(src)) {
        if (e.type !== "object") continue;
        if (objects.length === MAX_FOLDER_MOVE) {
          throw new StorageError("not-empty", `${from}: more than ${MAX_FOLDER_MOVE} objects`);
        }
        objects.push({ key: e.key, size: e.size });
      }
    } catch (err) {
      throw storageErrorOf(err, from);
    }
    const copied: string[] = [];
    try {
      await eachLimited(objects, COPIES_AT_ONCE, async (o) => {
        const target = dst + o.key.slice(src.length);
        await this.#copy(o.key, target, o.size);
        copied.push(target);
      });
    } catch (err) {
      const left = await this.#client.deleteObjects(copied).catch(() => copied);
      if (left.length > 0) {
        this.#log(`rename ${from} -> ${to} failed; ${left.length} copies could not be removed`);
      }
      throw err;
    }
    const failed = await this.#client.deleteObjects(objects.map((o) => o.key))
      .catch(() => objects);
    if (failed.length > 0) {
      this.#log(
        `rename ${from} -> ${to}: every object copied, ${failed.length} old key(s) left in place`,
      );
      throw new StorageError("unavailable", `${from}: ${failed.length} old keys not deleted`);
    }
  }

  async setTime(path: string, mtime: Date): Promise<void> {
    const key = this.#key(path);
    const info = await this.#call(path, () => this.#client.headObject(key));
    if (info === null) {
      throw new StorageError(await this.#folderStat(path) ? "not-a-file" : "not-found", path);
    }
    const seconds = String(mtime.getTime() / 1000);
    await this.#copy(key, key, info.size, { ...info.metadata, [MTIME_META]: seconds });
    this.#changed(path);
  }

  chmod(path: string): Promise<void> {
    return Promise.reject(new StorageError("denied", `${path}: an object store has no modes`));
  }

  realPath(path: string): Promise<string> {
    return Promise.resolve(posix.normalize(path));
  }

  async readText(
    path: string,
    maxBytes: number,
  ): Promise<{ text: string; version: string } | null> {
    const key = this.#key(path);
    try {
      const got = await this.#client.getObject(key, { length: Math.max(1, maxBytes) });
      const bytes = new Uint8Array(await new Response(got.body.stream()).arrayBuffer());
      return { text: new TextDecoder().decode(bytes.subarray(0, maxBytes)), version: got.etag };
    } catch (err) {
      if (err instanceof S3Error && err.kind === "not-found") return null;
      throw storageErrorOf(err, path);
    }
  }

  async writeText(path: string, text: string): Promise<void> {
    const key = this.#key(path);
    await this.#call(path, () => this.#client.putObject(key, text));
    this.#changed(path);
  }

  /**
   * A conditional PUT: `If-Match` the version, or `If-None-Match: *` for
   * none (atomic in RGW and S3). When the store's answer leaves it open
   * whether the write happened (RGW answers 500 to some conditional writes
   * that race; an answer may be lost), the object is read back: it holds
   * `text` exactly when the write (or an identical one) took.
   */
  async writeTextIf(path: string, text: string, ifVersion: string | null): Promise<boolean> {
    const key = this.#key(path);
    const condition = ifVersion === null ? { ifNoneMatch: "*" as const } : { ifMatch: ifVersion };
    try {
      await this.#client.putObject(key, text, condition);
    } catch (err) {
      if (err instanceof S3Error && (err.kind === "exists" || err.kind === "gone")) return false;
      if (!(err instanceof S3Error && err.kind === "unavailable")) throw storageErrorOf(err, path);
      const now = await this.readText(path, new TextEncoder().encode(text).length + 1);
      if (now?.text !== text) return false;
    }
    this.#changed(path);
    return true;
  }

  async usage(folder: string, enter: (name: string) => boolean): Promise<number> {
    const prefix = this.#inside(folder);
    let total = 0;
    try {
      for await (const e of this.#client.listAll(prefix)) {
        if (e.type !== "object") continue;
        const folders = e.key.slice(prefix.length).split("/").slice(0, -1);
        if (folders.every(enter)) total += e.size;
      }
    } catch (err) {
      throw storageErrorOf(err, folder);
    }
    return total;
  }

  /**
   * Multipart uploads below `folder` that no instance is writing: started,
   * and last written to, longer than `staleUploadMs` ago. Instances share
   * the bucket, so a young upload may be another one's, in progress.
   */
  async *#staleUploads(folder: string): AsyncGenerator<PendingUpload> {
    const cutoff = Date.now() - this.#staleMs;
    try {
      for await (const u of this.#client.listAllMultipartUploads(this.#inside(folder))) {
        if (u.initiated.getTime() > cutoff || this.#mine.has(u.uploadId)) continue;
        const parts = await this.#client.listParts(u.key, u.uploadId).catch(() => []);
        if (parts.some((p) => p.lastModified.getTime() > cutoff)) continue;
        yield u;
      }
    } catch (err) {
      throw storageErrorOf(err, folder);
    }
  }

  /** Aborts the stale multipart uploads below `folder`; how many. */
  async removeStaleUploads(folder: string): Promise<number> {
    let removed = 0;
    for await (const u of this.#staleUploads(folder)) {
      await this.#client.abortMultipartUpload(u.key, u.uploadId).then(() => removed++, () => {});
    }
    return removed;
  }

  /** The paths the stale multipart uploads below `folder` would publish. */
  async findStaleUploads(folder: string): Promise<string[]> {
    const found: string[] = [];
    for await (const u of this.#staleUploads(folder)) {
      found.push(`/${u.key.slice(this.#prefix.length)}`);
    }
    return found;
  }

  close(): Promise<void> {
    return Promise.resolve(); // connections close with the process; no watcher is held
  }
}
