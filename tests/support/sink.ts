/** A node Writable that keeps what is written to it: where basic-ftp downloads go in tests. */
import { Writable } from "node:stream";

/** The sink, and the bytes written to it so far, joined. */
export function collectingSink(): { sink: Writable; bytes(): Uint8Array } {
  const chunks: Uint8Array[] = [];
  const sink = new Writable({
    write(chunk, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  const bytes = () => {
    const all = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      all.set(c, at);
      at += c.length;
    }
    return all;
  };
  return { sink, bytes };
}
