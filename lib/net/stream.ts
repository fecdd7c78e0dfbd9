/**
 * The byte-stream interface every control and data connection sits behind, so a
 * TLS layer can wrap either one without any handler knowing.
 */

/** A connection as the protocol code sees it. */
export interface ByteStream {
  /** Reads into `buf`; resolves to the count read, or null at end of stream. */
  read(buf: Uint8Array): Promise<number | null>;
  /** Writes all of `data` (looping over short writes). */
  write(data: Uint8Array): Promise<void>;
  /** Closes the connection; safe to call more than once. */
  close(): void;
}

/**
 * Wraps an accepted or dialled TCP connection. Nagle's algorithm is off: a
 * reply that follows another (150 then 226) would otherwise wait for the
 * peer's delayed ACK, about 40 ms.
 */
export function connStream(conn: Deno.TcpConn): ByteStream {
  conn.setNoDelay(true);
  let closed = false;
  return {
    read: (buf) => conn.read(buf),
    async write(data) {
      let off = await conn.write(data); // whole, usually: a view only for a short write
      while (off < data.length) off += await conn.write(data.subarray(off));
    },
    close() {
      if (closed) return;
      closed = true;
      try {
        conn.close();
      } catch {
        // already closed by the peer side: nothing left to release
      }
    },
  };
}
