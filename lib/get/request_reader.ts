/**
 * The get door's bounded reader: request lines of at most
 * `MAX_REQUEST_BYTES`, a request without a line end once the client pauses,
 * and the client's go-ahead after the size. It never holds more than two
 * requests' worth of bytes.
 */
import type { ByteStream } from "../net/stream.ts";
import { MAX_REQUEST_BYTES, REQUEST_SETTLE_MS } from "./protocol.ts";

/** What `next()` yields: a request line without its line end, an over-long one, or the end. */
export type RequestRead = { kind: "line"; bytes: Uint8Array } | { kind: "too-long" } | {
  kind: "end";
};

const LF = 10;
const CR = 13;
const GET = new TextEncoder().encode("get ");

/** Where `needle` first occurs in `hay`, or -1. */
function indexOf(hay: Uint8Array, needle: Uint8Array): number {
  for (let i = hay.indexOf(needle[0]); i >= 0; i = hay.indexOf(needle[0], i + 1)) {
    if (i + needle.length > hay.length) return -1;
    if (needle.every((b, j) => hay[i + j] === b)) return i;
  }
  return -1;
}

/** Reads requests and go-aheads off one connection. */
export class RequestReader {
  /** Bytes received and not yet consumed, at the front. */
  readonly #buf = new Uint8Array(2 * MAX_REQUEST_BYTES);
  #len = 0;
  /** A read may outlive a settle wait, so it lands here, never in `#buf` directly. */
  readonly #chunk = new Uint8Array(MAX_REQUEST_BYTES);
  #pending: Promise<number | null> | null = null;
  #ended = false;

  constructor(
    private readonly stream: ByteStream,
    private readonly settleMs = REQUEST_SETTLE_MS,
  ) {}

  /** The next request line; blank lines between requests are skipped. */
  async next(): Promise<RequestRead> {
    for (;;) {
      const lf = this.#buf.subarray(0, this.#len).indexOf(LF);
      if (lf >= 0) {
        if (lf + 1 > MAX_REQUEST_BYTES) return { kind: "too-long" };
        const bytes = this.#take(lf, 1);
        if (bytes.length > 0) return { kind: "line", bytes };
        continue;
      }
      if (this.#len >= MAX_REQUEST_BYTES) return { kind: "too-long" };
      const got = await this.#fill(this.#len > 0 ? this.settleMs : null);
      if (got === "data") continue;
      // No line end is coming: the client paused, or stopped sending, after a request.
      const bytes = this.#take(this.#len, 0);
      if (bytes.length > 0) return { kind: "line", bytes };
      if (got === "end") return { kind: "end" };
    }
  }

  /**
   * Takes the client's go-ahead after a size: the bytes already buffered, or
   * the next ones to arrive, up to and including a line end, or up to a
   * `get ` after its first byte (after an empty file a client sends its next
   * request right behind the go-ahead). The end of the stream counts too: a
   * client may stop sending and still read.
   */
  async goAhead(): Promise<void> {
    if (this.#len === 0 && await this.#fill(null) !== "data") return;
    const held = this.#buf.subarray(0, this.#len);
    const lf = held.indexOf(LF);
    const next = indexOf(held.subarray(1), GET) + 1;
    const end = lf >= 0 ? lf + 1 : this.#len;
    this.#consume(next > 0 && next < end ? next : end);
  }

  /** Reads and discards up to `maxBytes`, until the end of the stream. */
  async drain(maxBytes: number): Promise<void> {
    for (let seen = this.#len; seen <= maxBytes; seen += this.#len) {
      this.#len = 0;
      if (await this.#fill(null) !== "data") return;
    }
  }

  /** The first `n` bytes without a trailing CR, then `n + skip` bytes consumed. */
  #take(n: number, skip: number): Uint8Array {
    const end = n > 0 && this.#buf[n - 1] === CR ? n - 1 : n;
    const bytes = this.#buf.slice(0, end);
    this.#consume(n + skip);
    return bytes;
  }

  #consume(n: number): void {
    this.#buf.copyWithin(0, n, this.#len);
    this.#len -= n;
  }

  /** One read appended to the buffer; `quiet` when `waitMs` passed first (the read stays pending). */
  async #fill(waitMs: number | null): Promise<"data" | "quiet" | "end"> {
    if (this.#ended) return "end";
    this.#pending ??= this.stream.read(this.#chunk).catch(() => null);
    let n: number | null;
    if (waitMs === null) n = await this.#pending;
    else {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const quiet = new Promise<"quiet">((r) => timer = setTimeout(() => r("quiet"), waitMs));
      const got = await Promise.race([this.#pending, quiet]);
      clearTimeout(timer);
      if (got === "quiet") return "quiet";
      n = got;
    }
    this.#pending = null;
    if (n === null) {
      this.#ended = true;
      return "end";
    }
    this.#buf.set(this.#chunk.subarray(0, n), this.#len);
    this.#len += n;
    return "data";
  }
}
