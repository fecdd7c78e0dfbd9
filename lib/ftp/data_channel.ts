/**
 * Data connections: PASV/EPSV listeners and PORT/EPRT targets, the parsers of
 * their arguments, the RFC 2577 bounce check, refusal of passive connections
 * from any address but the client's, and the data-wait time limit.
 */
import type { Socket } from "node:net";
import type { PassivePorts } from "./passive_ports.ts";
import { type DataLink, NodeListener } from "../net/node_socket.ts";
import { replies, type Reply, reply } from "./replies.ts";
import { canonicalHost } from "../net/address.ts";
import { type ByteStream, ConnectionLost, connStream, isNetworkError } from "../net/stream.ts";

/** A host and port a data connection goes to. */
export interface HostPort {
  hostname: string;
  port: number;
}

/** Parses PORT's `h1,h2,h3,h4,p1,p2`; null when it is not six numbers 0–255. */
export function parsePortArg(arg: string): HostPort | null {
  const m = /^\s*(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3}),(\d{1,3})\s*$/.exec(arg);
  if (!m) return null;
  const n = m.slice(1).map(Number);
  if (n.some((x) => x > 255)) return null;
  return { hostname: n.slice(0, 4).join("."), port: n[4] * 256 + n[5] };
}

/** Parses EPRT's `<d>proto<d>address<d>port<d>` (RFC 2428); null when malformed. */
export function parseEprtArg(arg: string): HostPort | null {
  const d = arg.charAt(0);
  if (d === "" || d.charCodeAt(0) < 33 || d.charCodeAt(0) > 126 || /[0-9a-fA-F.:]/.test(d)) {
    return null;
  }
  const fields = arg.split(d);
  if (fields.length !== 5 || fields[0] !== "" || fields[4] !== "") return null;
  const [, proto, address, portText] = fields;
  if (!/^\d{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  if (proto === "1" && /^\d{1,3}(\.\d{1,3}){3}$/.test(address)) {
    if (address.split(".").some((x) => Number(x) > 255)) return null;
    return { hostname: address, port };
  }
  if (proto === "2" && /^[0-9a-fA-F:.]+$/.test(address) && address.includes(":")) {
    try {
      new URL(`http://[${address}]/`);
    } catch {
      return null;
    }
    return { hostname: canonicalHost(address), port };
  }
  return null;
}

/** PASV's `(h1,h2,h3,h4,p1,p2)` text for an IPv4 address; null for IPv6. */
export function formatPasv(host: string, port: number): string | null {
  const v4 = canonicalHost(host);
  if (!/^\d+\.\d+\.\d+\.\d+$/.test(v4)) return null;
  return `${v4.replaceAll(".", ",")},${port >> 8},${port & 255}`;
}

/** Refuses an active-mode target that is not the client's own address or uses a privileged port. */
export function checkActiveTarget(target: HostPort, clientHost: string): Reply | null {
  if (canonicalHost(target.hostname) !== canonicalHost(clientHost)) {
    return reply(504, "Refused: the data address must be your own (RFC 2577).");
  }
  if (target.port < 1024) return reply(504, "Refused: data port below 1024 (RFC 2577).");
  return null;
}

/** Settings of data connections. */
export interface DataOptions {
  /** How long to wait for a data connection, and how long an unused listener lives. */
  timeoutMs: number;
  /** Where passive listeners get their ports. */
  ports: PassivePorts;
  /** Address announced in PASV replies instead of the control connection's own. */
  publicHost: string | null;
}

const EPSV_ONLY = reply(503, "EPSV ALL is in effect: use EPSV.");

/** A passive listener: Deno's, or node's for TLS data (see lib/net/node_socket.ts). */
type Listener = Deno.TcpListener | NodeListener;

type Plan =
  | { kind: "none" }
  | { kind: "passive"; listener: Listener; expiry: ReturnType<typeof setTimeout> }
  | { kind: "active"; target: HostPort };

/** One session's data-connection state: at most one plan at a time. */
export class DataChannel {
  #plan: Plan = { kind: "none" };
  /** After EPSV ALL (RFC 2428 §4) only EPSV may set up data connections. */
  #epsvOnly = false;
  /** The session ended: no new plan. */
  #ended = false;

  constructor(
    /** The client's address, in canonical form (`canonicalHost`). */
    private readonly clientHost: string,
    private readonly localHost: string,
    private readonly opts: DataOptions,
  ) {}

  /** From now on only EPSV may set up data connections (EPSV ALL). */
  epsvOnly(): void {
    this.#epsvOnly = true;
  }

  /**
   * Opens a passive listener (for EPSV when `extended`); returns the port
   * clients should use. For TLS data it is node's (lib/net/node_socket.ts),
   * set up asynchronously, and `open` gives its connection as a node socket.
   */
  passive(extended: boolean, tls: boolean): number | Reply | Promise<number | Reply> {
    if (this.#epsvOnly && !extended) return EPSV_ONLY;
    this.close();
    if (!tls) return this.#listening(this.opts.ports.listen(this.localHost));
    const fromClient = (address: string) => canonicalHost(address) === this.clientHost;
    return this.opts.ports.listenNode(this.localHost, fromClient).then((l) => this.#listening(l));
  }

  #listening(listener: Listener | null): number | Reply {
    if (listener === null) return reply(425, "No free passive port, try again later.");
    if (this.#ended) {
      listener.close(); // the session ended while node's listener was being set up
      return replies.noData;
    }
    const expiry = setTimeout(() => this.close(), this.opts.timeoutMs);
    this.#plan = { kind: "passive", listener, expiry };
    return listener instanceof NodeListener ? listener.port : (listener.addr as Deno.NetAddr).port;
  }

  /** The address to announce in a PASV reply. */
  announcedHost(): string {
    return this.opts.publicHost ?? this.localHost;
  }

  /** Records an active-mode target after the bounce check. */
  active(target: HostPort): Reply | null {
    if (this.#epsvOnly) return EPSV_ONLY;
    const refusal = checkActiveTarget(target, this.clientHost);
    if (refusal) return refusal;
    this.close();
    this.#plan = { kind: "active", target };
    return null;
  }

  /**
   * Opens the planned data connection (consuming the plan), or says why not;
   * rejects with `ConnectionLost` when the client connected and reset at once.
   * A node listener's connection comes as the node socket, paused.
   */
  async open(signal: AbortSignal): Promise<DataLink | Reply> {
    const plan = this.#plan;
    this.#plan = { kind: "none" };
    if (plan.kind === "none") return replies.noData;
    if (plan.kind === "passive") clearTimeout(plan.expiry);
    const stop = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      stop.abort();
    }, this.opts.timeoutMs);
    const onAbort = () => stop.abort();
    signal.addEventListener("abort", onAbort);
    try {
      const stream = plan.kind === "active"
        ? await this.#dial(plan.target, stop.signal)
        : plan.listener instanceof NodeListener
        ? await this.#acceptNode(plan.listener, stop.signal)
        : await this.#accept(plan.listener, stop.signal);
      if (stream) return stream;
      if (timedOut) return replies.dataTimeout;
      return signal.aborted ? replies.aborted : reply(425, "Can't open data connection.");
    } finally {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    }
  }

  /** Active mode: connects to the client; null when that fails or is stopped. */
  async #dial(target: HostPort, stop: AbortSignal): Promise<ByteStream | null> {
    try {
      return connStream(await Deno.connect({ ...target, signal: stop }));
    } catch {
      return null;
    }
  }

  /** Passive mode: the first connection from the client's address; others are dropped. */
  async #accept(listener: Deno.TcpListener, stop: AbortSignal): Promise<ByteStream | null> {
    const onStop = () => listener.close();
    stop.addEventListener("abort", onStop);
    try {
      for (;;) {
        const conn = await listener.accept();
        const from = canonicalHost((conn.remoteAddr as Deno.NetAddr).hostname);
        if (from === this.clientHost) return connStream(conn);
        conn.close(); // another address tried to take the data connection
      }
    } catch (err) {
      // The client connected and reset before we took the connection: lost, not unopened.
      if (!stop.aborted && isNetworkError(err)) {
        throw new ConnectionLost("data connection reset before the transfer", { cause: err });
      }
      return null;
    } finally {
      stop.removeEventListener("abort", onStop);
      try {
        listener.close();
      } catch {
        // closed by the abort handler already
      }
    }
  }

  /** `#accept` for a node listener, which refuses other addresses itself. */
  async #acceptNode(listener: NodeListener, stop: AbortSignal): Promise<Socket | null> {
    const onStop = () => listener.close();
    stop.addEventListener("abort", onStop);
    try {
      return await listener.take();
    } finally {
      stop.removeEventListener("abort", onStop);
      listener.close();
    }
  }

  /** Ends the channel with its session: drops the plan, and takes no new one. */
  end(): void {
    this.#ended = true;
    this.close();
  }

  /** Drops any plan, closing a waiting listener. */
  close(): void {
    if (this.#plan.kind === "passive") {
      clearTimeout(this.#plan.expiry);
      try {
        this.#plan.listener.close();
      } catch {
        // already closed
      }
    }
    this.#plan = { kind: "none" };
  }
}
