/**
 * A bounded reader of control-connection lines: a line longer than the limit is
 * reported, never buffered, so a client cannot grow the server's memory.
 */
import type { ByteStream } from "../net/stream.ts";

/** The longest command line accepted, in bytes (CRLF excluded). */
export const MAX_LINE = 8192;

/** What `next()` yields: a line without its end-of-line, an over-long line, or end of stream. */
export type LineResult = { kind: "line"; bytes: Uint8Array } | { kind: "too-long" } | {
  kind: "end";
};

/** Where a line buffer starts; it doubles, up to the limit, only for a long line. */
const FIRST_SIZE = 512;

/** Reads LF- or CRLF-terminated lines from a stream into one bounded buffer. */
export class LineReader {
  #buf = new Uint8Array(FIRST_SIZE);
  #start = 0;
  #end = 0;

  constructor(private readonly stream: ByteStream) {}

  /** The next line; bytes after it stay buffered for the following call. */
  async next(): Promise<LineResult> {
    for (;;) {
      const nl = this.#buf.subarray(this.#start, this.#end).indexOf(10);
      if (nl >= 0) {
        const lineEnd = this.#start + nl;
        const crlf = lineEnd > this.#start && this.#buf[lineEnd - 1] === 13;
        const bytes = this.#buf.slice(this.#start, crlf ? lineEnd - 1 : lineEnd);
        this.#start = lineEnd + 1;
        return { kind: "line", bytes };
      }
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      if (this.#end >= this.#buf.length) {
        if (this.#buf.length >= MAX_LINE + 2) return { kind: "too-long" };
        const bigger = new Uint8Array(Math.min(this.#buf.length * 2, MAX_LINE + 2));
        bigger.set(this.#buf.subarray(0, this.#end));
        this.#buf = bigger;
      }
      const n = await this.stream.read(this.#buf.subarray(this.#end));
      if (n === null) return { kind: "end" };
      this.#end += n;
    }
  }
}

/** IAC, the Telnet escape byte (RFC 854). */
const IAC = 255;

/**
 * Drops Telnet commands (`IAC x`) from a command line, as clients send IAC IP
 * IAC DM before ABOR; `IAC IAC` stands for one 0xFF byte.
 */
export function stripTelnet(line: Uint8Array): Uint8Array {
  if (!line.includes(IAC)) return line;
  const out: number[] = [];
  for (let i = 0; i < line.length; i++) {
    if (line[i] !== IAC) out.push(line[i]);
    else if (line[++i] === IAC) out.push(IAC);
  }
  return Uint8Array.from(out);
}
