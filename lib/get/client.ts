/**
 * `xxftp get HOST:PORT NAME [-o FILE]`: the client side of the get protocol
 * (lib/get/protocol.ts). It checks the bytes that arrive against the
 * announced size, and writes FILE through the storage's atomic upload, so a
 * refusal or a short read leaves no file behind (and an old FILE untouched).
 */
import { resolve } from "node:path";
import { LocalStorage } from "../storage/local.ts";
import { StorageError, type UploadWriter } from "../storage/storage.ts";
import { parseSizeAnswer } from "./protocol.ts";

/** What to fetch, from where, to where. */
export interface GetRequest {
  hostname: string;
  port: number;
  /** The name as the server's anonymous tree knows it. */
  name: string;
  /** A file path, or `-` for standard output. */
  output: string;
}

/** Why a fetch failed, in one line for the user. */
export class GetError extends Error {}

/** No byte for this long (connecting included) and the fetch gives up. */
const STALL_MS = 30_000;
/** Size of the one buffer every chunk is read into. */
const BUFFER_BYTES = 256 * 1024;
/** How often the progress line is redrawn. */
const PROGRESS_MS = 200;

const encoder = new TextEncoder();

/** Standard output as an upload target: nothing to commit, nothing to take back. */
const stdoutWriter: UploadWriter = {
  async write(chunk) {
    for (let off = 0; off < chunk.length;) off += await Deno.stdout.write(chunk.subarray(off));
  },
  commit: () => Promise.resolve(),
  abort: () => Promise.resolve(),
};

/** Opens FILE for an atomic write: it appears only on `commit`. */
async function openOutput(path: string): Promise<UploadWriter> {
  const storage = new LocalStorage();
  const full = resolve(path);
  if ((await storage.stat(full).catch(() => null))?.isDir) {
    throw new GetError(`${path} is a folder; give -o FILE`);
  }
  try {
    return await storage.createUpload(full, 0);
  } catch (err) {
    const why = err instanceof StorageError ? err.kind : String(err);
    throw new GetError(`cannot write ${path} (${why})`);
  }
}

/** `1.5 MiB`-style sizes for the progress line. */
export function formatBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  for (let v = n; v >= 1024 && i < units.length - 1; v /= 1024) i++;
  return i === 0 ? `${n} B` : `${(n / 1024 ** i).toFixed(1)} ${units[i]}`;
}

/** A progress line on standard error, drawn only when it is a terminal. */
function progressLine(name: string) {
  const shown = Deno.stderr.isTerminal();
  let drawnAt = 0;
  const draw = (got: number, size: number, force: boolean) => {
    const now = Date.now();
    if (!shown || (!force && now - drawnAt < PROGRESS_MS)) return;
    drawnAt = now;
    const pct = size === 0 ? 100 : Math.floor(got * 100 / size);
    const line = `${name}: ${formatBytes(got)} of ${formatBytes(size)} (${pct}%)`;
    Deno.stderr.writeSync(encoder.encode(`\r${line}\x1b[K`));
  };
  return {
    draw,
    end: () => shown && drawnAt > 0 && Deno.stderr.writeSync(encoder.encode("\n")),
  };
}

/** Fetches one file; resolves to its size, or throws `GetError`. */
export async function getFile(req: GetRequest): Promise<number> {
  const where = req.hostname.includes(":")
    ? `[${req.hostname}]:${req.port}`
    : `${req.hostname}:${req.port}`;
  const out = req.output === "-" ? stdoutWriter : await openOutput(req.output);
  let conn: Deno.TcpConn;
  try {
    conn = await Deno.connect({
      hostname: req.hostname,
      port: req.port,
      signal: AbortSignal.timeout(STALL_MS),
    });
  } catch (err) {
    await out.abort();
    throw new GetError(`cannot connect to ${where}: ${(err as Error).message}`);
  }
  let lastByte = Date.now();
  let stalled = false;
  const watchdog = setInterval(() => {
    if (Date.now() - lastByte <= STALL_MS) return;
    stalled = true;
    conn.close();
  }, 1000);
  const progress = progressLine(req.name);
  let got = 0;
  try {
    await writeAll(conn, encoder.encode(`get ${req.name}\n`));
    const answer = new Uint8Array(64);
    const n = await conn.read(answer);
    if (n === null) throw new GetError(`${where} closed the connection without an answer`);
    const text = new TextDecoder().decode(answer.subarray(0, n));
    const parsed = parseSizeAnswer(text);
    if (parsed.kind === "refused") {
      throw new GetError(`${where} refused "${req.name}" (-1: no such file, or not allowed)`);
    }
    if (parsed.kind === "garbage") {
      throw new GetError(`${where} is no get server: it answered ${JSON.stringify(text)}`);
    }
    const { size } = parsed;
    await writeAll(conn, encoder.encode("ok"));
    const buffer = new Uint8Array(BUFFER_BYTES);
    while (got < size) {
      const room = size - got >= buffer.length ? buffer : buffer.subarray(0, size - got);
      const n = await conn.read(room);
      if (n === null) break;
      lastByte = Date.now();
      await out.write(n === buffer.length ? buffer : buffer.subarray(0, n));
      got += n;
      progress.draw(got, size, false);
    }
    progress.draw(got, size, true);
    progress.end();
    if (got < size) {
      const left = req.output === "-" ? "the output is incomplete" : `${req.output} not written`;
      throw new GetError(`short read: ${got} of ${size} bytes arrived; ${left}`);
    }
    await out.commit();
    return size;
  } catch (err) {
    await out.abort();
    if (stalled) throw new GetError(`${where} sent nothing for ${STALL_MS / 1000} s`);
    if (err instanceof GetError) throw err;
    if (err instanceof StorageError) throw new GetError(`cannot write ${req.output} (${err.kind})`);
    throw new GetError(`${where}: ${(err as Error).message} after ${got} bytes`);
  } finally {
    clearInterval(watchdog);
    try {
      conn.close();
    } catch {
      // closed by the watchdog already
    }
  }
}

async function writeAll(conn: Deno.TcpConn, bytes: Uint8Array): Promise<void> {
  for (let off = 0; off < bytes.length;) off += await conn.write(bytes.subarray(off));
}
