/**
 * Transfer buffers, shared by all sessions: a running transfer holds one and
 * reuses it for every chunk; an idle session holds none.
 */

/** Size of one transfer buffer: large enough to keep loopback near its peak. */
export const TRANSFER_BUFFER_BYTES = 1 << 20;

/** A free list of equal buffers, keeping at most `keep` of them between transfers. */
export class BufferPool {
  #free: Uint8Array[] = [];

  constructor(private readonly size = TRANSFER_BUFFER_BYTES, private readonly keep = 16) {}

  /** A buffer for one transfer. */
  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(this.size);
  }

  /** Returns a buffer when the transfer is over. */
  give(buf: Uint8Array): void {
    if (this.#free.length < this.keep) this.#free.push(buf);
  }
}
