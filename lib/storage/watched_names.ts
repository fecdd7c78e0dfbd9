/**
 * Stats of a few names in one folder (the root's banners, which every
 * session reads twice), kept while an inotify watch on that folder reports
 * nothing, for a second at most. A greeting then needs no file call: in the
 * narrowed Worker one lstat with Deno's path checks around it was 15-20 µs of
 * a 130 µs greeting.
 *
 * Any event the watcher reports drops everything kept, so an edit is seen
 * once its event arrives, a moment after it. Changes a folder's watch does
 * not report are seen within the second: a link made to a file outside
 * (Deno drops events whose path leads out of the folder), a second name given
 * to a file from outside, the folder itself replaced. A link, or a file that
 * has other names, is never kept: its content changes where no watch looks.
 */
/** The longest a value is kept, whatever the watch says. */
const MAX_AGE_MS = 1000;

/** Kept results of one folder's names, valid until the folder's watch reports a change. */
export class WatchedNames<T> {
  readonly #kept = new Map<string, { value: T; at: number }>();
  #watcher: Deno.FsWatcher | null = null;
  /** The loop taking the watcher's events. */
  #following: Promise<void> = Promise.resolve();
  #watching = false;

  /** The folder's path with one slash after it, ready for a name. */
  readonly #prefix: string;

  constructor(readonly folder: string, private readonly names: ReadonlySet<string>) {
    this.#prefix = folder.endsWith("/") ? folder : `${folder}/`;
    this.#watch();
  }

  /** Whether `path` is one of the watched names of the folder (asked on every stat: no path parsing). */
  covers(path: string): boolean {
    return path.startsWith(this.#prefix) && this.names.has(path.slice(this.#prefix.length));
  }

  /** What was kept for `path`, or undefined. */
  get(path: string): T | undefined {
    const kept = this.#kept.get(path);
    if (kept === undefined) return undefined;
    if (performance.now() - kept.at <= MAX_AGE_MS) return kept.value;
    this.#kept.delete(path);
    return undefined;
  }

  /** Keeps `value` for `path` while the watch runs. */
  keep(path: string, value: T): void {
    if (this.#watching) this.#kept.set(path, { value, at: performance.now() });
  }

  /** Drops what was kept for `path` (the server changed it itself). */
  forget(path: string): void {
    this.#kept.delete(path);
  }

  /** Stops the watch; nothing is kept from then on. */
  async close(): Promise<void> {
    this.#watching = false;
    this.#kept.clear();
    try {
      this.#watcher?.close();
    } catch {
      // closed already
    }
    await this.#following;
  }

  #watch(): void {
    try {
      this.#watcher = Deno.watchFs(this.folder, { recursive: false });
    } catch {
      return; // out of inotify instances or watches: every lookup is live
    }
    this.#watching = true;
    this.#following = this.#follow(this.#watcher);
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
}
