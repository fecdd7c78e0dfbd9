/**
 * The FTP door's accept loop: one session per control connection, admitted
 * by the core's connection limits, the sweep that enforces idle and login
 * time limits at all times, and shutdown.
 */
import type { Core } from "../core/core.ts";
import type { AdmitRefusal } from "../core/limits.ts";
import { BufferPool } from "../net/buffers.ts";
import type { ServerContext } from "./context.ts";
import { runSession } from "./control.ts";
import { PassivePorts } from "./passive_ports.ts";
import { canonicalHost } from "../net/address.ts";
import type { DoorHandle } from "../net/door.ts";
import { formatReply, replies, type Reply, reply } from "./replies.ts";
import { Session } from "./session.ts";
import { acceptLoop } from "../net/accept.ts";
import { connStream } from "../net/stream.ts";
import { tlsContext, type TlsOptions } from "./tls.ts";

/** The FTP door's own settings. */
export interface FtpOptions {
  /** Listen address (`--host`). */
  host: string;
  /** Control port (`--port`); 0 picks a free one. */
  port: number;
  /** Passive data port range, inclusive (`--passive-ports`); null: any free port. */
  passivePorts: [number, number] | null;
  /** Address announced in PASV replies (`--public-host`); null: the control connection's own. */
  publicHost: string | null;
  /** Idle limit of a control connection, and of a transfer that makes no progress. */
  idleTimeoutMs: number;
  /** Time to log in after connecting. */
  loginTimeoutMs: number;
  /** Wait for a data connection, and life of an unused passive listener. */
  dataTimeoutMs: number;
  /** FTPS (RFC 4217), or null for plain FTP only. */
  tls: TlsOptions | null;
}

const encoder = new TextEncoder();

/** The reply to a connection the limits refuse. */
const refusals: Record<AdmitRefusal, Reply> = {
  "banned": replies.banned,
  "too-many": replies.tooMany,
  "too-many-from-address": reply(421, "Too many connections from your address."),
};

/** How often the sweep checks the time limits. */
const SWEEP_MS = 500;

/** Starts the FTP door; throws (e.g. `AddrInUse`) when the control port cannot be opened. */
export function startFtpDoor(core: Core, opts: FtpOptions): DoorHandle {
  const ctx: ServerContext = {
    core,
    data: {
      timeoutMs: opts.dataTimeoutMs,
      ports: new PassivePorts(opts.passivePorts),
      publicHost: opts.publicHost,
    },
    buffers: new BufferPool(),
    tls: opts.tls && {
      context: tlsContext(opts.tls),
      dataContext: tlsContext(opts.tls, true),
      required: opts.tls.required,
      implicit: opts.tls.implicit,
    },
  };
  const listener = Deno.listen({ hostname: opts.host, port: opts.port });
  const sessions = new Set<Session>();
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
    core.accounts.guard.prune(now);
  }, SWEEP_MS);

  /** Answers a connection that may not become a session, and closes it. */
  const refuse = (conn: Deno.TcpConn, r: Reply) => {
    const stream = connStream(conn);
    if (ctx.tls?.implicit) return stream.close(); // a TLS client cannot read a clear-text reply
    stream.write(encoder.encode(formatReply(r))).catch(() => {}).finally(() => stream.close());
  };

  let stopping = false;
  const take = (conn: Deno.TcpConn) => {
    const client = canonicalHost((conn.remoteAddr as Deno.NetAddr).hostname);
    const release = core.limits.admit(client);
    if (typeof release === "string") {
      core.emit({ event: "refused", ip: client, proto: "ftp", reason: release });
      refuse(conn, refusals[release]);
      return;
    }
    const local = (conn.localAddr as Deno.NetAddr).hostname;
    const session = new Session(nextId++, connStream(conn), client, local, ctx);
    sessions.add(session);
    session.emit({ event: "connect" });
    void runSession(session, () => {
      sessions.delete(session);
      release();
      session.emit({ event: "disconnect", duration_ms: Date.now() - session.connectedAt });
    });
  };
  const accepting = acceptLoop(listener, take, () => stopping, (line) => core.log(line));

  return {
    addr: listener.addr as Deno.NetAddr,
    async stop(graceMs) {
      stopping = true;
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
