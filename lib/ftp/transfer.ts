/**
 * One data transfer's state: what it moves, how far it got, and how to stop
 * it. The copy loops add to `bytes`; the server's sweep reads it to find
 * transfers that stalled.
 */
import type { Reply } from "./replies.ts";
import type { ByteStream } from "../net/stream.ts";

/** What a transfer's work gets once the data connection is open. */
export interface TransferIo {
  data: ByteStream;
  signal: AbortSignal;
  /** Reused for every chunk of this transfer. */
  buffer: Uint8Array;
  /** Add each chunk's size to `transfer.bytes`. */
  transfer: Transfer;
}

/** The work of a transfer; it returns the final reply. */
export type TransferWork = (io: TransferIo) => Promise<Reply>;

/** A running transfer. */
export class Transfer {
  readonly abort = new AbortController();
  /** Settles when the transfer has ended and its reply was sent. */
  done: Promise<void> = Promise.resolve();
  /** Bytes moved so far. */
  bytes = 0;
  /** When data began to move (the data connection was open). */
  startedAt = Date.now();
  #seenBytes = -1;
  #seenAt = 0;

  constructor(readonly what: string) {}

  /** Whether no byte moved for longer than `limitMs`; called periodically. */
  stalled(now: number, limitMs: number): boolean {
    if (this.bytes !== this.#seenBytes) {
      this.#seenBytes = this.bytes;
      this.#seenAt = now;
      return false;
    }
    return now - this.#seenAt > limitMs;
  }
}
