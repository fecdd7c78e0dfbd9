/** What Deno's file info becomes at the storage boundary, for the local tree. */
import type { Stat } from "./storage.ts";

/**
 * A `Stat` of a local entry. The version is made only when asked for (an
 * ETag, a settings file's stamp): a listing never asks, and a string per
 * entry was a tenth of its cost.
 */
class LocalStat implements Stat {
  constructor(
    readonly isDir: boolean,
    readonly isFile: boolean,
    readonly size: number,
    readonly mtime: Date,
    readonly mode: number | null,
    private readonly ino: number | null,
  ) {}

  get version(): string {
    return `${this.mtime.getTime()}:${this.size}:${this.ino}`;
  }
}

/** The storage's view of Deno's file info. */
export function statOf(info: Deno.FileInfo): Stat {
  return new LocalStat(
    info.isDirectory,
    info.isFile,
    info.size,
    info.mtime ?? new Date(0),
    info.mode === null ? null : info.mode & 0o777,
    info.ino,
  );
}

/**
 * Whether a watch on an entry's folder sees every change of it: a plain file
 * with a single name (not a link, whose target changes elsewhere, nor a file
 * written through another name). `info` is the entry's own (lstat) info.
 */
export function folderWatchSeesAll(info: Deno.FileInfo): boolean {
  return info.isFile && !info.isSymlink && info.nlink === 1;
}
