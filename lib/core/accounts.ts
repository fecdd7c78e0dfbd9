/**
 * Who may log in, for every door: a user exists iff ROOT/<user>/ does;
 * `anonymous` (and `ftp`) take any password; other users need the one in
 * their `.xxftp/password`, if any. Checks go through the address's throttle;
 * verified logins are cached and identical checks in flight are shared, so
 * only a new password pays for the slow hash.
 */
import { join } from "node:path";
import { StorageError } from "../storage/storage.ts";
import { LoginCache } from "./login_cache.ts";
import { isMd5, verifyPassword } from "./passwords.ts";
import type { LoginGuard } from "./throttle.ts";
import type { TreeConfig } from "./tree_files.ts";
import { isInside } from "./vfs.ts";

/** A valid user name: letters, digits, underscore. */
export const USER_NAME = /^[A-Za-z0-9_]{1,64}$/;

/** The names of the anonymous user. */
const ANONYMOUS = new Set(["anonymous", "ftp"]);

/** The account a login name stands for (`ftp` is `anonymous`), or null when it is no valid name. */
export function accountName(given: string): string | null {
  const name = given === "" ? "anonymous" : given;
  if (!USER_NAME.test(name)) return null;
  return ANONYMOUS.has(name.toLowerCase()) ? "anonymous" : name;
}

/** A login kept in memory only (`share --password`): the user, and its password line (a hash). */
export interface Credential {
  user: string;
  /** A line as a password file holds it (`hashPassword`); the password itself is never kept. */
  stored: string;
}

/** What a login came to. */
export type LoginResult =
  | { kind: "ok"; user: string; home: string }
  /** `banned`: this failure started a hold-off. */
  | { kind: "failed"; delayMs: number; banned: boolean }
  | { kind: "banned" };

/** The accounts of a served tree. */
export class Accounts {
  readonly #cache = new LoginCache();
  readonly #inFlight = new Map<string, Promise<boolean>>();
  readonly #weakReported = new Set<string>();

  constructor(
    private readonly tree: TreeConfig,
    readonly guard: LoginGuard,
    /** Real paths a user folder may lie in: the root and granted paths. */
    private readonly allowed: readonly string[],
    /** One-folder sharing: only anonymous (or the credential's user), with the root as its `/`. */
    private readonly share: boolean,
    private readonly log: (line: string) => void,
    /** In one-folder sharing, the one login accepted instead of anonymous. */
    private readonly credential: Credential | null = null,
  ) {}

  /** The real path of a user's folder, or null when there is no such user. */
  async homeOf(user: string): Promise<string | null> {
    const { root, storage } = this.tree;
    if (this.share) return user === (this.credential?.user ?? "anonymous") ? root : null;
    try {
      const home = await storage.realPath(join(root, user));
      const stat = await storage.stat(home);
      return stat?.isDir && this.allowed.some((a) => isInside(a, home)) ? home : null;
    } catch (err) {
      // A store that cannot answer now is no reason to count a failed login.
      if (err instanceof StorageError && err.kind === "unavailable") throw err;
      return null;
    }
  }

  /** Checks a login for `user` (an account name) from `address`. */
  async login(user: string, password: string, address: string): Promise<LoginResult> {
    const home = await this.homeOf(user);
    const stored = home === null
      ? null
      : this.share && this.credential !== null
      ? this.credential.stored
      : await this.tree.password(home);
    if (home !== null && (user === "anonymous" || stored === null)) {
      return { kind: "ok", user, home };
    }
    if (this.guard.isBanned(address)) return { kind: "banned" };
    const mac = this.#cache.mac(password);
    const known = home !== null && stored !== null && this.#cache.has(user, stored, mac);
    const verdict = known ? "ok" : await this.guard.attempt(
      address,
      () => this.#verify(user, stored, password, mac),
    );
    if (verdict === "banned") return { kind: "banned" };
    if (verdict !== "ok" || home === null) {
      return verdict === "ok"
        ? { kind: "failed", delayMs: 0, banned: false }
        : { kind: "failed", delayMs: verdict.failedDelayMs, banned: verdict.banned };
    }
    if (known) this.guard.succeed(address);
    // Not storedKind: it decodes a whole scrypt line, on every login (~9 µs).
    if (stored !== null && isMd5(stored) && !this.#weakReported.has(user)) {
      this.#weakReported.add(user);
      this.log(
        `user "${user}" has a legacy MD5 password; set a strong one with: xxftp passwd ${user}`,
      );
    }
    return { kind: "ok", user, home };
  }

  /** One slow check, shared by identical attempts in flight; a success is cached. */
  #verify(user: string, stored: string | null, password: string, mac: Uint8Array) {
    if (stored === null) return verifyPassword(null, password); // unknown: same cost, never shared
    if (this.#cache.has(user, stored, mac)) return Promise.resolve(true);
    const key = `${user}\n${stored}\n${btoa(String.fromCharCode(...mac))}`;
    let check = this.#inFlight.get(key);
    if (check === undefined) {
      check = verifyPassword(stored, password).catch(() => false).then((ok) => {
        if (ok) this.#cache.add(user, stored, mac);
        return ok;
      }).finally(() => this.#inFlight.delete(key));
      this.#inFlight.set(key, check);
    }
    return check;
  }
}
