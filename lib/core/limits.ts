/**
 * Connection limits shared by every door: the whole server, each client
 * address, and addresses held off after failed logins.
 */
import type { LoginGuard } from "./throttle.ts";

/** Why a connection is refused. */
export type AdmitRefusal = "banned" | "too-many" | "too-many-from-address";

/** Counts connections in; each admitted one is released exactly once. */
export class ConnectionLimits {
  #total = 0;
  #perAddress = new Map<string, number>();

  constructor(
    private readonly max: number,
    private readonly maxPerAddress: number,
    private readonly guard: LoginGuard,
  ) {}

  /** Connections open now. */
  get open(): number {
    return this.#total;
  }

  /** Admits a connection from `address` (canonical form): a release function, or why not. */
  admit(address: string): (() => void) | AdmitRefusal {
    if (this.guard.isBanned(address)) return "banned";
    if (this.#total >= this.max) return "too-many";
    const from = this.#perAddress.get(address) ?? 0;
    if (from >= this.maxPerAddress) return "too-many-from-address";
    this.#total++;
    this.#perAddress.set(address, from + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = (this.#perAddress.get(address) ?? 1) - 1;
      if (left > 0) this.#perAddress.set(address, left);
      else this.#perAddress.delete(address);
    };
  }
}
