/**
 * The usage of a limited folder shared by every server of one storage (an
 * object store several instances serve at once). The figure lives in the
 * tree, in `<folder>/.xxftp/usage`, and is only ever changed by a
 * compare-and-swap write (`Storage.writeTextIf`), so no change of one
 * instance is lost to another's:
 *
 * - `used`: bytes below the folder as last walked, plus every change any
 *   instance made since (uploads landed, files deleted or moved);
 * - `claims`: bytes each instance holds for its uploads in flight, with an
 *   expiry it renews while it holds them, so the claims of an instance that
 *   died lapse.
 *
 * A claim grows only while `used` plus every live claim stays within the
 * limit: instances uploading at once can never pass it together. The figure
 * is walked again when no instance holds a claim and it is older than
 * `staleMs`: that is how changes made outside the servers are noticed.
 */
import { join } from "node:path";
import { type Storage, StorageError } from "../storage/storage.ts";

/** What the ledger object holds. */
interface LedgerState {
  used: number;
  walkedAt: number;
  claims: Record<string, { bytes: number; until: number }>;
}

/** The ledger file of a folder. */
export const LEDGER_FILE = "usage";
/** How long a claim lives unless its instance renews it. */
const CLAIM_TTL_MS = 120_000;
/** Compare-and-swap attempts before giving up (`unavailable`). */
const CAS_ATTEMPTS = 40;
/** Longest pause between two attempts (they back off, with jitter, up to this). */
const MAX_BACKOFF_MS = 250;
/**
 * Claims grow by at least this much, or a 32nd of the limit when that is
 * more (never past the room left), so an upload does not cost a swap per chunk.
 */
const MIN_CLAIM = 1 << 20;

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

function parse(text: string): LedgerState | null {
  try {
    const v = JSON.parse(text);
    if (typeof v?.used !== "number" || typeof v?.walkedAt !== "number") return null;
    return { used: v.used, walkedAt: v.walkedAt, claims: v.claims ?? {} };
  } catch {
    return null;
  }
}

/** One limited folder's shared figure, as one instance sees and changes it. */
export class Ledger {
  /** Bytes this instance holds claimed in the ledger. */
  #claimed = 0;
  /** The last `used` read or written. */
  #used = 0;
  /** A change of this instance could not be recorded: walk the folder at the next swap. */
  #lost = false;
  /** Bytes of settled uploads whose swap has not been made yet: still claimed. */
  #pending = 0;
  #queue: Promise<unknown> = Promise.resolve();
  #renewal: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly storage: Storage,
    private readonly folder: string,
    /** This instance's name in the claims. */
    private readonly instance: string,
    /** Bytes below the folder that limits count (a walk). */
    private readonly walk: () => Promise<number>,
    private readonly staleMs: number,
  ) {}

  /** Bytes this instance holds claimed. */
  get claimed(): number {
    return this.#claimed;
  }

  /** `used` as last seen. */
  get used(): number {
    return this.#used;
  }

  /**
   * Grows this instance's claim so it holds at least `need` bytes, by a
   * little more when there is room; false when the limit leaves no room.
   */
  grow(need: number, limit: number): Promise<boolean> {
    return this.#serial(async () => {
      if (need <= this.#claimed) return true;
      let granted = false;
      await this.#swap((s, now) => {
        const others = this.#othersOf(s, now);
        const room = limit - s.used - others;
        granted = need <= room;
        if (!granted) return null;
        const step = Math.max(MIN_CLAIM, Math.floor(limit / 32));
        const want = Math.min(room, Math.max(need, this.#claimed + step));
        return this.#withClaim(s, want, now);
      });
      return granted;
    });
  }

  /**
   * Records `delta` bytes landed (or gone) and gives back the `release`
   * bytes an upload held, in one swap: until it is made, those bytes stay
   * claimed, so the landed file is counted either way. The claim left is
   * what this instance still holds (`reserved`, asked when the swap is made,
   * plus settled uploads not yet swapped). Never fails: a change that
   * cannot be recorded makes the next swap walk the folder, since a figure
   * short of a change could let the limit be passed.
   */
  settle(delta: number, release: number, reserved: () => number): Promise<void> {
    this.#pending += release;
    return this.#serial(() =>
      this.#swap((s, now, walked) => {
        const held = Math.min(this.#claimed, reserved() + this.#pending - release);
        const next = this.#withClaim(s, held, now);
        // A figure walked just now already holds the change.
        next.used = walked ? s.used : Math.max(0, s.used + delta);
        return next;
      })
    ).catch(() => {
      this.#lost = true;
    }).finally(() => {
      this.#pending -= release;
    });
  }

  /** Stops renewing (the server is stopping); claims left lapse on their own. */
  close(): void {
    clearInterval(this.#renewal);
    this.#renewal = undefined;
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(fn, fn);
    this.#queue = run.catch(() => {});
    return run;
  }

  #othersOf(s: LedgerState, now: number): number {
    let sum = 0;
    for (const [id, c] of Object.entries(s.claims)) {
      if (id !== this.instance && c.until > now) sum += c.bytes;
    }
    return sum;
  }

  /** `s` with this instance's claim set to `bytes` and lapsed claims dropped. */
  #withClaim(s: LedgerState, bytes: number, now: number): LedgerState {
    const claims: LedgerState["claims"] = {};
    for (const [id, c] of Object.entries(s.claims)) {
      if (id !== this.instance && c.until > now) claims[id] = c;
    }
    if (bytes > 0) claims[this.instance] = { bytes, until: now + CLAIM_TTL_MS };
    return { used: s.used, walkedAt: s.walkedAt, claims };
  }

  /**
   * Reads the ledger (walking the folder when there is none or it is stale
   * and idle), applies `change`, and writes the result only if nobody wrote
   * in between; tries again otherwise. `change` returning null writes nothing.
   */
  async #swap(
    change: (s: LedgerState, now: number, walked: boolean) => LedgerState | null,
  ): Promise<void> {
    const path = join(this.folder, ".xxftp", LEDGER_FILE);
    for (let attempt = 0; attempt < CAS_ATTEMPTS; attempt++) {
      const read = await this.storage.readText(path, 1 << 20);
      const now = Date.now();
      let state = read === null ? null : parse(read.text);
      const idle = state !== null && Object.values(state.claims).every((c) => c.until <= now);
      const walked = state === null || this.#lost || (idle && now - state.walkedAt > this.staleMs);
      if (state === null || walked) {
        state = { used: await this.walk(), walkedAt: Date.now(), claims: state?.claims ?? {} };
      }
      const next = change(state, now, walked);
      if (next === null) {
        this.#used = state.used;
        return;
      }
      if (await this.storage.writeTextIf(path, JSON.stringify(next), read?.version ?? null)) {
        if (walked) this.#lost = false;
        this.#used = next.used;
        this.#claimed = next.claims[this.instance]?.bytes ?? 0;
        this.#keepRenewing();
        return;
      }
      await pause(Math.random() * Math.min(MAX_BACKOFF_MS, 10 * 2 ** attempt));
    }
    throw new StorageError("unavailable", `${path}: too many concurrent changes`);
  }

  /** Renews this instance's claim while it holds one. */
  #keepRenewing(): void {
    if (this.#claimed === 0) return this.close();
    if (this.#renewal !== undefined) return;
    this.#renewal = setInterval(() => {
      this.#serial(() =>
        this.#swap((s, now) => (this.#claimed > 0 ? this.#withClaim(s, this.#claimed, now) : null))
      ).catch(() => {}); // a renewal missed is tried at the next tick, well within the claim's life
    }, CLAIM_TTL_MS / 4);
    Deno.unrefTimer(this.#renewal);
  }
}
