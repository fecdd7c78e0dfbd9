/**
 * The protocol-neutral core every door shares: the storage, the tree's own
 * files, the accounts and their throttle, the storage limits, and the
 * containment rules.
 */
import type { Storage } from "../storage/storage.ts";
import { Accounts, type Credential } from "./accounts.ts";
import { Activity } from "./activity.ts";
import { describe, type EventInput, type EventSink, stamped } from "./events.ts";
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
  /** One-folder sharing with a login kept in memory only (`share --password`); anonymous is then refused. */
  credential?: Credential | null;
}

/** Server-wide services, one instance shared by every door and session. */
export interface Core {
  storage: Storage;
  tree: TreeConfig;
  quota: QuotaBook;
  accounts: Accounts;
  limits: ConnectionLimits;
  /** Transfers running and bytes moved, for a status line. */
  activity: Activity;
  /** Real paths virtual directories may point into: the root and granted paths. */
  allowed: readonly string[];
  confinement: Confinement;
  /** Logs a line of free text (a notice). */
  log: (line: string) => void;
  /** Logs an event (the time and missing common fields are filled in). */
  emit: (e: EventInput) => void;
  /** A logged-in user's view of the tree. */
  viewOf(home: string): Vfs;
}

/**
 * Builds the core over `storage`. Events go to `sink`; without one they are
 * written as text lines through `log`.
 */
export function createCore(
  storage: Storage,
  opts: CoreOptions,
  log: (line: string) => void,
  confinement: Confinement = strictConfinement,
  sink?: EventSink,
): Core {
  const tree = new TreeConfig(
    storage,
    opts.root,
    log,
    opts.readOnly ? new Set(["read"]) : ALL_PERMS,
  );
  const allowed = [opts.root, ...opts.allowOutside];
  /** One view per home (a Vfs keeps no session state), not one per login: at most one per user folder. */
  const views = new Map<string, Vfs>();
  const guard = new LoginGuard({
    maxFailures: opts.maxLoginFailures,
    banSeconds: opts.banSeconds,
    failDelayMs: opts.loginFailDelayMs,
  });
  return {
    storage,
    tree,
    quota: new QuotaBook(tree, allowed),
    accounts: new Accounts(tree, guard, allowed, opts.share, log, opts.credential ?? null),
    limits: new ConnectionLimits(opts.maxConnections, opts.maxPerIp, guard),
    activity: new Activity(),
    allowed,
    confinement,
    log,
    emit: sink ? (e) => sink(stamped(e)) : (e) => log(describe(stamped(e))),
    viewOf: (home) => {
      let view = views.get(home);
      if (view === undefined) views.set(home, view = new Vfs(tree, home, allowed, confinement));
      return view;
    },
  };
}
