/**
 * Browser sessions: a random id in an HttpOnly cookie stands for a user who
 * logged in through the form. The store is server-side, bounded in count, and
 * every session expires after a spell of disuse and after a fixed life,
 * whatever the browser keeps.
 */

/** One logged-in browser. */
export interface Session {
  id: string;
  user: string;
  /** Real path of the user's folder. */
  home: string;
  /** Sent back with every state-changing request (form field or header). */
  csrf: string;
  createdAt: number;
  usedAt: number;
}

/** Limits of the store. */
export interface SessionLimits {
  /** A session unused this long ends. */
  idleMs: number;
  /** A session ends this long after its login, used or not. */
  maxAgeMs: number;
  /** Sessions at once; the oldest goes first. */
  maxCount: number;
}

/** Default limits: two hours idle, a day at most, 10 000 sessions. */
export const SESSION_LIMITS: SessionLimits = {
  idleMs: 2 * 3600_000,
  maxAgeMs: 24 * 3600_000,
  maxCount: 10_000,
};

/** The cookie that carries the session id. */
export const SESSION_COOKIE = "xxftp_session";

/** 32 random bytes, base64url: the id and the CSRF token. */
function token(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
}

/** The server's sessions. */
export class SessionStore {
  /** In creation order, so the first is the oldest. */
  readonly #byId = new Map<string, Session>();

  constructor(private readonly limits: SessionLimits = SESSION_LIMITS) {}

  /** Sessions held now. */
  get size(): number {
    return this.#byId.size;
  }

  /** Starts a session for a user who just logged in. */
  create(user: string, home: string, now = Date.now()): Session {
    while (this.#byId.size >= this.limits.maxCount) {
      this.#byId.delete(this.#byId.keys().next().value!);
    }
    const session = { id: token(), user, home, csrf: token(), createdAt: now, usedAt: now };
    this.#byId.set(session.id, session);
    return session;
  }

  /** The live session of `id`, marked as used; null when there is none or it expired. */
  use(id: string, now = Date.now()): Session | null {
    const s = this.#byId.get(id);
    if (s === undefined) return null;
    if (this.#expired(s, now)) {
      this.#byId.delete(id);
      return null;
    }
    s.usedAt = now;
    return s;
  }

  /** Ends a session (logout). */
  drop(id: string): void {
    this.#byId.delete(id);
  }

  /** Forgets expired sessions. */
  prune(now = Date.now()): void {
    for (const [id, s] of this.#byId) if (this.#expired(s, now)) this.#byId.delete(id);
  }

  #expired(s: Session, now: number): boolean {
    return now - s.usedAt > this.limits.idleMs || now - s.createdAt > this.limits.maxAgeMs;
  }
}

/** The `Set-Cookie` value that gives a browser its session (`Secure` under HTTPS). */
export function sessionCookie(id: string, secure: boolean): string {
  return `${SESSION_COOKIE}=${id}; Path=/; HttpOnly; SameSite=Strict${secure ? "; Secure" : ""}`;
}

/** The `Set-Cookie` value that ends it in the browser. */
export function clearedCookie(secure: boolean): string {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${
    secure ? "; Secure" : ""
  }`;
}

/** The value of cookie `name` in a `Cookie` header, or null. */
export function cookieValue(header: string | null, name: string): string | null {
  if (header === null) return null;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return null;
}

/** Compares two tokens in time that does not depend on where they differ. */
export function sameToken(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}
