/**
 * What every FTP session shares with the server: the core, the data
 * connection settings, transfer buffers and TLS.
 */
import type { SecureContext } from "node:tls";
import type { Core } from "../core/core.ts";
import type { BufferPool } from "../net/buffers.ts";
import type { DataOptions } from "./data_channel.ts";

/** Server-wide services of the FTP door, one instance shared by all sessions. */
export interface ServerContext {
  core: Core;
  data: DataOptions;
  /** Transfer buffers, lent to one transfer at a time. */
  buffers: BufferPool;
  /** TLS, when a certificate was given. */
  tls: {
    context: SecureContext;
    /** Data connections' context (TLS 1.2 at most; see `tlsContext`). */
    dataContext: SecureContext;
    required: boolean;
    implicit: boolean;
  } | null;
}
