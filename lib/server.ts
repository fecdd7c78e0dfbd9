/**
 * Starts the server: the storage, the core over it, and the doors onto the
 * core (FTP/FTPS, HTTP/HTTPS for browsers and the raw get door when asked).
 * A stray error costs one session at most, never the server.
 */
import { showUnder } from "./check.ts";
import { checkTree } from "./core/check.ts";
import { join } from "node:path";
import type { Credential } from "./core/accounts.ts";
import type { ServerStatus } from "./core/activity.ts";
import type { DoorHandle } from "./net/door.ts";
import { createCore } from "./core/core.ts";
import { type EventSink, stamped } from "./core/events.ts";
import type { Confinement } from "./core/vfs.ts";
import { startFtpDoor } from "./ftp/server.ts";
import { startGetDoor } from "./get/server.ts";
import { startHttpDoor } from "./http/server.ts";
import type { TlsOptions } from "./ftp/tls.ts";
import { LIST_PROBE_DIR, LocalStorage } from "./storage/local.ts";
import { openS3Storage, type S3Spec } from "./storage/s3/spec.ts";
import type { Storage } from "./storage/storage.ts";

/** How often a server on an object store looks for uploads a dead instance left. */
const STALE_SWEEP_MS = 10 * 60_000;

/** Everything the server is told at start. */
export interface ServerOptions {
  /** The served root, as a real path (`/` on an object store). */
  root: string;
  /** The tree is kept in an object store (the root is a path in it); absent: a local folder. */
  s3?: S3Spec;
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
  /** With `share`: the one login accepted instead of anonymous (`share --password`). */
  credential?: Credential | null;
  /** Port of the raw get door (`--get-port`; 0 picks a free one); null: no such door. */
  getPort: number | null;
  /** Port of the HTTP door for browsers (`--http`, HTTPS when `tls` is set); null: none. */
  http: number | null;
  /**
   * Check the tree once at start and log its problems, paths written under
   * this form of the root (as it was typed); absent: no check.
   */
  checkShownAs?: string;
}

/** A running server. */
export interface ServerHandle {
  /** Where the FTP door listens (the real port when 0 was asked). */
  addr: Deno.NetAddr;
  /** Where the get door listens, or null when it is off. */
  getAddr: Deno.NetAddr | null;
  /** Where the HTTP door listens, or null when it is off. */
  httpAddr: Deno.NetAddr | null;
  /** Stops accepting, lets transfers finish for up to `graceMs`, then closes every session. */
  stop(graceMs: number): Promise<void>;
  /** Connections and transfers now. */
  status(): Promise<ServerStatus>;
}

/** A door's port is taken; the message names its flag, for the command line to show. */
export class PortInUseError extends Error {
  override name = "PortInUse";
}

/** Starts serving, logging to `sink`; throws (e.g. `AddrInUse`) when a port cannot be opened. */
export async function startServer(
  opts: ServerOptions,
  sink: EventSink,
  confinement?: Confinement,
): Promise<ServerHandle> {
  const log = (message: string) => sink(stamped({ event: "notice", message }));
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    log(`unexpected error (ignored): ${e.reason}`);
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    log(`unexpected error (ignored): ${e.message}`);
  });
  const storage: Storage = opts.s3 ? openS3Storage(opts.s3, log) : new LocalStorage({
    listCache: { probeDir: join(opts.root, LIST_PROBE_DIR) },
    root: opts.root,
  });
  const sweep = async () => {
    const stale = await storage.removeStaleUploads(opts.root).catch((err) => {
      log(`looking for unfinished uploads failed: ${(err as Error).message}`);
      return 0;
    });
    if (stale > 0) log(`removed ${stale} unfinished upload(s) left by an earlier run`);
  };
  await sweep();
  const core = createCore(storage, opts, log, confinement, sink);
  let ftp: DoorHandle;
  try {
    ftp = startFtpDoor(core, opts);
  } catch (err) {
    await storage.close(); // it holds the root's watch
    throw err;
  }
  let get = null;
  try {
    get = opts.getPort === null ? null : startGetDoor(core, { ...opts, port: opts.getPort });
  } catch (err) {
    await ftp.stop(0);
    await storage.close();
    if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    throw new PortInUseError(`--get-port ${opts.getPort} on ${opts.host} is in use`);
  }
  let http = null;
  try {
    http = opts.http === null ? null : startHttpDoor(core, {
      host: opts.host,
      port: opts.http,
      tls: opts.tls && { cert: opts.tls.cert, key: opts.tls.key },
      headTimeoutMs: opts.loginTimeoutMs,
      idleTimeoutMs: opts.idleTimeoutMs,
    });
  } catch (err) {
    await Promise.all([ftp.stop(0), get?.stop(0)]);
    await storage.close();
    if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    throw new PortInUseError(`--http port ${opts.http} on ${opts.host} is in use`);
  }
  let stopping = false;
  if (opts.checkShownAs !== undefined) {
    checkAtStart(storage, opts, opts.checkShownAs, sink).catch((err) => {
      if (!stopping) log(`check: could not read the tree (${(err as Error).message})`);
    });
  }
  // Instances share a bucket: one that died may never come back to clean up after itself.
  const timer = opts.s3 ? setInterval(sweep, STALE_SWEEP_MS) : undefined;
  if (timer !== undefined) Deno.unrefTimer(timer);
  return {
    addr: ftp.addr,
    getAddr: get?.addr ?? null,
    httpAddr: http?.addr ?? null,
    async stop(graceMs) {
      stopping = true;
      clearInterval(timer);
      await Promise.all([ftp.stop(graceMs), get?.stop(graceMs), http?.stop(graceMs)]);
      await storage.close();
    },
    status: () => Promise.resolve(core.activity.snapshot(core.limits.open)),
  };
}

/**
 * Logs, once at start, the problems the checker finds in the tree. Done here,
 * in the server, because its walk also warms the server's listing cache: a
 * big folder is then listed from the cache the first time too.
 */
async function checkAtStart(
  storage: Storage,
  opts: ServerOptions,
  shownAs: string,
  sink: EventSink,
): Promise<void> {
  const show = opts.s3 ? (path: string) => path : showUnder(opts.root, shownAs);
  const checkOpts = { allowOutside: opts.allowOutside, temporaries: false, show, usage: false };
  const report = await checkTree(storage, opts.root, checkOpts);
  for (const p of report.problems) {
    sink(stamped({ event: "config", file: show(p.path), line: p.line, message: p.message }));
  }
  const n = report.problems.length;
  const message = n === 0
    ? "check: no problems in the tree"
    : `check: ${n} problem${
      n === 1 ? "" : "s"
    } in the tree (xxftp check ${shownAs} lists them with a table of users)`;
  sink(stamped({ event: "notice", message }));
  // The walk leaves garbage (~100 MiB for 100,000 files) that V8, under its limit, would keep:
  // collected now when run with --expose-gc (the Makefile's flags), so later listings reuse it.
  (globalThis as { gc?: () => void }).gc?.();
}
