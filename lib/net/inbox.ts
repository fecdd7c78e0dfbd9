/**
 * Bytes that an event source (a node socket's "data" events) pushes, read
 * out by a ByteStream's `read`: the reading half of the streams built on node
 * sockets, plain or TLS.
 */
import { ConnectionLost } from "./stream.ts";

/** Bytes pushed and not yet read, beyond which the source should stop reading. */
export const INBOX_LIMIT = 1 << 20;

/** Chunks waiting for `read`, and how the source ended. */
export class Inbox {
  #chunks: Uint8Array[] = [];
  #bytes = 0;
  /** "open" while bytes may come, "ended" at a proper end, otherwise why the stream was lost. */
  #state: "open" | "ended" | ConnectionLost = "open";
  #wake: (() => void) | null = null;

  constructor(
    /** Called after each read with the bytes still waiting (to resume a paused source). */
    private readonly taken: (waiting: number) => void,
  ) {}

  push(chunk: Uint8Array): void {
    this.#chunks.push(chunk);
    this.#bytes += chunk.length;
    this.#wakeReader();
  }

  /** The source ended, properly or not; the first ending counts. */
  finish(how: "ended" | ConnectionLost): void {
    if (this.#state === "open") this.#state = how;
    this.#wakeReader();
  }

  /** Bytes pushed and not yet read. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Whether the source was lost (not ended properly). */
  get lost(): boolean {
    return this.#state instanceof ConnectionLost;
  }

  /** Resolves to the count read, null after a proper end; rejects once the source was lost and drained. */
  async read(buf: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0 && this.#state === "open") {
      await new Promise<void>((r) => this.#wake = r);
    }
    const chunk = this.#chunks[0];
    if (chunk === undefined) {
      if (this.#state instanceof ConnectionLost) throw this.#state;
      return null;
    }
    const n = Math.min(buf.length, chunk.length);
    buf.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#chunks[0] = chunk.subarray(n);
    else this.#chunks.shift();
    this.#bytes -= n;
    this.taken(this.#bytes);
    return n;
  }

  #wakeReader(): void {
    this.#wake?.();
    this.#wake = null;
  }
}
