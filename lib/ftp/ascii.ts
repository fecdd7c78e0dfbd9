/**
 * TYPE A (RFC 959 §3.1.1.1): text crosses the data connection with CRLF line
 * ends. A wrapper of the data connection converts both ways, so handlers move
 * bytes as they are: an LF on disk goes out as CRLF (a CRLF already there is
 * not doubled, so listings pass unchanged), a CRLF that comes in is stored as
 * LF, and a CR that does not begin a CRLF is kept as it is. pyftpdlib and
 * ProFTPD convert the same way.
 */
import type { ByteStream } from "../net/stream.ts";

const CR = 13;
const LF = 10;

/** Size of the one buffer a TYPE A transfer converts through. */
const SCRATCH_BYTES = 64 * 1024;

/** Where a transfer's conversion stands between chunks. */
interface State {
  /** Sending: the last byte sent was a CR. Receiving: a CR ended the last chunk, its fate open. */
  cr: boolean;
  /** Bytes the last step put out. */
  produced: number;
}

/**
 * Copies `src[from..]` into `out`, putting a CR before each LF that does not
 * follow one, until `src` ends or `out` is full (room is kept for a CRLF).
 * Returns where it stopped in `src`. Synchronous: a byte loop inside an async
 * function runs about three times slower.
 */
function toWire(src: Uint8Array, from: number, out: Uint8Array, st: State): number {
  const full = out.length - 1;
  let last = st.cr, n = 0, i = from;
  while (i < src.length && n < full) {
    const b = src[i++];
    if (b === LF && !last) out[n++] = CR;
    out[n++] = b;
    last = b === CR;
  }
  st.cr = last;
  st.produced = n;
  return i;
}

/**
 * Copies `src[from..end)` into `out`, dropping the CR of each CRLF, until
 * `src` ends or `out` is full; a CR that ends `src` is held in `st.cr`.
 * Returns where it stopped in `src`.
 */
function fromWire(src: Uint8Array, from: number, end: number, out: Uint8Array, st: State): number {
  let i = from, n = 0;
  if (st.cr && i < end) {
    st.cr = false;
    if (src[i] !== LF) out[n++] = CR;
  }
  while (i < end && n < out.length) {
    const b = src[i++];
    if (b === CR) {
      if (i === end) {
        st.cr = true;
        break;
      }
      if (src[i] === LF) continue;
    }
    out[n++] = b;
  }
  st.produced = n;
  return i;
}

/** `data` as a TYPE A transfer sees it; the conversion reuses one buffer for the whole transfer. */
export function asciiStream(data: ByteStream): ByteStream {
  let scratch: Uint8Array | null = null;
  const st: State = { cr: false, produced: 0 };
  /** Receiving: the unconverted bytes are scratch[pos..end). */
  let pos = 0, end = 0;
  return {
    async read(buf) {
      const raw = scratch ??= new Uint8Array(SCRATCH_BYTES);
      for (;;) {
        if (pos === end) {
          const got = await data.read(raw);
          if (got === null) {
            if (!st.cr) return null;
            st.cr = false;
            buf[0] = CR;
            return 1;
          }
          pos = 0;
          end = got;
        }
        pos = fromWire(raw, pos, end, buf, st);
        if (st.produced > 0) return st.produced;
      }
    },
    async write(bytes) {
      const out = scratch ??= new Uint8Array(SCRATCH_BYTES);
      for (let i = 0; i < bytes.length;) {
        i = toWire(bytes, i, out, st);
        await data.write(st.produced === out.length ? out : out.subarray(0, st.produced));
      }
    },
    close: () => data.close(),
  };
}
