/**
 * Sending a file: its content type, length, `ETag` (from the storage's
 * version) and `Last-Modified`; conditional requests (`If-None-Match`,
 * `If-Modified-Since` → 304); one byte range (`Range` → 206, or 416), honoured
 * only while `If-Range` still matches. The body streams from the storage one
 * chunk per read (transfer.ts), so memory stays flat whatever the size.
 */
import type { ReadHandle, Stat } from "../storage/storage.ts";
import type { Target } from "../core/vfs.ts";
import { baseName } from "../core/entries.ts";
import type { UserCall } from "./context.ts";
import { contentTypeOf } from "./mime.ts";
import { hasQueryFlag } from "./paths.ts";
import { baseHeaders, FILE_POLICY } from "./respond.ts";
import { type ChunkSource, downloadBody, HttpTransfer } from "./transfer.ts";

/** An inclusive byte range. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The range a `Range` header asks of a `size`-byte file: one range, or
 * "unsatisfiable", or null when the header is to be ignored (malformed, not
 * bytes, or several ranges: the whole file is then sent, as RFC 9110 allows).
 */
export function parseRange(header: string, size: number): ByteRange | "unsatisfiable" | null {
  const m = /^bytes=[ \t]*(\d{0,15})[ \t]*-[ \t]*(\d{0,15})[ \t]*$/i.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const last = m[2] === "" ? Infinity : Number(m[2]);
  if (last < start) return null;
  if (start >= size) return "unsatisfiable";
  return { start, end: Math.min(last, size - 1) };
}

/** A strong entity tag for a storage version: 64 bits of FNV-1a, quoted. */
export function etagOf(version: string): string {
  let a = 0x811c9dc5, b = 0xcbf29ce4;
  for (let i = 0; i < version.length; i++) {
    const c = version.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193) >>> 0;
    b = Math.imul(b ^ c ^ (i & 0xff), 0x01000193) >>> 0;
  }
  return `"${a.toString(16).padStart(8, "0")}${b.toString(16).padStart(8, "0")}"`;
}

const weak = (tag: string) => tag.trim().replace(/^W\//, "");
const seconds = (ms: number) => Math.floor(ms / 1000);

/** Whether the client's copy is current: `If-None-Match` first, else `If-Modified-Since`. */
export function notModified(h: Headers, etag: string, mtime: Date): boolean {
  const inm = h.get("if-none-match");
  if (inm !== null) {
    return inm.trim() === "*" || inm.split(",").some((t) => weak(t) === weak(etag));
  }
  const ims = h.get("if-modified-since");
  if (ims === null) return false;
  const since = Date.parse(ims);
  return !Number.isNaN(since) && seconds(mtime.getTime()) <= seconds(since);
}

/** Whether a `Range` may be honoured: no `If-Range`, or one naming this very version. */
export function rangeApplies(h: Headers, etag: string, mtime: Date): boolean {
  const ir = h.get("if-range");
  if (ir === null) return true;
  const value = ir.trim();
  if (value.startsWith('"') || value.startsWith("W/")) return value === etag; // strong comparison
  const date = Date.parse(value);
  return !Number.isNaN(date) && seconds(date) === seconds(mtime.getTime());
}

/** `Content-Disposition` that makes a browser save the file under `name`. */
export function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, "_");
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}

/** Bytes read from the storage per chunk sent. */
const CHUNK = 128 * 1024;

/** The chunks of `length` bytes of an open file; a file that ends early (it changed) is an error. */
export function fileChunks(handle: ReadHandle, length: number): ChunkSource {
  let left = length;
  let open = true;
  return {
    async next() {
      if (left === 0) return null;
      const buf = new Uint8Array(Math.min(CHUNK, left));
      const n = await handle.read(buf);
      if (n === null) throw new Error(`the file ended ${left} bytes early (changed while sent)`);
      left -= n;
      return n === buf.length ? buf : buf.subarray(0, n);
    },
    close() {
      if (open) handle.close();
      open = false;
    },
  };
}

/** The validators and caching headers of a file. */
function validators(stat: Stat, etag: string): Headers {
  return baseHeaders({
    "ETag": etag,
    "Last-Modified": stat.mtime.toUTCString(),
    "Cache-Control": "private, no-cache",
  });
}

/** GET or HEAD of a file target (it exists and is a file; `read` was checked). */
export async function sendFile(call: UserCall, t: Target & { stat: Stat }): Promise<Response> {
  const { req } = call;
  const stat = t.stat;
  const etag = etagOf(stat.version);
  const headers = validators(stat, etag);
  if (notModified(req.headers, etag, stat.mtime)) {
    return new Response(null, { status: 304, headers });
  }
  headers.set("Accept-Ranges", "bytes");
  headers.set("Content-Security-Policy", FILE_POLICY);
  const asked = req.headers.get("range");
  const range = asked !== null && rangeApplies(req.headers, etag, stat.mtime)
    ? parseRange(asked, stat.size)
    : null;
  if (range === "unsatisfiable") {
    headers.set("Content-Range", `bytes */${stat.size}`);
    return new Response(null, { status: 416, headers });
  }
  headers.set("Content-Type", contentTypeOf(baseName(t.path)));
  if (hasQueryFlag(call.path.query, "download")) {
    headers.set("Content-Disposition", attachment(baseName(t.path)));
  }
  const start = range?.start ?? 0;
  const length = range === null ? stat.size : range.end - range.start + 1;
  headers.set("Content-Length", String(length));
  if (range !== null) headers.set("Content-Range", `bytes ${start}-${range.end}/${stat.size}`);
  const status = range === null ? 200 : 206;
  if (req.method === "HEAD") return new Response(null, { status, headers });
  const handle = await call.door.core.storage.openRead(t.realPath, start);
  const transfer = new HttpTransfer(call, "download", t.path);
  return new Response(downloadBody(call, transfer, fileChunks(handle, length)), {
    status,
    headers,
  });
}
