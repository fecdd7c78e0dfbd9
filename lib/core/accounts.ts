/**
 * Passwords and login throttling: legacy MD5 files and salted scrypt hashes,
 * both compared in constant time; growing delays after failures and a
 * hold-off for an address that keeps failing.
 */
import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";

/** scrypt cost parameters written by `xxftp passwd` (N=2^15, about 32 MiB). */
const SCRYPT = { N: 32768, r: 8, p: 1, keylen: 32, maxmem: 64 * 1024 * 1024 };

function scryptAsync(
  password: string,
  salt: Uint8Array,
  p: { N: number; r: number; p: number; keylen: number },
): Promise<Uint8Array> {
  return new Promise((resolve, reject) =>
    scrypt(
      password,
      salt,
      p.keylen,
      { N: p.N, r: p.r, p: p.p, maxmem: SCRYPT.maxmem },
      (err, key) => err ? reject(err) : resolve(new Uint8Array(key)),
    )
  );
}

/** A self-describing line: `scrypt$N=32768,r=8,p=1$<salt base64>$<hash base64>`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = new Uint8Array(randomBytes(16));
  const key = await scryptAsync(password, salt, SCRYPT);
  const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
  return `scrypt$N=${SCRYPT.N},r=${SCRYPT.r},p=${SCRYPT.p}$${b64(salt)}$${b64(key)}`;
}

/** The kinds of stored password a file may hold. */
export type StoredKind = "md5" | "scrypt" | "invalid";

/** What kind of stored password a line is. */
export function storedKind(stored: string): StoredKind {
  if (/^[0-9a-fA-F]{32}$/.test(stored)) return "md5"; // the original wrote lowercase; accept either
  if (parseScrypt(stored) !== null) return "scrypt";
  return "invalid";
}

interface ScryptLine {
  N: number;
  r: number;
  p: number;
  salt: Uint8Array;
  key: Uint8Array;
}

function parseScrypt(stored: string): ScryptLine | null {
  const m =
    /^scrypt\$N=(\d{1,7}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/=]{4,64})\$([A-Za-z0-9+/=]{4,128})$/
      .exec(stored);
  if (!m) return null;
  const [N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (N < 2 || (N & (N - 1)) !== 0 || N > 1 << 20 || r < 1 || p < 1) return null;
  try {
    const bytes = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    return { N, r, p, salt: bytes(m[4]), key: bytes(m[5]) };
  } catch {
    return null;
  }
}

/** Parameters worked through when there is no scrypt line, so every check costs the same. */
const DUMMY: ScryptLine = {
  N: SCRYPT.N,
  r: SCRYPT.r,
  p: SCRYPT.p,
  salt: new Uint8Array(16),
  key: new Uint8Array(SCRYPT.keylen),
};

/**
 * Checks `password` against a stored line (null: the user does not exist).
 * Every call does one scrypt, so an unknown user, a legacy MD5 user and a
 * scrypt user cost the same time.
 */
export async function verifyPassword(stored: string | null, password: string): Promise<boolean> {
  const kind = stored === null ? "invalid" : storedKind(stored);
  const s = (kind === "scrypt" && stored !== null ? parseScrypt(stored) : null) ?? DUMMY;
  const key = await scryptAsync(password, s.salt, { N: s.N, r: s.r, p: s.p, keylen: s.key.length });
  if (kind === "scrypt") return timingSafeEqual(key, s.key);
  if (kind === "md5" && stored !== null) {
    const given = createHash("md5").update(password).digest("hex");
    const want = stored.toLowerCase();
    return timingSafeEqual(new TextEncoder().encode(given), new TextEncoder().encode(want));
  }
  return false;
}

/** Tunables of login throttling. */
export interface GuardOptions {
  /** Failures from one address within `banSeconds` before it is held off. */
  maxFailures: number;
  /** How long an address is held off, and the window failures are counted in. */
  banSeconds: number;
  /** Delay before answering the first failed PASS; it doubles up to 16 times this. */
  failDelayMs: number;
}

interface Record {
  failures: number;
  firstAt: number;
  bannedUntil: number;
}

/**
 * Per-address failure counts, delays and hold-offs, for the whole server.
 * Password checks from one address run one at a time, so parallel
 * connections cannot try more than `maxFailures` passwords before the
 * hold-off starts.
 */
export class LoginGuard {
  #byAddress = new Map<string, Record>();
  #turns = new Map<string, Promise<void>>();

  constructor(private readonly opts: GuardOptions) {}

  /** Whether `address` is held off right now. */
  isBanned(address: string, now = Date.now()): boolean {
    const r = this.#byAddress.get(address);
    return r !== undefined && r.bannedUntil > now;
  }

  /** Runs `check` once no other check from `address` is under way. */
  async oneAtATime<T>(address: string, check: () => Promise<T>): Promise<T> {
    const before = this.#turns.get(address) ?? Promise.resolve();
    let release = () => {};
    const mine = before.then(() => new Promise<void>((r) => release = r));
    this.#turns.set(address, mine);
    await before;
    try {
      return await check();
    } finally {
      release();
      if (this.#turns.get(address) === mine) this.#turns.delete(address);
    }
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
