/**
 * The byte-stream interface every control and data connection sits behind, so a
 * TLS layer can wrap either one without any handler knowing.
 */

/** A connection as the protocol code sees it. */
export interface ByteStream {
  /**
   * Reads into `buf`; resolves to the count read, or null at the proper end of
   * the stream. Rejects when the connection was lost instead (a reset, or TLS
   * cut off without close_notify): that is not an end, and the data is incomplete.
   */
  read(buf: Uint8Array): Promise<number | null>;
  /** Writes all of `data` (looping over short writes). */
  write(data: Uint8Array): Promise<void>;
  /** Closes the connection; safe to call more than once. */
  close(): void;
}

/**
 * The peer went away without ending the stream properly: the connection was
 * reset, or a TLS stream ended without close_notify (a truncation attack looks
 * the same). Ordinary network life, answered 426 like the errors `isNetworkError` names.
 */
export class ConnectionLost extends Error {
  override name = "ConnectionLost";
}

/** `err` as a `ConnectionLost`, keeping its text and itself as the cause. */
export function lost(err: unknown): ConnectionLost {
  if (err instanceof ConnectionLost) return err;
  const text = err instanceof Error ? err.message : String(err);
  return new ConnectionLost(text, { cause: err });
}

/** Deno's errors for a connection the peer or the network broke. */
const NETWORK_ERRORS = [
  Deno.errors.ConnectionReset,
  Deno.errors.ConnectionAborted,
  Deno.errors.BrokenPipe,
  Deno.errors.UnexpectedEof,
  Deno.errors.NotConnected,
  Deno.errors.TimedOut,
];

/** Node-style codes (node:tls, node:stream) for the same failures. */
const NETWORK_CODES = new Set(["ECONNRESET", "ECONNABORTED", "EPIPE", "ETIMEDOUT", "ENOTCONN"]);

/**
 * Whether `err` says the connection was lost rather than that we failed:
 * a `ConnectionLost`, or Deno's or node's error for a reset, broken pipe or timeout.
 */
export function isNetworkError(err: unknown): boolean {
  if (err instanceof ConnectionLost) return true;
  if (NETWORK_ERRORS.some((kind) => err instanceof kind)) return true;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && NETWORK_CODES.has(code);
}

/**
 * A TCP connection as a ByteStream. A class, not an object of closures: an
 * idle control connection holds one, and its methods are shared.
 */
class TcpStream implements ByteStream {
  #closed = false;

  constructor(private readonly conn: Deno.TcpConn) {}

  read(buf: Uint8Array): Promise<number | null> {
    return this.conn.read(buf);
  }

  async write(data: Uint8Array): Promise<void> {
    let off = await this.conn.write(data); // whole, usually: a view only for a short write
    while (off < data.length) off += await this.conn.write(data.subarray(off));
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.conn.close();
    } catch {
      // already closed by the peer side: nothing left to release
    }
  }
}

/**
 * Wraps an accepted or dialled TCP connection. Nagle's algorithm is off: a
 * reply that follows another (150 then 226) would otherwise wait for the
 * peer's delayed ACK, about 40 ms.
 */
export function connStream(conn: Deno.TcpConn): ByteStream {
  conn.setNoDelay(true);
  return new TcpStream(conn);
}
