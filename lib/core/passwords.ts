/**
 * Passwords: legacy MD5 files and salted scrypt hashes, both compared in
 * constant time, with the same cost for an unknown user.
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

/** Whether a stored line is the original's unsalted MD5 (it wrote lowercase; either is taken). */
export const isMd5 = (stored: string) => /^[0-9a-fA-F]{32}$/.test(stored);

/** What kind of stored password a line is. */
export function storedKind(stored: string): StoredKind {
  if (isMd5(stored)) return "md5";
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
