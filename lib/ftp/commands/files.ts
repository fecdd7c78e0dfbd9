/** Files: SIZE MDTM MFMT SITE CHMOD DELE RNFR RNTO. */
import { changeMode, deleteFile, rename, setTime } from "../../core/actions.ts";
import type { Target } from "../../core/vfs.ts";
import { ftpTimestamp } from "../listing.ts";
import { replies, type Reply, reply } from "../replies.ts";
import type { Session } from "../session.ts";

/**
 * SIZE (RFC 3659 §4): a file's size in bytes, 213. The size meant is the one
 * on the wire in the current TYPE; in TYPE A that would cost reading the whole
 * file, so it is refused there, as in pyftpdlib and ProFTPD.
 */
export function size(s: Session, t: Target): Reply {
  if (t.stat === null) return replies.notFound;
  if (!t.stat.isFile) return replies.notAFile;
  if (!s.binary) return reply(550, "SIZE not allowed in ASCII mode; send TYPE I.");
  return reply(213, String(t.stat.size));
}

/** MDTM (RFC 3659): a file's modification time, `YYYYMMDDHHMMSS` UTC. */
export function mdtm(_s: Session, t: Target): Reply {
  if (t.stat === null) return replies.notFound;
  return reply(213, ftpTimestamp(t.stat.mtime));
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
export async function mfmt(s: Session, t: Target, arg: string): Promise<Reply> {
  const when = parseFtpTime(arg);
  if (when === null) return reply(501, "MFMT needs YYYYMMDDHHMMSS and a path.");
  await setTime(s.ctx.core, t, when);
  s.emit({ event: "mtime", path: t.path, mtime: when.toISOString() });
  return reply(213, `Modify=${ftpTimestamp(when)}; ${t.path}`);
}

/** SITE CHMOD: permission bits of a file or folder; set-id and sticky bits are never set. */
export async function chmod(s: Session, t: Target, arg: string): Promise<Reply> {
  const m = /^([0-7]{3,4})\s+\S/.exec(arg);
  if (!m) return reply(501, "SITE CHMOD needs an octal mode and a path.");
  if (!s.ctx.core.storage.capabilities.chmod) {
    return reply(504, "SITE CHMOD is not supported here.");
  }
  await changeMode(s.ctx.core, t, parseInt(m[1], 8));
  s.emit({ event: "chmod", path: t.path, mode: m[1] });
  return reply(200, "SITE CHMOD command successful.");
}

/** DELE: remove a file. */
export async function dele(s: Session, t: Target): Promise<Reply> {
  await deleteFile(s.ctx.core, t);
  s.emit({ event: "delete", path: t.path });
  return reply(250, "File deleted.");
}

/** RNFR: remember what RNTO (the next command) renames. */
export function rnfr(s: Session, t: Target): Reply {
  if (t.stat === null) return replies.notFound;
  s.renameFrom = t;
  return reply(350, "Ready for RNTO.");
}

/** RNTO: moves what RNFR named. */
export async function rnto(s: Session, to: Target): Promise<Reply> {
  const from = s.renameFrom;
  s.renameFrom = null;
  if (from === null) return replies.badSequence;
  await rename(s.ctx.core, from, to);
  s.emit({ event: "rename", path: from.path, from: from.path, to: to.path });
  return reply(250, "Rename successful.");
}
