/**
 * The HTTP door's front: it owns the public port. `Deno.serve` bounds the
 * size of a request head but not the time it takes, never closes an idle
 * keep-alive connection, and shows a connection to no one before its first
 * request; so the door accepts connections itself (TLS ended here), admits
 * each through the core's connection limits like an FTP session, enforces the
 * time limits, and relays the bytes to a `Deno.serve` bound to loopback. The
 * handler finds the client of a request by the relay's local port.
 */
import type { Core } from "../core/core.ts";
import type { EventInput } from "../core/events.ts";
import type { AdmitRefusal } from "../core/limits.ts";
import { acceptLoop } from "../net/accept.ts";
import { canonicalHost } from "../net/address.ts";

/** What the front is told. */
export interface FrontOptions {
  host: string;
  port: number;
  /** PEM certificate and key: the port speaks HTTPS. */
  tls: { cert: string; key: string } | null;
  /** Time from connecting to the end of the first request head. */
  headTimeoutMs: number;
  /** Time between requests, and without a byte moving while one is served. */
  idleTimeoutMs: number;
}

/** Bytes relayed per read, each way. */
const CHUNK = 128 * 1024;
/** How often the time limits are checked. */
const SWEEP_MS = 500;

/** The status line and text for a connection the limits refuse. */
const REFUSALS: Record<AdmitRefusal, [string, string]> = {
  "banned": ["429 Too Many Requests", "Too many failed logins; try again later."],
  "too-many": ["503 Service Unavailable", "Too many connections; try again later."],
  "too-many-from-address": ["429 Too Many Requests", "Too many connections from your address."],
};

/** One client connection and its relay to the inner server. */
export class Relay {
  /** Requests being served on this connection. */
  #inFlight = 0;
  #served = false;
  #idleSince = Date.now();
  #lastMoved = Date.now();
  /** When a write that has not finished began, per direction (to the client, to the server). */
  readonly writing: [number | null, number | null] = [null, null];
  #closed = false;
  /** The last user a request on this connection logged in as (a login is logged once). */
  user: string | null = null;
  readonly connectedAt = Date.now();

  constructor(
    /** The connection's number, for the log. */
    readonly id: number,
    /** The client's canonical address. */
    readonly address: string,
    /** The connection came in over TLS. */
    readonly secure: boolean,
    readonly outer: Deno.Conn,
    readonly inner: Deno.TcpConn,
    private readonly core: Core,
  ) {}

  /** Logs an event of this connection (its number, address and door filled in). */
  emit(e: EventInput): void {
    const proto = this.secure ? "https" : "http";
    this.core.emit({ session: this.id, ip: this.address, user: this.user, proto, ...e });
  }

  /** A request on this connection starts being served. */
  begin(): void {
    this.#inFlight++;
  }

  /** A request on this connection has been answered (or given up). */
  end(): void {
    this.#inFlight--;
    this.#served = true;
    if (this.#inFlight === 0) this.#idleSince = Date.now();
  }

  /** No request is being served on this connection. */
  get idle(): boolean {
    return this.#inFlight === 0;
  }

  /** Bytes moved one way or the other. */
  moved(): void {
    this.#lastMoved = Date.now();
  }

  /** Whether a time limit has passed at `now`. */
  expired(now: number, opts: FrontOptions): boolean {
    if (this.writing.some((since) => since !== null && now - since > opts.idleTimeoutMs)) {
      return true;
    }
    if (this.#inFlight > 0) return now - this.#lastMoved > opts.idleTimeoutMs;
    const limit = this.#served ? opts.idleTimeoutMs : opts.headTimeoutMs;
    return now - this.#idleSince > limit;
  }

  /** Closes both sides (again is harmless). */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const c of [this.outer, this.inner]) {
      try {
        c.close();
      } catch {
        // already closed by the other side
      }
    }
  }

  /** Relays until either side is done: a client's end of sending is passed on. */
  async run(): Promise<void> {
    const up = this.#pump(this.outer, this.inner, 1);
    const down = this.#pump(this.inner, this.outer, 0);
    // The server side ending means no more responses: the connection is over.
    await Promise.race([down, up.then((clean) => clean ? down : false)]);
    this.close();
    await Promise.allSettled([up, down]);
  }

  /** Copies `from` to `to` until the end; true when it ended cleanly (then `to` is told). */
  async #pump(from: Deno.Conn, to: Deno.Conn, dir: 0 | 1): Promise<boolean> {
    const buf = new Uint8Array(CHUNK);
    try {
      for (let n = await from.read(buf); n !== null; n = await from.read(buf)) {
        this.moved();
        this.writing[dir] = Date.now();
        for (let done = 0; done < n;) done += await to.write(buf.subarray(done, n));
        this.writing[dir] = null;
        this.moved();
      }
      await to.closeWrite();
      return true;
    } catch {
      return false;
    }
  }
}

/** A running front. */
export interface Front {
  addr: Deno.NetAddr;
  /** The relay a request of the inner server came through, by its remote address. */
  relayOf(remote: Deno.NetAddr): Relay | undefined;
  /** Relays open now. */
  readonly relays: ReadonlySet<Relay>;
  /** Stops accepting (open relays go on). */
  close(): Promise<void>;
}

const encoder = new TextEncoder();

/** Answers a connection the limits refuse, and closes it. */
async function refuse(conn: Deno.Conn, why: AdmitRefusal): Promise<void> {
  const [status, text] = REFUSALS[why];
  const head = `HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
    `Content-Length: ${text.length + 1}\r\nRetry-After: 60\r\nConnection: close\r\n\r\n`;
  try {
    await conn.write(encoder.encode(`${head}${text}\n`));
  } catch {
    // the client is gone, or spoke no TLS
  }
  conn.close();
}

/** Starts the front before `innerPort`; throws (e.g. `AddrInUse`) when the port cannot be opened. */
export function startFront(core: Core, opts: FrontOptions, innerPort: number): Front {
  const listener = opts.tls
    ? Deno.listenTls({
      hostname: opts.host,
      port: opts.port,
      cert: opts.tls.cert,
      key: opts.tls.key,
      alpnProtocols: ["http/1.1"],
    })
    : Deno.listen({ hostname: opts.host, port: opts.port });
  const relays = new Set<Relay>();
  const byPort = new Map<number, Relay>();
  const proto = opts.tls ? "https" : "http";
  let nextId = 1;

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const r of relays) if (r.expired(now, opts)) r.close();
  }, SWEEP_MS);

  const serve = async (conn: Deno.Conn, address: string, release: () => void) => {
    const id = nextId++;
    let inner: Deno.TcpConn | null = null;
    try {
      inner = await Deno.connect({ hostname: "127.0.0.1", port: innerPort });
      inner.setNoDelay(true);
      const relay = new Relay(id, address, opts.tls !== null, conn, inner, core);
      const port = (inner.localAddr as Deno.NetAddr).port;
      relays.add(relay);
      byPort.set(port, relay);
      relay.emit({ event: "connect" });
      try {
        await relay.run();
      } finally {
        relays.delete(relay);
        byPort.delete(port);
        relay.emit({ event: "disconnect", duration_ms: Date.now() - relay.connectedAt });
      }
    } catch (err) {
      const message = `relay failed: ${(err as Error).message}`;
      core.emit({ event: "notice", session: id, ip: address, proto, message });
      conn.close();
      inner?.close();
    } finally {
      release();
    }
  };

  let stopping = false;
  const take = (conn: Deno.Conn) => {
    const address = canonicalHost((conn.remoteAddr as Deno.NetAddr).hostname);
    const release = core.limits.admit(address);
    if (typeof release === "string") {
      core.emit({ event: "refused", ip: address, proto, reason: release });
      void refuse(conn, release);
      return;
    }
    if (opts.tls === null) (conn as Deno.TcpConn).setNoDelay(true);
    void serve(conn, address, release);
  };
  const accepting = acceptLoop(
    listener,
    take,
    () => stopping,
    (message) => core.emit({ event: "notice", proto, message }),
  );

  return {
    addr: listener.addr as Deno.NetAddr,
    relays,
    relayOf(remote) {
      if (remote.hostname !== "127.0.0.1") return undefined;
      return byPort.get(remote.port);
    },
    async close() {
      stopping = true;
      listener.close();
      clearInterval(sweep);
      await accepting;
    },
  };
}
