/**
 * What every session shares with the server: settings, the tree reader, the
 * quota book, the login guard and the log.
 */
import type { LoginGuard } from "../core/accounts.ts";
import type { BufferPool } from "./buffers.ts";
import type { DataOptions } from "./data_channel.ts";
import type { QuotaBook } from "../core/quota.ts";
import type { TreeConfig } from "../core/tree_files.ts";
import type { SecureContext } from "node:tls";
import type { Confinement } from "../core/vfs.ts";

/** Server-wide services, one instance shared by all sessions. */
export interface ServerContext {
  tree: TreeConfig;
  quota: QuotaBook;
  guard: LoginGuard;
  data: DataOptions;
  /** Real paths virtual directories may point into: the root and granted paths. */
  allowed: readonly string[];
  /** One-folder sharing: anonymous only, with the root as its `/`. */
  share: boolean;
  confinement: Confinement;
  log: (line: string) => void;
  /** Transfer buffers, lent to one transfer at a time. */
  buffers: BufferPool;
  /** TLS, when a certificate was given. */
  tls: { context: SecureContext; required: boolean; implicit: boolean } | null;
  /** Users whose legacy MD5 password was already reported as weak. */
  weakReported: Set<string>;
}
