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

/**
 * Where a line buffer starts; it doubles, up to the limit, only for a long
 * line. Every idle session holds one, and most commands are far shorter.
 */
const FIRST_SIZE = 128;

/** IAC, the Telnet escape byte (RFC 854). */
const IAC = 255;

/** The lowest Telnet command byte (SE); IP is 0xF4, DM 0xF2, IAC 0xFF. */
const TELNET_FIRST = 0xf0;

const CR = 13;
const LF = 10;

/**
 * The verbs RFC 959 lets a client send urgently (Telnet IP and Synch first).
 * ftplib sends the whole `ABOR\r\n` as TCP urgent data, and without
 * SO_OOBINLINE (which Deno cannot set) the urgent byte, the LF, never arrives.
 */
const URGENT_VERBS = ["ABOR", "STAT", "QUIT"].map((v) => new TextEncoder().encode(v));

/** Whether `bytes[at..]` starts with `verb`, in any case. */
function startsWithVerb(bytes: Uint8Array, at: number, verb: Uint8Array): boolean {
  for (let i = 0; i < verb.length; i++) {
    if ((bytes[at + i] | 0x20) !== (verb[i] | 0x20)) return false;
  }
  return true;
}

/**
 * Reads LF- or CRLF-terminated lines from a stream into one bounded buffer;
 * an urgent verb without argument may also end in a bare CR (see URGENT_VERBS).
 */
export class LineReader {
  #buf = new Uint8Array(FIRST_SIZE);
  #start = 0;
  #end = 0;
  /** The last line ended at a bare CR: an LF that follows belongs to it. */
  #skipLf = false;

  constructor(private readonly stream: ByteStream) {}

  /** The next line; bytes after it stay buffered for the following call. */
  async next(): Promise<LineResult> {
    for (;;) {
      if (this.#skipLf && this.#start < this.#end) {
        if (this.#buf[this.#start] === LF) this.#start++;
        this.#skipLf = false;
      }
      const urgent = this.#urgentLineEnd();
      if (urgent >= 0) {
        const bytes = this.#buf.slice(this.#start, urgent);
        this.#start = urgent + 1;
        this.#skipLf = true;
        return { kind: "line", bytes };
      }
      const nl = this.#buf.subarray(this.#start, this.#end).indexOf(LF);
      if (nl >= 0) {
        const lineEnd = this.#start + nl;
        const crlf = lineEnd > this.#start && this.#buf[lineEnd - 1] === CR;
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
      const size = this.#readSize();
      // An empty buffer is read into whole: an idle session then holds no view of it.
      const into = this.#end === 0 && size === this.#buf.length
        ? this.#buf
        : this.#buf.subarray(this.#end, this.#end + size);
      const n = await this.stream.read(into);
      if (n === null) return { kind: "end" };
      this.#end += n;
    }
  }

  /**
   * How many bytes the next read may take: one while the line so far is only
   * Telnet bytes (or nothing). A read stops short at the TCP urgent mark that
   * IAC IP IAC DM carries, and tokio takes a short read for a drained socket:
   * it would not wake for the `ABOR` already waiting behind the mark until the
   * client sent more, which it does not, as it waits for the reply.
   */
  #readSize(): number {
    for (let i = this.#start; i < this.#end; i++) {
      if (this.#buf[i] < TELNET_FIRST) return this.#buf.length - this.#end;
    }
    return 1;
  }

  /**
   * Where a buffered urgent verb without argument (`ABOR`, after any Telnet
   * bytes) ends in a CR that no LF follows; -1 when the next line is not one.
   */
  #urgentLineEnd(): number {
    let at = this.#start;
    while (at < this.#end && this.#buf[at] >= TELNET_FIRST) at++;
    const cr = at + 4;
    if (cr >= this.#end || this.#buf[cr] !== CR) return -1;
    if (cr + 1 < this.#end && this.#buf[cr + 1] === LF) return -1; // an ordinary line
    return URGENT_VERBS.some((v) => startsWithVerb(this.#buf, at, v)) ? cr : -1;
  }
}

/**
 * Drops Telnet bytes from a command line. Clients send IAC IP IAC DM before
 * ABOR with one byte as TCP urgent data, which the line never shows, so the
 * server sees `FF F4 FF ABOR`, `FF F4 F2 ABOR`, `F4 FF F2 ABOR` or a lone
 * `F2`: any run of bytes 0xF0-0xFF before the verb goes (no verb starts with
 * one). After it, `IAC x` with x a Telnet command goes, `IAC IAC` stands for
 * one 0xFF byte, and a dangling IAC goes alone, never taking the byte after it.
 */
export function stripTelnet(line: Uint8Array): Uint8Array {
  let start = 0;
  while (start < line.length && line[start] >= TELNET_FIRST) start++;
  if (!line.includes(IAC, start)) return start === 0 ? line : line.subarray(start);
  const out: number[] = [];
  for (let i = start; i < line.length; i++) {
    if (line[i] !== IAC) out.push(line[i]);
    else if (line[i + 1] === IAC) out.push(line[++i]);
    else if (line[i + 1] >= TELNET_FIRST) i++;
  }
  return Uint8Array.from(out);
}
