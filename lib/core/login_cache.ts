/**
 * Verified logins, remembered so a returning user does not pay for a slow
 * hash again. An entry is tied to the exact stored password line (a changed
 * file misses), holds a keyed hash of the password under a random key made
 * per process (never the password), is compared in constant time, and the
 * cache is bounded (oldest out first).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** Entries kept at most. */
const MAX_ENTRIES = 4096;

/** Verified (user, stored line, password) triples, as keyed hashes. */
export class LoginCache {
  readonly #key = randomBytes(32);
  #entries = new Map<string, Uint8Array>();

  constructor(private readonly max = MAX_ENTRIES) {}

  /** The keyed hash of a password; also names an attempt in flight. */
  mac(password: string): Uint8Array {
    return new Uint8Array(createHmac("sha256", this.#key).update(password).digest());
  }

  /** Whether this password was verified for this user and this exact stored line. */
  has(user: string, stored: string, mac: Uint8Array): boolean {
    const known = this.#entries.get(`${user}\n${stored}`);
    return known !== undefined && timingSafeEqual(known, mac);
  }

  /** Remembers a verified password. */
  add(user: string, stored: string, mac: Uint8Array): void {
    const key = `${user}\n${stored}`;
    this.#entries.delete(key);
    this.#entries.set(key, mac);
    if (this.#entries.size > this.max) {
      this.#entries.delete(this.#entries.keys().next().value as string);
    }
  }
}
