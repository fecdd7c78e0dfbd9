/** TYPE A conversion of a data connection, chunk boundaries included. */
import assert from "node:assert/strict";
import { asciiStream } from "../../lib/ftp/ascii.ts";
import { chunks } from "../support/chunks.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function receive(parts: string[], bufSize = 1024): Promise<string> {
  const s = asciiStream(chunks(...parts));
  const buf = new Uint8Array(bufSize);
  const out: number[] = [];
  for (let n = await s.read(buf); n !== null; n = await s.read(buf)) {
    out.push(...buf.subarray(0, n));
  }
  return dec(Uint8Array.from(out));
}

async function send(parts: string[]): Promise<string> {
  const conn = chunks();
  const s = asciiStream(conn);
  for (const p of parts) await s.write(enc(p));
  return dec(Uint8Array.from(conn.written));
}

Deno.test("TYPE A upload: CRLF is stored as LF, a lone CR is kept, across chunk boundaries", async () => {
  const rows: [string[], string][] = [
    [["a\r\nb\r\n"], "a\nb\n"],
    [["a\r", "\nb"], "a\nb"], // the CRLF split between two reads
    [["a\r", "b"], "a\rb"],
    [["a\r"], "a\r"], // a CR at the very end
    [["\r", "\r", "\n"], "\r\n"],
    [["a\nb"], "a\nb"], // a bare LF stays
    [["x\r\r\ny"], "x\r\ny"],
    [[""], ""],
  ];
  for (const [parts, want] of rows) assert.equal(await receive(parts), want, JSON.stringify(parts));
  assert.equal(
    await receive(["ab\r\ncd\r\nef"], 2),
    "ab\ncd\nef",
    "a reader's buffer smaller than a line",
  );
});

Deno.test("TYPE A download: LF goes out as CRLF, CRLF is not doubled, a lone CR is kept", async () => {
  const rows: [string[], string][] = [
    [["a\nb\n"], "a\r\nb\r\n"],
    [["a\r\nb"], "a\r\nb"],
    [["a\r", "\nb"], "a\r\nb"], // a CRLF on disk split between two chunks
    [["a\rb"], "a\rb"],
    [["\n\n"], "\r\n\r\n"],
    [["", "x"], "x"],
  ];
  for (const [parts, want] of rows) assert.equal(await send(parts), want, JSON.stringify(parts));
  const big = "line\n".repeat(100_000);
  assert.equal(await send([big]), "line\r\n".repeat(100_000), "more than one scratch buffer");
});
