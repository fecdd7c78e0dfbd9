/**
 * The storage boundary: every file operation of the server goes through a
 * `Storage`. Paths are absolute POSIX paths in the storage's own namespace
 * (host paths for a local folder, `/`-rooted keys for an object store); the
 * core decides which paths may be touched, the storage only carries it out.
 * Failures cross this boundary as a `StorageError` of a few kinds, which each
 * door maps to its own replies in one place.
 */

/** What went wrong, in words every door can map to its own replies. */
export type StorageErrorKind =
  | "not-found"
  | "exists"
  | "not-empty"
  | "no-space"
  | "denied"
  | "not-a-folder"
  | "not-a-file"
  /** The entry changed or vanished under the operation (a race); retrying may work. */
  | "gone"
  /** The storage cannot be reached or is overloaded (an object store): a 4xx, try again. */
  | "unavailable"
  /** The storage cannot represent the request (a path longer than an object key may be). */
  | "invalid";

/** A failed storage operation; `message` is for the log, never for a client. */
export class StorageError extends Error {
  constructor(readonly kind: StorageErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StorageError";
  }
}

/** What the storage knows of one entry. */
export interface Stat {
  isDir: boolean;
  isFile: boolean;
  size: number;
  mtime: Date;
  /** Unix permission bits, or null where the storage has none. */
  mode: number | null;
  /** Changes whenever the content may have changed: cache stamps and ETags. */
  version: string;
}

/** One entry of a folder listing. */
export interface Listed {
  name: string;
  /** Null when the entry vanished while being listed or cannot be examined. */
  stat: Stat | null;
  /** A symbolic link: its target must be checked before it is shown. */
  link: boolean;
}

/** An open file being read. */
export interface ReadHandle {
  /** Reads into `buf`; the count read, or null at the end. */
  read(buf: Uint8Array): Promise<number | null>;
  close(): void;
}

/** A file being written: nothing is visible at its path until `commit`. */
export interface UploadWriter {
  /** Writes all of `chunk` (the caller may reuse it once this settles). */
  write(chunk: Uint8Array): Promise<void>;
  /** Publishes the file at its path at once, replacing what was there. */
  commit(): Promise<void>;
  /** Discards what was written; the old file, if any, is untouched. Safe to call twice. */
  abort(): Promise<void>;
}

/** What a storage can and cannot do, asked by the core instead of assumed. */
export interface Capabilities {
  /** Unix permission bits can be set (SITE CHMOD). */
  chmod: boolean;
  /**
   * Several servers may serve this storage at once (an object store): what
   * they must agree on (the usage of limited folders) is kept in the tree and
   * changed with `writeTextIf`.
   */
  shared: boolean;
}

/** The root's banner files (tree_files.ts), read by every session: a store may keep their stats. */
const BANNER_NAMES = ["xxftp.welcome", "xxftp.goodbye"] as const;
/** The name of a banner file. */
export type BannerFile = (typeof BANNER_NAMES)[number];
/** The same names, to ask whether a name is one. */
export const BANNER_FILES: ReadonlySet<string> = new Set(BANNER_NAMES);

/** A place files live: a local folder tree or an object store. */
export interface Storage {
  readonly capabilities: Capabilities;
  /** The entry at `path` (links followed), or null when nothing is there. */
  stat(path: string): Promise<Stat | null>;
  /**
   * The entries of a folder, hidden names included, in batches so that a huge
   * folder is never held whole. Throws `not-found` / `not-a-folder`.
   */
  list(path: string): AsyncIterable<Listed[]>;
  /** Opens a file for reading from `offset`. */
  openRead(path: string, offset: number): Promise<ReadHandle>;
  /**
   * Starts writing the file at `path`: its first `keep` bytes are the first
   * `keep` bytes of the file there now (0: a new file; its size: append).
   */
  createUpload(path: string, keep: number): Promise<UploadWriter>;
  /** Removes a file. */
  remove(path: string): Promise<void>;
  /** Removes an empty folder (`not-empty` otherwise, hidden entries included). */
  rmdir(path: string): Promise<void>;
  /** Makes one folder; its parent must exist. */
  mkdir(path: string): Promise<void>;
  /** Moves a file or folder; replaces a file at `to`. */
  rename(from: string, to: string): Promise<void>;
  /** Sets the modification time. */
  setTime(path: string, mtime: Date): Promise<void>;
  /** Sets Unix permission bits (only where `capabilities.chmod`). */
  chmod(path: string, mode: number): Promise<void>;
  /**
   * `path` with every link resolved: for a path that does not exist yet, its
   * deepest existing ancestor resolved and the rest appended.
   */
  realPath(path: string): Promise<string>;
  /** A small file's text (at most `maxBytes`) and its version, or null when absent. */
  readText(path: string, maxBytes: number): Promise<{ text: string; version: string } | null>;
  /** Writes a small file whole (making its folder), readable by the owner only where that means something. */
  writeText(path: string, text: string): Promise<void>;
  /**
   * Writes a small file whole only if its version is still `ifVersion` (as
   * `readText` gave it), or, for null, only if there is none: false when
   * it changed meanwhile. Atomic across servers where `capabilities.shared`.
   */
  writeTextIf(path: string, text: string, ifVersion: string | null): Promise<boolean>;
  /**
   * Bytes of every file below `folder` whose every folder name passes `enter`
   * (links not followed, unfinished uploads not counted).
   */
  usage(folder: string, enter: (name: string) => boolean): Promise<number>;
  /** Removes unfinished uploads a crashed server left below `folder`; how many. */
  removeStaleUploads(folder: string): Promise<number>;
  /** The paths of unfinished uploads below `folder` (a checker reports them, touching nothing). */
  findStaleUploads(folder: string): Promise<string[]>;
  /** Releases what the storage holds (watchers, connections); called once, when the server stops. */
  close(): Promise<void>;
}
