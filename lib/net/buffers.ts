/**
 * Transfer buffers, shared by all sessions: a running transfer holds one and
 * reuses it for every chunk; an idle session holds none.
 */

/** Size of one transfer buffer: large enough to keep loopback near its peak. */
export const TRANSFER_BUFFER_BYTES = 1 << 20;

/** The buffer of a transfer known to be small: a fresh 1 MiB one costs more than a small file's copy. */
const SMALL_BUFFER_BYTES = 64 * 1024;

/** A free list of equal buffers, keeping at most `keep` of them between transfers. */
class FreeList {
  #free: Uint8Array[] = [];

  constructor(private readonly size: number, private readonly keep: number) {}

  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(this.size);
  }

  give(buf: Uint8Array): void {
    if (this.#free.length < this.keep) this.#free.push(buf);
  }
}

/** Large transfer buffers, and small ones for transfers known to be small. */
export class BufferPool {
  readonly #large: FreeList;
  readonly #small: FreeList;
  readonly #smallSize: number;

  constructor(size = TRANSFER_BUFFER_BYTES, keep = 16) {
    this.#large = new FreeList(size, keep);
    this.#smallSize = Math.min(size, SMALL_BUFFER_BYTES);
    this.#small = new FreeList(this.#smallSize, keep * 4);
  }

  /** A buffer for one transfer of `bytes` (unknown: a large one). */
  take(bytes = Infinity): Uint8Array {
    return bytes <= this.#smallSize ? this.#small.take() : this.#large.take();
  }

  /** Returns a buffer when the transfer is over. */
  give(buf: Uint8Array): void {
    if (buf.length === this.#smallSize) this.#small.give(buf);
    else this.#large.give(buf);
  }
}
