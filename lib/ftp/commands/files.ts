/** Files: SIZE MDTM DELE RNFR RNTO. */
import { ftpTimestamp } from "../listing.ts";
import { folderSize, Reservation } from "../../core/quota.ts";
import { replies, type Reply, reply } from "../replies.ts";
import type { Session } from "../session.ts";
import { isInside, type Target } from "../../core/vfs.ts";

/**
 * SIZE (RFC 3659 §4): a file's size in bytes, 213. The size meant is the one
 * on the wire in the current TYPE; in TYPE A that would cost reading the whole
 * file, so it is refused there, as in pyftpdlib and ProFTPD.
 */
export function size(s: Session, t: Target): Reply {
  if (t.info === null) return replies.notFound;
  if (!t.info.isFile) return replies.notAFile;
  if (!s.binary) return reply(550, "SIZE not allowed in ASCII mode; send TYPE I.");
  return reply(213, String(t.info.size));
}

/** MDTM (RFC 3659): a file's modification time, `YYYYMMDDHHMMSS` UTC. */
export function mdtm(_s: Session, t: Target): Reply {
  if (t.info === null) return replies.notFound;
  return reply(213, ftpTimestamp(t.info.mtime ?? new Date(0)));
}

/** The `YYYYMMDDHHMMSS` time that starts an MFMT argument, as a UTC date; null when malformed. */
export function parseFtpTime(arg: string): Date | null {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2}) /.exec(arg);
  if (!m) return null;
  const [y, mo, d, h, mi, se] = m.slice(1).map(Number);
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, se));
  return date.getUTCMonth() === mo - 1 && date.getUTCDate() === d && h < 24 && mi < 60 && se < 60
    ? date
    : null;
}

/** MFMT (draft-somers-ftp-mfxx): sets a file's modification time, as clients do to preserve it. */
export async function mfmt(_s: Session, t: Target, arg: string): Promise<Reply> {
  const when = parseFtpTime(arg);
  if (when === null) return reply(501, "MFMT needs YYYYMMDDHHMMSS and a path.");
  if (t.info === null) return replies.notFound;
  if (!t.info.isFile) return replies.notAFile;
  await Deno.utime(t.realPath, t.info.atime ?? when, when);
  return reply(213, `Modify=${ftpTimestamp(when)}; ${t.ftpPath}`);
}

/** SITE CHMOD: permission bits of a file or folder; set-id and sticky bits are never set. */
export async function chmod(_s: Session, t: Target, arg: string): Promise<Reply> {
  const m = /^([0-7]{3,4})\s+\S/.exec(arg);
  if (!m) return reply(501, "SITE CHMOD needs an octal mode and a path.");
  if (t.info === null) return replies.notFound;
  await Deno.chmod(t.realPath, parseInt(m[1], 8) & 0o777);
  return reply(200, "SITE CHMOD command successful.");
}

/** DELE: remove a file; its bytes leave the usage of every limited folder above it. */
export async function dele(s: Session, t: Target): Promise<Reply> {
  if (t.info === null) return replies.notFound;
  if (t.info.isDirectory) return replies.notAFile;
  await Deno.remove(t.realPath);
  await s.ctx.quota.adjust(s.ctx.quota.foldersOf(t.realPath), -t.info.size);
  return reply(250, "File deleted.");
}

/** RNFR: remember what RNTO (the next command) renames. */
export function rnfr(s: Session, t: Target): Reply {
  if (t.info === null) return replies.notFound;
  s.renameFrom = t;
  return reply(350, "Ready for RNTO.");
}

/** RNTO: a move into a limited folder must fit in it, like an upload. */
export async function rnto(s: Session, to: Target): Promise<Reply> {
  const from = s.renameFrom;
  s.renameFrom = null;
  if (from === null) return replies.badSequence;
  if (from.info === null) return replies.notFound;
  if (to.info?.isDirectory) return reply(553, "A directory of that name exists.");
  if (from.info.isDirectory && isInside(from.realPath, to.realPath)) {
    return reply(553, "A folder cannot move into itself.");
  }
  const fromFolders = s.ctx.quota.foldersOf(from.realPath);
  const toFolders = s.ctx.quota.foldersOf(to.realPath);
  const leaving = fromFolders.filter((f) => !toFolders.includes(f));
  const arriving = toFolders.filter((f) => !fromFolders.includes(f));
  // A folder is walked only when its bytes change which limits they count against.
  const crossing = leaving.length + arriving.length > 0;
  let moving = from.info.size;
  if (from.info.isDirectory) moving = crossing ? await folderSize(from.realPath) : 0;
  const room = await s.ctx.quota.reserve(arriving, to.info?.size ?? 0);
  if (!(room instanceof Reservation)) return room;
  if (!room.take(moving)) {
    room.settle(0);
    return replies.quota;
  }
  try {
    await Deno.rename(from.realPath, to.realPath);
  } catch (err) {
    room.settle(0);
    throw err;
  }
  room.settle(moving);
  await s.ctx.quota.adjust(leaving, -moving);
  if (to.info) await s.ctx.quota.adjust(toFolders, -to.info.size);
  return reply(250, "Rename successful.");
}
