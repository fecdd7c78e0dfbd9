/** Data connections and transfers: PASV EPSV PORT EPRT REST RETR STOR APPE ABOR. */
import { dirname } from "node:path";
import { receiveFile } from "../../core/upload.ts";
import type { Target } from "../../core/vfs.ts";
import { formatPasv, parseEprtArg, parsePortArg } from "../data_channel.ts";
import { REFUSALS } from "../errors.ts";
import { replies, type Reply, reply } from "../replies.ts";
import type { Session } from "../session.ts";

/** PASV: listen for the data connection; announce an IPv4 address. */
export async function pasv(s: Session): Promise<Reply> {
  const port = await s.data.passive(false, s.dataInTls);
  if (typeof port !== "number") return port;
  const text = formatPasv(s.data.announcedHost(), port);
  if (text === null) {
    s.data.close();
    return reply(425, "PASV cannot carry an IPv6 address; use EPSV.");
  }
  return reply(227, `Entering Passive Mode (${text}).`);
}

/** EPSV (RFC 2428): listen for the data connection; announce only the port. */
export async function epsv(s: Session, arg: string): Promise<Reply> {
  const a = arg.trim().toUpperCase();
  if (a === "ALL") {
    s.data.epsvOnly();
    return reply(200, "EPSV ALL ok: only EPSV from now on.");
  }
  const family = s.localHost.includes(":") && !s.localHost.startsWith("::ffff:") ? "2" : "1";
  if (a !== "" && a !== family) {
    return reply(522, `Network protocol not supported, use (${family}).`);
  }
  const port = await s.data.passive(true, s.dataInTls);
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

/** RETR: send a file, from the REST offset. */
export function retr(s: Session, t: Target): Reply | void {
  const offset = s.restOffset;
  if (t.stat === null) return replies.notFound;
  if (!t.stat.isFile) return replies.notAFile;
  const size = t.stat.size;
  if (offset > size) return REFUSALS["past-end"];
  s.startTransfer(`${t.path} (${size - offset} bytes)`, "send", async (io) => {
    const { data, buffer, transfer, signal } = io;
    let sent = false;
    try {
      const file = await s.ctx.core.storage.openRead(t.realPath, offset);
      try {
        for (let n = await file.read(buffer); n !== null; n = await file.read(buffer)) {
          await data.write(n === buffer.length ? buffer : buffer.subarray(0, n)); // no view per chunk
          transfer.bytes += n;
        }
      } finally {
        file.close();
      }
      sent = true;
    } finally {
      const status = sent ? "ok" : signal.aborted ? "aborted" : "failed";
      s.transferEnded("download", t.path, transfer, status);
    }
    return replies.transferDone;
  }, size - offset);
}

/**
 * In stream mode the end of an upload looks the same as a client that died
 * mid-way: both close the data connection. A dead client closes its control
 * connection at the same moment, which aborts the transfer; so wait a moment
 * for that before committing.
 */
const SETTLE_MS = 15;

const settle = () => new Promise<void>((r) => setTimeout(r, SETTLE_MS));

/** The reply for each way an upload can end, but failure. */
const UPLOAD_REPLIES = {
  done: replies.transferDone,
  quota: replies.quota,
  aborted: replies.aborted,
};

/** STOR and APPE: receive a file through the core; after REST N the first N bytes stay. */
async function store(s: Session, t: Target, appending: boolean): Promise<Reply | void> {
  if (t.stat !== null && !t.stat.isFile) return replies.notAFile;
  const existingSize = t.stat?.size ?? 0;
  const keep = appending ? existingSize : s.restOffset;
  if (keep > existingSize) return REFUSALS["past-end"];
  const { core } = s.ctx;
  // A missing folder is refused before the 150, where 550 may be said (after it, only 551).
  if (t.stat === null && !(await core.storage.stat(dirname(t.realPath)))?.isDir) {
    return replies.notFound;
  }
  s.startTransfer(t.path, "receive", async ({ data, signal, buffer, transfer }) => {
    const source = {
      read: (buf: Uint8Array) => data.read(buf),
      signal,
      buffer,
      progress: (n: number) => transfer.bytes += n,
      settle,
    };
    const plan = { target: t.realPath, existingSize, keep };
    const result = await receiveFile(core.storage, core.quota, source, plan).catch((err) => {
      s.transferEnded("upload", t.path, transfer, "failed");
      throw err;
    });
    s.transferEnded("upload", t.path, transfer, result.kind === "done" ? "ok" : result.kind);
    if (result.kind === "failed") throw result.error;
    return UPLOAD_REPLIES[result.kind];
  });
}

/** STOR: receive a file, new or replacing one, never tearing the old. */
export const stor = (s: Session, t: Target) => store(s, t, false);
/** APPE: append to a file (the old bytes and the new go to a temporary), never tearing the old. */
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
