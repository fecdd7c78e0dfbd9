/**
 * The protocol-neutral core every door shares: the storage, the tree's own
 * files, the accounts and their throttle, the storage limits, and the
 * containment rules.
 */
import type { Storage } from "../storage/storage.ts";
import { Accounts } from "./accounts.ts";
import { ConnectionLimits } from "./limits.ts";
import { QuotaBook } from "./quota.ts";
import { LoginGuard } from "./throttle.ts";
import { ALL_PERMS, TreeConfig } from "./tree_files.ts";
import { type Confinement, strictConfinement, Vfs } from "./vfs.ts";

/** What the core is told at start. */
export interface CoreOptions {
  /** The served root, as a real storage path. */
  root: string;
  /** Real paths outside the root that virtual directories may point into. */
  allowOutside: readonly string[];
  /** One-folder sharing: anonymous only, with the root as its `/`. */
  share: boolean;
  /** Nobody may change anything, whatever the tree's files grant. */
  readOnly: boolean;
  maxLoginFailures: number;
  banSeconds: number;
  loginFailDelayMs: number;
  /** Connections at once, whole server, all doors. */
  maxConnections: number;
  /** Connections at once from one address, all doors. */
  maxPerIp: number;
}

/** Server-wide services, one instance shared by every door and session. */
export interface Core {
  storage: Storage;
  tree: TreeConfig;
  quota: QuotaBook;
  accounts: Accounts;
  limits: ConnectionLimits;
  /** Real paths virtual directories may point into: the root and granted paths. */
  allowed: readonly string[];
  confinement: Confinement;
  log: (line: string) => void;
  /** A logged-in user's view of the tree. */
  viewOf(home: string): Vfs;
}

/** Builds the core over `storage`. */
export function createCore(
  storage: Storage,
  opts: CoreOptions,
  log: (line: string) => void,
  confinement: Confinement = strictConfinement,
): Core {
  const tree = new TreeConfig(
    storage,
    opts.root,
    log,
    opts.readOnly ? new Set(["read"]) : ALL_PERMS,
  );
  const allowed = [opts.root, ...opts.allowOutside];
  const guard = new LoginGuard({
    maxFailures: opts.maxLoginFailures,
    banSeconds: opts.banSeconds,
    failDelayMs: opts.loginFailDelayMs,
  });
  return {
    storage,
    tree,
    quota: new QuotaBook(tree, allowed),
    accounts: new Accounts(tree, guard, allowed, opts.share, log),
    limits: new ConnectionLimits(opts.maxConnections, opts.maxPerIp, guard),
    allowed,
    confinement,
    log,
    viewOf: (home) => new Vfs(tree, home, allowed, confinement),
  };
}
