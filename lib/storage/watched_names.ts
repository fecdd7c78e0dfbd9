/**
 * Stats of a few names in one folder (the root's banners, which every
 * session reads twice), kept while an inotify watch on that folder reports
 * nothing. A greeting then needs no file call: in the narrowed Worker one
 * lstat with Deno's path checks around it was 15-20 µs of a 130 µs greeting.
 *
 * Any event of the folder drops everything kept; an edit is seen once its
 * event arrives, a moment after it. Only what that watch fully sees is kept:
 * an absent name, or a plain file with a single name. A link (its target
 * changes elsewhere) or a file with other names (written through one of them)
 * is looked up every time, and so is everything when no watch can be had.
 */
import { basename, dirname } from "node:path";

/** Kept results of one folder's names, valid until the folder's watch reports a change. */
export class WatchedNames<T> {
  readonly #kept = new Map<string, T>();
  readonly #watcher: Deno.FsWatcher | null;
  #watching = false;

  constructor(readonly folder: string, private readonly names: ReadonlySet<string>) {
    try {
      this.#watcher = Deno.watchFs(folder, { recursive: false });
      this.#watching = true;
      void this.#follow(this.#watcher);
    } catch {
      this.#watcher = null; // out of inotify instances or watches: every lookup is live
    }
  }

  async #follow(watcher: Deno.FsWatcher): Promise<void> {
    try {
      for await (const _ of watcher) this.#kept.clear();
    } catch {
      // the watch broke: from now on nothing is kept
    } finally {
      this.#watching = false;
      this.#kept.clear();
    }
  }

  /** Whether `path` is one of the watched names of the folder. */
  covers(path: string): boolean {
    return this.names.has(basename(path)) && dirname(path) === this.folder;
  }

  /** What was kept for `path`, or undefined. */
  get(path: string): T | undefined {
    return this.#kept.get(path);
  }

  /** Keeps `value` for `path` while the watch runs. */
  keep(path: string, value: T): void {
    if (this.#watching) this.#kept.set(path, value);
  }

  /** Drops what was kept for `path` (the server changed it itself). */
  forget(path: string): void {
    this.#kept.delete(path);
  }

  close(): void {
    this.#watching = false;
    this.#kept.clear();
    try {
      this.#watcher?.close();
    } catch {
      // closed already
    }
  }
}
