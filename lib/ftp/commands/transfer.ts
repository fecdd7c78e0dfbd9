/** Data connections and transfers: PASV EPSV PORT EPRT REST RETR STOR APPE ABOR. */
import { dirname } from "node:path";
import { formatPasv, parseEprtArg, parsePortArg } from "../data_channel.ts";
import { Reservation } from "../../core/quota.ts";
import { replies, type Reply, reply } from "../replies.ts";
import type { Session } from "../session.ts";
import { receiveFile } from "../../core/upload.ts";
import type { Target } from "../../core/vfs.ts";

/** PASV: listen for the data connection; announce an IPv4 address. */
export function pasv(s: Session): Reply {
  const port = s.data.passive(false);
  if (typeof port !== "number") return port;
  const text = formatPasv(s.data.announcedHost(), port);
  if (text === null) {
    s.data.close();
    return reply(425, "PASV cannot carry an IPv6 address; use EPSV.");
  }
  return reply(227, `Entering Passive Mode (${text}).`);
}

/** EPSV (RFC 2428): listen for the data connection; announce only the port. */
export function epsv(s: Session, arg: string): Reply {
  const a = arg.trim().toUpperCase();
  if (a === "ALL") {
    s.data.epsvOnly();
    return reply(200, "EPSV ALL ok: only EPSV from now on.");
  }
  const family = s.localHost.includes(":") && !s.localHost.startsWith("::ffff:") ? "2" : "1";
  if (a !== "" && a !== family) {
    return reply(522, `Network protocol not supported, use (${family}).`);
  }
  const port = s.data.passive(true);
  if (typeof port !== "number") return port;
  return reply(229, `Entering Extended Passive Mode (|||${port}|).`);
}

/** PORT: connect to the client for data, after the bounce check. */
export function port(s: Session, arg: string): Reply {
  const target = parsePortArg(arg);
  if (target === null) return reply(501, "PORT needs h1,h2,h3,h4,p1,p2 with numbers 0-255.");
  return s.data.active(target) ?? reply(200, "PORT command successful.");
}

/** EPRT (RFC 2428): PORT for IPv4 and IPv6, after the bounce check. */
export function eprt(s: Session, arg: string): Reply {
  const target = parseEprtArg(arg);
  if (target === null) return reply(522, "Bad EPRT argument; use |1|addr|port| or |2|addr|port|.");
  return s.data.active(target) ?? reply(200, "EPRT command successful.");
}

/**
 * REST: the byte offset the next RETR (or STOR/APPE, to resume) starts at. In
 * TYPE A an offset counts bytes on the wire (RFC 3659 §5), not in the file, so
 * only 0 is taken there, as in pyftpdlib and ProFTPD.
 */
export function rest(s: Session, arg: string): Reply {
  if (!/^\d{1,15}$/.test(arg.trim())) return reply(501, "REST needs a byte offset.");
  const offset = Number(arg.trim());
  if (offset > 0 && !s.binary) {
    return reply(501, "Resuming transfers not allowed in ASCII mode; send TYPE I.");
  }
  s.restOffset = offset;
  return reply(350, `Restarting at ${s.restOffset}. Send RETR, STOR or APPE.`);
}

/** Files up to this size are read synchronously (see `retr`). */
const SMALL_FILE = 64 * 1024;

/** RETR: send a file, from the REST offset. */
export function retr(s: Session, t: Target): Reply | void {
  const offset = s.restOffset;
  if (t.info === null) return replies.notFound;
  if (!t.info.isFile) return replies.notAFile;
  const size = t.info.size;
  if (offset > size) return reply(554, "Restart offset is past the end of the file.");
  s.startTransfer(
    `${t.ftpPath} (${size - offset} bytes)`,
    async ({ data, buffer, transfer }) => {
      // A small file is opened and read synchronously: microseconds from the page cache,
      // where the async calls cost about 110 µs per file.
      const small = size - offset <= SMALL_FILE;
      using file = small
        ? Deno.openSync(t.realPath, { read: true })
        : await Deno.open(t.realPath, { read: true });
      if (offset > 0) file.seekSync(offset, Deno.SeekMode.Start);
      if (small) {
        for (let n = file.readSync(buffer); n !== null; n = file.readSync(buffer)) {
          await data.write(buffer.subarray(0, n));
          transfer.bytes += n;
        }
      } else {
        for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
          await data.write(n === buffer.length ? buffer : buffer.subarray(0, n)); // no view per chunk
          transfer.bytes += n;
        }
      }
      s.log(`sent ${t.ftpPath} (${transfer.bytes} bytes)`);
      return replies.transferDone;
    },
  );
}

/** Whether `path` is an existing folder. */
function isFolder(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

/** STOR and APPE (and STOR after REST at the current size, which appends). */
function store(s: Session, t: Target, appending: boolean): Reply | void {
  const offset = s.restOffset;
  if (t.info !== null && !t.info.isFile) return replies.notAFile;
  if (!isFolder(dirname(t.realPath))) return replies.notFound;
  const existingSize = t.info?.size ?? 0;
  if (offset > 0 && offset !== existingSize) {
    return reply(554, "Uploads can only restart at the current size of the file.");
  }
  const append = appending || offset > 0;
  s.startTransfer(t.ftpPath, async (io) => {
    const folders = s.ctx.quota.foldersOf(t.realPath);
    const quota = await s.ctx.quota.reserve(folders, append ? 0 : existingSize);
    if (!(quota instanceof Reservation)) return quota;
    const result = await receiveFile(io, { target: t.realPath, append, existingSize, quota });
    switch (result.kind) {
      case "done":
        s.log(`stored ${t.ftpPath} (${result.bytes} bytes)`);
        return replies.transferDone;
      case "quota":
        s.log(`upload of ${t.ftpPath} stopped by a storage limit`);
        return replies.quota;
      case "aborted":
        return replies.aborted;
      case "failed":
        throw result.error;
    }
  });
}

/** STOR: receive a file, new or replacing one, never tearing the old. */
export const stor = (s: Session, t: Target) => store(s, t, false);
/** APPE: append to a file (copy-then-append), never tearing the old. */
export const appe = (s: Session, t: Target) => store(s, t, true);

/** ABOR: stop the running transfer (426 for it, then 226), or say there was none. */
export async function abor(s: Session): Promise<Reply> {
  const running = s.transfer;
  if (running === null) {
    s.data.close();
    return reply(225, "No transfer to abort.");
  }
  running.abort.abort();
  await running.done;
  return reply(226, "ABOR successful.");
}
