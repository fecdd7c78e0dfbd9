/**
 * Login throttling per client address, shared by every door: failures are
 * answered after a growing delay and, repeated, hold the address off.
 * Failures are throttled, not successes: checks from one address run side by
 * side only while the address has failures left in its budget, so parallel
 * connections cannot try more passwords than that budget, and good logins do
 * not queue behind each other.
 */

/** Tunables of login throttling. */
export interface GuardOptions {
  /** Failures from one address within `banSeconds` before it is held off. */
  maxFailures: number;
  /** How long an address is held off, and the window failures are counted in. */
  banSeconds: number;
  /** Delay before answering the first failed login; it doubles up to 16 times this. */
  failDelayMs: number;
}

interface Record {
  failures: number;
  firstAt: number;
  bannedUntil: number;
}

interface Gate {
  running: number;
  waiting: (() => void)[];
}

/**
 * What a login attempt came to: success, held off before it was tried, or a
 * failure with the delay before it is answered and whether it started a hold-off.
 */
export type Verdict = "ok" | "banned" | { failedDelayMs: number; banned: boolean };

/** Per-address failure counts, delays and hold-offs, for the whole server. */
export class LoginGuard {
  #byAddress = new Map<string, Record>();
  #gates = new Map<string, Gate>();

  constructor(private readonly opts: GuardOptions) {}

  /** How long an address is held off. */
  get banSeconds(): number {
    return this.opts.banSeconds;
  }

  /** Whether `address` is held off right now. */
  isBanned(address: string, now = Date.now()): boolean {
    const r = this.#byAddress.get(address);
    return r !== undefined && r.bannedUntil > now;
  }

  /** Runs `check` once the address has a failure to spare for it, and records the outcome. */
  async attempt(address: string, check: () => Promise<boolean>): Promise<Verdict> {
    const gate = this.#gates.get(address) ?? { running: 0, waiting: [] };
    this.#gates.set(address, gate);
    while (this.#failures(address) + gate.running >= this.opts.maxFailures) {
      if (this.isBanned(address)) return this.#leave(address, gate, "banned");
      await new Promise<void>((r) => gate.waiting.push(r));
    }
    if (this.isBanned(address)) return this.#leave(address, gate, "banned");
    gate.running++;
    let ok = false;
    try {
      ok = await check();
    } finally {
      gate.running--;
    }
    const verdict: Verdict = ok
      ? "ok"
      : { failedDelayMs: this.fail(address), banned: this.isBanned(address) };
    if (ok) this.succeed(address);
    return this.#leave(address, gate, verdict);
  }

  /** Wakes the waiting checks (one may now run) and drops an unused gate. */
  #leave(address: string, gate: Gate, verdict: Verdict): Verdict {
    for (const wake of gate.waiting.splice(0)) wake();
    if (gate.running === 0 && this.#gates.get(address) === gate) this.#gates.delete(address);
    return verdict;
  }

  /** Failures that still count: those in the current window, or while held off. */
  #failures(address: string, now = Date.now()): number {
    const r = this.#byAddress.get(address);
    if (r === undefined) return 0;
    const expired = now - r.firstAt > this.opts.banSeconds * 1000 && r.bannedUntil <= now;
    return expired ? 0 : r.failures;
  }

  /** Records a failure; returns how long to wait before answering it. */
  fail(address: string, now = Date.now()): number {
    const windowMs = this.opts.banSeconds * 1000;
    let r = this.#byAddress.get(address);
    if (!r || now - r.firstAt > windowMs && r.bannedUntil <= now) {
      r = { failures: 0, firstAt: now, bannedUntil: 0 };
      this.#byAddress.set(address, r);
    }
    r.failures++;
    if (r.failures >= this.opts.maxFailures) r.bannedUntil = now + windowMs;
    return this.opts.failDelayMs * 2 ** Math.min(r.failures - 1, 4);
  }

  /** A good login forgets the address's failures. */
  succeed(address: string): void {
    this.#byAddress.delete(address);
  }

  /** Drops records that can no longer matter (called from the server's sweep). */
  prune(now = Date.now()): void {
    const windowMs = this.opts.banSeconds * 1000;
    for (const [a, r] of this.#byAddress) {
      if (r.bannedUntil <= now && now - r.firstAt > windowMs) this.#byAddress.delete(a);
    }
  }
}
