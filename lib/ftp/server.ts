/**
 * The accept loop: one session per control connection, the connection limits
 * (whole server, per address, held-off addresses), the sweep that enforces
 * idle and login time limits at all times, and shutdown.
 */
import { LoginGuard } from "../core/accounts.ts";
import { BufferPool } from "./buffers.ts";
import type { ServerContext } from "./context.ts";
import { canonicalHost } from "./data_channel.ts";
import { QuotaBook } from "../core/quota.ts";
import { formatReply, replies, type Reply } from "./replies.ts";
import { runSession } from "./control.ts";
import { Session } from "./session.ts";
import { connStream } from "./stream.ts";
import { tlsContext, type TlsOptions } from "./tls.ts";
import { ALL_PERMS, TreeConfig } from "../core/tree_files.ts";
import { removeStaleTemps } from "../core/upload.ts";
import { type Confinement, strictConfinement } from "../core/vfs.ts";

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
}

/** A running server. */
export interface ServerHandle {
  /** Where it listens (the real port when 0 was asked). */
  addr: Deno.NetAddr;
  /** Stops accepting, lets transfers finish for up to `graceMs`, then closes every session. */
  stop(graceMs: number): Promise<void>;
}

const encoder = new TextEncoder();

/** How often the sweep checks the time limits. */
const SWEEP_MS = 500;

/** Starts serving; throws (e.g. `AddrInUse`) when the control port cannot be opened. */
export async function startServer(
  opts: ServerOptions,
  log: (line: string) => void,
  confinement: Confinement = strictConfinement,
): Promise<ServerHandle> {
  // A stray error must cost one session at most, never the server.
  globalThis.addEventListener("unhandledrejection", (e) => {
    e.preventDefault();
    log(`unexpected error (ignored): ${e.reason}`);
  });
  globalThis.addEventListener("error", (e) => {
    e.preventDefault();
    log(`unexpected error (ignored): ${e.message}`);
  });
  const stale = await removeStaleTemps(opts.root);
  if (stale > 0) log(`removed ${stale} unfinished upload(s) left by an earlier run`);
  const tree = new TreeConfig(opts.root, log, opts.readOnly ? new Set(["read"]) : ALL_PERMS);
  const allowed = [opts.root, ...opts.allowOutside];
  const ctx: ServerContext = {
    tree,
    quota: new QuotaBook(tree, allowed),
    guard: new LoginGuard({
      maxFailures: opts.maxLoginFailures,
      banSeconds: opts.banSeconds,
      failDelayMs: opts.loginFailDelayMs,
    }),
    data: {
      timeoutMs: opts.dataTimeoutMs,
      passivePorts: opts.passivePorts,
      publicHost: opts.publicHost,
    },
    allowed,
    share: opts.share,
    confinement,
    log,
    buffers: new BufferPool(),
    tls: opts.tls && {
      context: tlsContext(opts.tls),
      required: opts.tls.required,
      implicit: opts.tls.implicit,
    },
    weakReported: new Set(),
  };
  const listener = Deno.listen({ hostname: opts.host, port: opts.port });
  const sessions = new Set<Session>();
  const perAddress = new Map<string, number>();
  let nextId = 1;

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const s of sessions) {
      if (s.user === null && now - s.loginClockFrom > opts.loginTimeoutMs) {
        void s.close(replies.loginTimeout);
      } else if (s.transfer === null && now - s.lastActivity > opts.idleTimeoutMs) {
        void s.close(replies.idle);
      } else if (s.transfer?.stalled(now, opts.idleTimeoutMs)) {
        void s.close(replies.stalled);
      }
    }
    ctx.guard.prune(now);
  }, SWEEP_MS);

  /** Answers a connection that may not become a session, and closes it. */
  const refuse = (conn: Deno.TcpConn, r: Reply) => {
    const stream = connStream(conn);
    if (ctx.tls?.implicit) return stream.close(); // a TLS client cannot read a clear-text reply
    stream.write(encoder.encode(formatReply(r))).catch(() => {}).finally(() => stream.close());
  };

  const accepting = (async () => {
    for await (const conn of listener) {
      const client = canonicalHost((conn.remoteAddr as Deno.NetAddr).hostname);
      const fromClient = perAddress.get(client) ?? 0;
      if (ctx.guard.isBanned(client)) refuse(conn, replies.banned);
      else if (sessions.size >= opts.maxConnections) refuse(conn, replies.tooMany);
      else if (fromClient >= opts.maxPerIp) {
        refuse(conn, { code: 421, lines: ["Too many connections from your address."] });
      } else {
        perAddress.set(client, fromClient + 1);
        const local = (conn.localAddr as Deno.NetAddr).hostname;
        const session = new Session(nextId++, connStream(conn), client, local, ctx);
        sessions.add(session);
        runSession(session).catch((err) => session.log(`session error: ${err}`)).finally(() => {
          sessions.delete(session);
          const left = (perAddress.get(client) ?? 1) - 1;
          if (left > 0) perAddress.set(client, left);
          else perAddress.delete(client);
        });
      }
    }
  })().catch((err) => log(`accept loop ended: ${err}`));

  return {
    addr: listener.addr as Deno.NetAddr,
    async stop(graceMs) {
      listener.close();
      clearInterval(sweep);
      await accepting;
      const transfers = [...sessions].map((s) => s.transfer?.done).filter((d) => d !== undefined);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const grace = new Promise((r) => timer = setTimeout(r, graceMs));
      await Promise.race([Promise.all(transfers), grace]);
      clearTimeout(timer);
      await Promise.all([...sessions].map((s) => s.close(replies.shuttingDown)));
    },
  };
}
