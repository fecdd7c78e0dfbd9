/** A byte stream for unit tests: reads hand out the given chunks, writes are recorded. */
import type { ByteStream } from "../../lib/net/stream.ts";

/** A stream whose reads yield `parts` (text or bytes) in order, then the end; `written` holds what was written. */
export function chunks(...parts: (string | Uint8Array)[]): ByteStream & { written: number[] } {
  const queue = parts.map((p) => typeof p === "string" ? new TextEncoder().encode(p) : p);
  const written: number[] = [];
  return {
    written,
    read(buf) {
      const next = queue.shift();
      if (!next) return Promise.resolve(null);
      const n = Math.min(buf.length, next.length);
      buf.set(next.subarray(0, n));
      if (n < next.length) queue.unshift(next.subarray(n));
      return Promise.resolve(n);
    },
    write(data) {
      written.push(...data);
      return Promise.resolve();
    },
    close() {},
  };
}
