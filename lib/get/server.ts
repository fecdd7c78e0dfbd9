/**
 * The get door: the original's raw downloader (lib/get/protocol.ts), confined.
 * It serves the anonymous user's tree only, read-only, through the core's
 * path decisions and permissions; its connections count against the same
 * limits as FTP's, and the same idle time-out closes them.
 */
import type { Core } from "../core/core.ts";
import { checkNeed } from "../core/access.ts";
import { type RefusalKind, refusalOf } from "../core/refusal.ts";
import type { EventInput, TransferStatus } from "../core/events.ts";
import type { Target } from "../core/vfs.ts";
import { acceptLoop } from "../net/accept.ts";
import { BufferPool } from "../net/buffers.ts";
import { canonicalHost } from "../net/address.ts";
import type { DoorHandle } from "../net/door.ts";
import { type ByteStream, connStream } from "../net/stream.ts";
import { MAX_REQUEST_BYTES, parseRequest, REFUSED } from "./protocol.ts";
import { RequestReader } from "./request_reader.ts";

/** The get door's own settings. */
export interface GetOptions {
  /** Listen address (`--host`). */
  host: string;
  /** Port (`--get-port`); 0 picks a free one. */
  port: number;
  /** A connection that moves no byte for this long is closed (`--idle-timeout`). */
  idleTimeoutMs: number;
}

/** How often the sweep checks the idle limit. */
const SWEEP_MS = 500;

/** After a refusal, how long (and how much) the client's further bytes are read before closing. */
const LINGER_MS = 1000;
const LINGER_BYTES = 64 * 1024;

/** After closing at shutdown, how long connections get to write their last log line. */
const LAST_LOG_MS = 1000;

/** Waits for `p`, at most `ms`. */
async function within(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([p, new Promise((r) => timer = setTimeout(r, ms))]);
  clearTimeout(timer);
}

const encoder = new TextEncoder();
const refusedBytes = encoder.encode(REFUSED);

/** One client connection. */
class GetConnection {
  lastActivity = Date.now();
  /** Settles when the file being sent, if any, is done. */
  sending: Promise<boolean> | null = null;
  readonly stream: ByteStream;
  readonly reader: RequestReader;
  #closed = false;

  constructor(
    readonly id: number,
    readonly conn: Deno.TcpConn,
    readonly address: string,
    private readonly core: Core,
  ) {
    this.stream = connStream(conn);
    this.reader = new RequestReader(this.stream);
  }

  /** Logs an event of this connection (its number, address and door filled in). */
  emit(e: EventInput): void {
    this.core.emit({ session: this.id, ip: this.address, proto: "get", ...e });
  }

  /** Logs a line about this connection. */
  log(message: string): void {
    this.emit({ event: "notice", message });
  }

  get closed(): boolean {
    return this.#closed;
  }

  close(): void {
    this.#closed = true;
    this.stream.close();
  }

  /** Answers `-1`, then reads what the client still sends for a moment, so the answer is not lost to a reset. */
  async refuse(): Promise<void> {
    try {
      await this.stream.write(refusedBytes);
      await this.conn.closeWrite();
      await within(this.reader.drain(LINGER_BYTES), LINGER_MS);
    } catch {
      // the client is gone already
    } finally {
      this.close();
    }
  }
}

/** The file `name` means in the anonymous tree, or why it is not served. */
async function locate(core: Core, name: string): Promise<Target | RefusalKind> {
  const home = await core.accounts.homeOf("anonymous");
  if (home === null) return "not-found";
  const r = await core.viewOf(home).resolve("/", name);
  if (!r.ok) return r.refusal;
  const t = r.target;
  if (t.stat === null) return "not-found";
  if (!t.stat.isFile) return "not-a-file";
  return checkNeed("read", t) ?? t;
}

/** Why an error ended a request, in a few words for the log line (never a stack). */
function reasonOf(err: unknown): string {
  const lost = err instanceof Deno.errors.BrokenPipe || err instanceof Deno.errors.ConnectionReset;
  if (lost) return "the client left";
  return refusalOf(err) ?? (err instanceof Error ? err.message : String(err));
}

/**
 * Serves one request: the size, the go-ahead, the bytes. True when the
 * connection may carry another request.
 */
async function serveFile(
  c: GetConnection,
  core: Core,
  pool: BufferPool,
  name: string,
): Promise<boolean> {
  const what = `get ${JSON.stringify(name)}`;
  const started = Date.now();
  let sent = 0;
  let size = 0;
  let path: string | null = null;
  const download = (status: TransferStatus) =>
    c.emit({
      event: "download",
      user: "anonymous",
      path,
      bytes: sent,
      duration_ms: Date.now() - started,
      status,
      mode: "binary",
    });
  const failed = (why: string) => {
    const of = sent < size ? ` of ${size}` : "";
    if (path === null) c.log(`${what}: failed (${why})`);
    else {
      c.log(`${what}: ${sent}${of} bytes, failed (${why})`);
      download(c.closed ? "aborted" : "failed");
    }
    return false;
  };
  const refused = async (why: string) => {
    failed(why);
    await c.refuse();
    return false;
  };
  let target: Target | RefusalKind;
  try {
    target = await locate(core, name);
  } catch (err) {
    return await refused(reasonOf(err));
  }
  if (typeof target === "string") return await refused(target);
  size = target.stat?.size ?? 0;
  path = target.path;
  let file;
  try {
    file = await core.storage.openRead(target.realPath, 0);
  } catch (err) {
    return await refused(reasonOf(err));
  }
  const buffer = pool.take();
  try {
    await c.stream.write(encoder.encode(String(size)));
    c.lastActivity = Date.now();
    await c.reader.goAhead();
    if (c.closed) return failed("closed before the go-ahead");
    while (sent < size) {
      const room = size - sent >= buffer.length ? buffer : buffer.subarray(0, size - sent);
      const n = await file.read(room);
      if (n === null) break;
      await c.stream.write(n === buffer.length ? buffer : buffer.subarray(0, n));
      sent += n;
      c.lastActivity = Date.now();
    }
  } catch (err) {
    return failed(c.closed ? "connection closed" : reasonOf(err));
  } finally {
    file.close();
    pool.give(buffer);
  }
  // A file that shrank under us cannot keep its promise: the client sees a short read.
  if (sent < size) return failed("the file shrank while being sent");
  download("ok");
  return true;
}

/** Runs one connection until the client leaves, a request is refused, or it idles out. */
async function serveConnection(c: GetConnection, core: Core, pool: BufferPool): Promise<void> {
  for (;;) {
    const r = await c.reader.next();
    if (r.kind === "end" || c.closed) return;
    c.lastActivity = Date.now();
    if (r.kind === "too-long") {
      c.log(`request longer than ${MAX_REQUEST_BYTES} bytes: failed`);
      return await c.refuse();
    }
    const request = parseRequest(r.bytes);
    if (!request.ok) {
      const shown = JSON.stringify(new TextDecoder().decode(r.bytes).slice(0, 80));
      c.log(`${shown}: failed (${request.why})`);
      return await c.refuse();
    }
    c.sending = serveFile(c, core, pool, request.name);
    const more = await c.sending;
    c.sending = null;
    if (!more) return;
  }
}

/** Starts the get door; throws (e.g. `AddrInUse`) when its port cannot be opened. */
export function startGetDoor(core: Core, opts: GetOptions): DoorHandle {
  const listener = Deno.listen({ hostname: opts.host, port: opts.port });
  const pool = new BufferPool();
  /** Each open connection, and the end of its serving. */
  const connections = new Map<GetConnection, Promise<void>>();
  let nextId = 1;

  const sweep = setInterval(() => {
    const now = Date.now();
    for (const c of connections.keys()) {
      if (!c.closed && now - c.lastActivity > opts.idleTimeoutMs) {
        c.log(`idle for ${Math.round(opts.idleTimeoutMs / 1000)} s: closed`);
        c.close();
      }
    }
  }, SWEEP_MS);

  let stopping = false;
  const take = (conn: Deno.TcpConn) => {
    const address = canonicalHost((conn.remoteAddr as Deno.NetAddr).hostname);
    const c = new GetConnection(nextId++, conn, address, core);
    const release = core.limits.admit(address);
    if (typeof release === "string") {
      core.emit({ event: "refused", ip: address, proto: "get", reason: release });
      void c.refuse();
      return;
    }
    c.emit({ event: "connect" });
    const opened = Date.now();
    const serving = serveConnection(c, core, pool)
      .catch((err) => c.log(`connection error: ${reasonOf(err)}`))
      .finally(() => {
        c.close();
        connections.delete(c);
        release();
        c.emit({ event: "disconnect", duration_ms: Date.now() - opened });
      });
    connections.set(c, serving);
  };
  const accepting = acceptLoop(
    listener,
    take,
    () => stopping,
    (message) => core.emit({ event: "notice", proto: "get", message }),
  );

  return {
    addr: listener.addr as Deno.NetAddr,
    async stop(graceMs) {
      stopping = true;
      listener.close();
      clearInterval(sweep);
      await accepting;
      const sending = [...connections.keys()].map((c) => c.sending).filter((s) => s !== null);
      await within(Promise.all(sending), graceMs);
      const ending = [...connections.values()];
      for (const c of connections.keys()) c.close();
      await within(Promise.all(ending), LAST_LOG_MS); // their log lines, before the process ends
    },
  };
}
