/**
 * Starts the server: the storage, the core over it, and the doors onto the
 * core (FTP/FTPS, and HTTP/HTTPS for browsers). A stray error costs one
 * session at most, never the server.
 */
import { createCore } from "./core/core.ts";
import type { Confinement } from "./core/vfs.ts";
import { startFtpDoor } from "./ftp/server.ts";
import type { TlsOptions } from "./ftp/tls.ts";
import { type HttpDoorHandle, startHttpDoor } from "./http/server.ts";
import { LocalStorage } from "./storage/local.ts";

/** Everything the server is told at start. */
export interface ServerOptions {
  /** The served root, as a real path. */
  root: string;
  /** One-folder sharing: only anonymous logins, and their `/` is the root itself. */
  share: boolean;
  /** Listen address (`--host`). */
  host: string;
  /** Control port (`--port`); 0 picks a free one. */
  port: number;
  /** Passive data port range, inclusive (`--passive-ports`); null: any free port. */
  passivePorts: [number, number] | null;
  /** Address announced in PASV replies (`--public-host`); null: the control connection's own. */
  publicHost: string | null;
  /** Sessions at once, whole server (`--max-connections`). */
  maxConnections: number;
  /** Sessions at once from one address (`--max-per-ip`). */
  maxPerIp: number;
  /** Idle limit of a control connection, and of a transfer that makes no progress. */
  idleTimeoutMs: number;
  /** Time to log in after connecting. */
  loginTimeoutMs: number;
  /** Wait for a data connection, and life of an unused passive listener. */
  dataTimeoutMs: number;
  /** Failed logins from one address before it is held off. */
  maxLoginFailures: number;
  /** Hold-off time, and the window failures are counted in. */
  banSeconds: number;
  /** Delay before the first failed-login reply; it doubles. */
  loginFailDelayMs: number;
  /** Real paths outside the root that virtual directories may point into. */
  allowOutside: string[];
  /** FTPS (RFC 4217), or null for plain FTP only. */
  tls: TlsOptions | null;
  /** Nobody may change anything, whatever the tree's files grant. */
  readOnly: boolean;
  /** Port of the HTTP door for browsers (`--http`, HTTPS when `tls` is set); null: none. */
  http: number | null;
}

/** A running server. */
export interface ServerHandle {
  /** Where the FTP door listens (the real port when 0 was asked). */
  addr: Deno.NetAddr;
  /** Where the HTTP door listens, or null when there is none. */
  httpAddr: Deno.NetAddr | null;
  /** Stops accepting, lets transfers finish for up to `graceMs`, then closes every session. */
  stop(graceMs: number): Promise<void>;
}

/** Starts serving; throws (e.g. `AddrInUse`) when a port cannot be opened. */
export async function startServer(
  opts: ServerOptions,
  log: (line: string) => void,
  confinement?: Confinement,
): Promise<ServerHandle> {
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    log(`unexpected error (ignored): ${e.reason}`);
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    log(`unexpected error (ignored): ${e.message}`);
  });
  const storage = new LocalStorage();
  const stale = await storage.removeStaleUploads(opts.root);
  if (stale > 0) log(`removed ${stale} unfinished upload(s) left by an earlier run`);
  const core = createCore(storage, opts, log, confinement);
  const ftp = startFtpDoor(core, opts);
  let http: HttpDoorHandle | null = null;
  if (opts.http !== null) {
    try {
      http = startHttpDoor(core, {
        host: opts.host,
        port: opts.http,
        tls: opts.tls && { cert: opts.tls.cert, key: opts.tls.key },
        headTimeoutMs: opts.loginTimeoutMs,
        idleTimeoutMs: opts.idleTimeoutMs,
      });
    } catch (err) {
      await ftp.stop(0);
      // The name tells the command line which port it was.
      if (err instanceof Error) err.name = `Http${err.name}`;
      throw err;
    }
  }
  return {
    addr: ftp.addr,
    httpAddr: http?.addr ?? null,
    async stop(graceMs) {
      await Promise.all([ftp.stop(graceMs), http?.stop(graceMs)]);
    },
  };
}
