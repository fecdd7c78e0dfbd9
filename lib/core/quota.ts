/**
 * Storage limits (`.xxftp/size`). A limit counts every file below the folder
 * holding it, whichever way the file was reached (a user's tree or a virtual
 * directory), so limits nest. Each limited folder keeps a usage figure:
 * found once by walking the folder, then kept current by the server's own
 * writes. Uploads reserve bytes as they arrive, synchronously, so clients
 * racing into one folder can never pass its limit together.
 *
 * The figure is walked again when the limit in the size file changes, or when
 * it is older than `staleMs` and no upload is writing into the folder: that is
 * how changes made outside the server are noticed.
 */
import { dirname } from "node:path";
import { Refused } from "./refusal.ts";
import { CONFIG_DIR, type TreeConfig } from "./tree_files.ts";
import { isInside } from "./vfs.ts";

interface Usage {
  limit: number;
  used: number;
  reserved: number;
  writers: number;
  walkedAt: number;
}

/** What counts against a limit: everything but `.xxftp` configuration. */
const counted = (name: string) => name !== CONFIG_DIR;

/**
 * Bytes an upload holds in every limited folder it writes under. An upload
 * that replaces a file is credited with that file's size: only what it writes
 * beyond it counts, since the old copy goes when the new one lands.
 */
export class Reservation {
  #taken = 0;
  #open = true;

  constructor(private readonly usages: Usage[], private readonly credit = 0) {
    for (const u of usages) u.writers++;
  }

  /** The part of `taken` bytes that counts against the limits. */
  #counted(taken: number): number {
    return Math.max(0, taken - this.credit);
  }

  /** Takes `n` more bytes in every folder, or none at all when one would pass its limit. */
  take(n: number): boolean {
    const more = this.#counted(this.#taken + n) - this.#counted(this.#taken);
    for (const u of this.usages) if (u.used + u.reserved + more > u.limit) return false;
    for (const u of this.usages) u.reserved += more;
    this.#taken += n;
    return true;
  }

  /** Ends the upload: reserved bytes are released and `delta` becomes part of the usage. */
  settle(delta: number): void {
    if (!this.#open) return;
    this.#open = false;
    for (const u of this.usages) {
      u.reserved -= this.#counted(this.#taken);
      u.used = Math.max(0, u.used + delta);
      u.writers--;
    }
  }
}

/** Usage figures of every limited folder the server has written into. */
export class QuotaBook {
  #usage = new Map<string, Promise<Usage>>();

  constructor(
    private readonly tree: TreeConfig,
    /** The served root and granted folders: limits are looked for up to their top. */
    private readonly areas: readonly string[],
    private readonly staleMs = 60_000,
  ) {}

  /** The folders whose limits count a file at `path`: its ancestors up to the area holding it. */
  foldersOf(path: string): string[] {
    const area = this.areas.find((a) => isInside(a, path));
    const folders: string[] = [];
    if (area === undefined) return folders;
    for (let dir = dirname(path); isInside(area, dir); dir = dirname(dir)) {
      folders.push(dir);
      if (dir === area) break;
    }
    return folders;
  }

  /** Bytes of the files below `folder` that limits count (links not followed). */
  folderSize(folder: string): Promise<number> {
    return this.tree.storage.usage(folder, counted);
  }

  /**
   * A reservation across `folders` (credited with `credit` bytes, the size of
   * a file being replaced); throws `misconfigured` when a limit cannot be read.
   */
  async reserve(folders: readonly string[], credit = 0): Promise<Reservation> {
    const usages: Usage[] = [];
    for (const folder of folders) {
      const limit = await this.tree.sizeLimit(folder);
      if (limit.kind === "broken") {
        throw new Refused("misconfigured", `the size limit of ${folder} cannot be read`);
      }
      if (limit.kind === "limit") usages.push(await this.#usageOf(folder, limit.bytes));
    }
    return new Reservation(usages, credit);
  }

  /** Records a change the server made outside an upload (a delete, a move). */
  async adjust(folders: readonly string[], delta: number): Promise<void> {
    for (const folder of folders) {
      const entry = this.#usage.get(folder);
      if (entry === undefined) continue; // never walked: the first walk counts the change
      const usage = await entry;
      usage.used = Math.max(0, usage.used + delta);
    }
  }

  /** Forgets the figures of `folders`, so they are walked again when next needed. */
  forget(folders: readonly string[]): void {
    for (const folder of folders) this.#usage.delete(folder);
  }

  #usageOf(folder: string, limit: number): Promise<Usage> {
    const now = Date.now();
    const entry = this.#usage.get(folder);
    if (entry) {
      return entry.then((u) => {
        if (u.writers > 0) {
          u.limit = limit; // a walk now would miss the bytes in flight
          return u;
        }
        if (u.limit === limit && now - u.walkedAt <= this.staleMs) return u;
        if (this.#usage.get(folder) === entry) this.#usage.delete(folder);
        return this.#usageOf(folder, limit);
      });
    }
    const walked = this.folderSize(folder).then((used) => ({
      limit,
      used,
      reserved: 0,
      writers: 0,
      walkedAt: Date.now(),
    }));
    this.#usage.set(folder, walked);
    return walked;
  }
}
