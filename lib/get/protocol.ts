/**
 * The raw "get" protocol of the original's second program (port 6666), as
 * both the door and the client speak it:
 *
 * ```
 * client: get NAME\n       one space; `\r\n` or no line end at all also do
 * server: 1234             the file's size in ASCII digits, no line end
 * client: ok               any bytes: the go-ahead (up to a line end, if it has one)
 * server: <1234 bytes>     exactly the announced count
 * client: get OTHER\n      ... more requests on the same connection
 * ```
 *
 * A request that is not served gets `-1` (no digits an old client could take
 * for a size of a file) and the connection is closed.
 */

/** Longest request, its line end included; a longer one is refused. */
export const MAX_REQUEST_BYTES = 1024;

/** The answer to anything that is not served; the connection closes after it. */
export const REFUSED = "-1";

/**
 * How long a request without a line end (a `send(b"get a.txt")` of the
 * original's era) may pause before the bytes so far count as the whole request.
 */
export const REQUEST_SETTLE_MS = 200;

/** A parsed request line: the name asked for, or why it is refused. */
export type Request = { ok: true; name: string } | { ok: false; why: string };

const decoder = new TextDecoder("utf-8", { fatal: true });

/** Whether `text` holds a control character (NUL, CR, LF, ESC, DEL, ...). */
export function hasControlChars(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 || c === 127) return true;
  }
  return false;
}

/** Parses one request line (its line end removed): `get NAME`, exactly. */
export function parseRequest(line: Uint8Array): Request {
  let text: string;
  try {
    text = decoder.decode(line);
  } catch {
    return { ok: false, why: "not UTF-8" };
  }
  if (!text.startsWith("get ")) return { ok: false, why: "not a get request" };
  const name = text.slice(4);
  if (name === "") return { ok: false, why: "no name" };
  if (hasControlChars(name)) return { ok: false, why: "control characters in the name" };
  return { ok: true, name };
}

/** What a server answered a request with: a size, a refusal, or something no get server says. */
export type SizeAnswer = { kind: "size"; size: number } | { kind: "refused" } | {
  kind: "garbage";
};

/** Reads the server's answer to a request. */
export function parseSizeAnswer(text: string): SizeAnswer {
  if (text === REFUSED) return { kind: "refused" };
  if (!/^\d{1,16}$/.test(text) || Number(text) > Number.MAX_SAFE_INTEGER) {
    return { kind: "garbage" };
  }
  return { kind: "size", size: Number(text) };
}
