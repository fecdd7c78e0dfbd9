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
 *
 * On a storage several servers share (`capabilities.shared`), the figure is
 * the folder's ledger (lib/core/ledger.ts) instead: an upload reserves from
 * what this server holds claimed there, and claims more (asynchronously)
 * when that runs out, so servers uploading at once cannot pass a limit
 * together either.
 */
import { dirname } from "node:path";
import { Ledger } from "./ledger.ts";
import { Refused } from "./refusal.ts";
import { CONFIG_DIR, type TreeConfig } from "./tree_files.ts";
import { isInside } from "./vfs.ts";

interface Usage {
  limit: number;
  used: number;
  reserved: number;
  writers: number;
  walkedAt: number;
  /** The shared figure, on a storage several servers serve: then `used` is not consulted. */
  ledger?: Ledger;
}

/** Claims tried in a row for one chunk before giving up (others kept taking what was claimed). */
const CLAIM_ROUNDS = 5;

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

  #more(n: number): number {
    return this.#counted(this.#taken + n) - this.#counted(this.#taken);
  }

  /** Whether `more` bytes fit in every folder now: its limit, or what this server holds claimed. */
  #fits(more: number): boolean {
    return this.usages.every((u) =>
      u.ledger ? u.reserved + more <= u.ledger.claimed : u.used + u.reserved + more <= u.limit
    );
  }

  #apply(n: number, more: number): true {
    for (const u of this.usages) u.reserved += more;
    this.#taken += n;
    return true;
  }

  /**
   * Takes `n` more bytes in every folder, or none at all when one would pass
   * its limit. Synchronous, except when a shared folder's claim must grow.
   */
  take(n: number): boolean | Promise<boolean> {
    const more = this.#more(n);
    if (this.#fits(more)) return this.#apply(n, more);
    if (this.usages.some((u) => !u.ledger && u.used + u.reserved + more > u.limit)) return false;
    return this.#claim(n);
  }

  async #claim(n: number): Promise<boolean> {
    for (let round = 0; round < CLAIM_ROUNDS; round++) {
      const more = this.#more(n);
      for (const u of this.usages) {
        if (!u.ledger) {
          if (u.used + u.reserved + more > u.limit) return false;
        } else if (u.reserved + more > u.ledger.claimed) {
          if (!await u.ledger.grow(u.reserved + more, u.limit)) return false;
        }
      }
      if (this.#fits(more)) return this.#apply(n, more);
    }
    return false;
  }

  /** Ends the upload: reserved bytes are released and `delta` becomes part of the usage. */
  settle(delta: number): Promise<void> {
    if (!this.#open) return Promise.resolve();
    this.#open = false;
    const shared: Promise<void>[] = [];
    const release = this.#counted(this.#taken);
    for (const u of this.usages) {
      u.reserved -= release;
      u.used = Math.max(0, u.used + delta);
      u.writers--;
      if (u.ledger) shared.push(u.ledger.settle(delta, release, () => u.reserved));
    }
    return Promise.all(shared).then(() => {});
  }
}

/** Usage figures of every limited folder the server has written into. */
export class QuotaBook {
  #usage = new Map<string, Promise<Usage>>();
  /** Usage of shared folders, by folder: a ledger each. */
  #shared = new Map<string, Usage>();
  /** This server's name in shared ledgers. */
  readonly #instance = crypto.randomUUID();

  constructor(
    private readonly tree: TreeConfig,
    /** The served root and granted folders: limits are looked for up to their top. */
    private readonly areas: readonly string[],
    private readonly staleMs = 60_000,
  ) {}

  /** The usage of a folder several servers share: its ledger. */
  #sharedUsage(folder: string, limit: number): Usage {
    let u = this.#shared.get(folder);
    if (u === undefined) {
      const walk = () => this.folderSize(folder);
      const ledger = new Ledger(this.tree.storage, folder, this.#instance, walk, this.staleMs);
      u = { limit, used: 0, reserved: 0, writers: 0, walkedAt: 0, ledger };
      this.#shared.set(folder, u);
    }
    u.limit = limit;
    return u;
  }

  /** Whether limits are kept in shared ledgers (several servers serve the storage). */
  get #isShared(): boolean {
    return this.tree.storage.capabilities.shared;
  }

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
      if (limit.kind !== "limit") continue;
      usages.push(
        this.#isShared
          ? this.#sharedUsage(folder, limit.bytes)
          : await this.#usageOf(folder, limit.bytes),
      );
    }
    return new Reservation(usages, credit);
  }

  /** Records a change the server made outside an upload (a delete, a move). */
  async adjust(folders: readonly string[], delta: number): Promise<void> {
    if (this.#isShared) {
      for (const folder of folders) {
        const limit = await this.tree.sizeLimit(folder);
        if (limit.kind !== "limit") continue;
        const u = this.#sharedUsage(folder, limit.bytes);
        await u.ledger?.settle(delta, 0, () => u.reserved);
      }
      return;
    }
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
