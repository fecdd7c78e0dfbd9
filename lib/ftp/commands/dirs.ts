/** Folders and listings: PWD CWD CDUP MKD RMD LIST NLST STAT <path> MLSD MLST. */
import { makeFolder, removeFolder } from "../../core/actions.ts";
import { type Entry, visibleEntries } from "../../core/entries.ts";
import { listLines, mlsxLine, mlsxLines } from "../listing.ts";
import { replies, type Reply, reply } from "../replies.ts";
import type { Session } from "../session.ts";
import type { Target } from "../../core/vfs.ts";

/** A path inside a 257 reply, with `"` doubled as RFC 959 asks. */
const quoted = (path: string) => `"${path.replaceAll('"', '""')}"`;

/** A LIST/NLST argument: the folder to list, and the wildcard pattern names must match, if any. */
export interface ListArgument {
  path: string;
  pattern: RegExp | null;
}

/**
 * Reads a LIST/NLST argument: leading `-flags` words of letters and digits
 * (`-la`, `-1`, `-a -l`) are dropped, as `ls` would take them, and a last part
 * with `*` or `?` (`docs/*.txt`) becomes a pattern over the folder.
 */
export function listArgument(arg: string): ListArgument {
  const path = arg.replace(/^(\s*-[A-Za-z0-9]+(\s+|$))+/, "");
  const slash = path.lastIndexOf("/");
  const last = path.slice(slash + 1);
  if (!/[*?]/.test(last)) return { path, pattern: null };
  const source = last.replace(/[.+^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*").replaceAll(
    "?",
    ".",
  );
  return { path: path.slice(0, slash + 1), pattern: new RegExp(`^${source}$`, "s") };
}

/** The folder part of a LIST/NLST argument (the table's `pathOf`). */
export const listPath = (arg: string): string => listArgument(arg).path;

/** PWD: the current folder, quoted. */
export const pwd = (s: Session): Reply => reply(257, `${quoted(s.cwd)} is the current directory.`);

/** CWD (and CDUP through the table): enter a folder the user may read. */
export function cwd(s: Session, t: Target): Reply {
  if (!t.stat?.isDir) return replies.notADir;
  s.cwd = t.path;
  return reply(250, `Directory changed to ${t.path}.`);
}

/** MKD: make a folder that does not exist yet. */
export async function mkd(s: Session, t: Target): Promise<Reply> {
  await makeFolder(s.ctx.core, t);
  s.emit({ event: "mkdir", path: t.path });
  return reply(257, `${quoted(t.path)} created.`);
}

/** RMD: remove an empty folder (hidden files count: they are not listed but are there). */
export async function rmd(s: Session, t: Target): Promise<Reply> {
  await removeFolder(s.ctx.core, t);
  s.emit({ event: "rmdir", path: t.path });
  return reply(250, "Directory removed.");
}

const encoder = new TextEncoder();

/**
 * Sends the lines made of a folder's visible entries over a data connection,
 * a batch at a time, so a huge folder is never held whole.
 */
function sendEntries(
  s: Session,
  what: string,
  entries: AsyncIterable<Entry[]>,
  line: (e: Entry) => string,
): void {
  s.startTransfer(what, "send", async ({ data, transfer }) => {
    for await (const batch of entries) {
      let text = "";
      for (const e of batch) text += line(e) + "\r\n";
      const bytes = encoder.encode(text);
      await data.write(bytes);
      transfer.bytes += bytes.length;
    }
    return replies.transferDone;
  });
}

/** The entries a LIST/NLST argument selects: the folder's, filtered by its pattern. */
async function* selected(s: Session, t: Target, arg: ListArgument): AsyncGenerator<Entry[]> {
  const { pattern } = arg;
  for await (const batch of visibleEntries(s.fs, t)) {
    yield pattern === null ? batch : batch.filter((e) => pattern.test(e.name));
  }
}

/** LIST: `ls -l` lines over the data connection. */
export function list(s: Session, t: Target, arg: string): Reply | void {
  if (t.stat === null) return replies.notFound;
  sendEntries(s, "file list", selected(s, t, listArgument(arg)), listLines(new Date()));
}

/** NLST: names only, prefixed with the folder given, as `ls` does. */
export function nlst(s: Session, t: Target, arg: string): Reply | void {
  if (t.stat === null) return replies.notFound;
  const given = listArgument(arg);
  const prefix = !t.stat.isDir || given.path === "" ? "" : given.path.replace(/\/*$/, "/");
  const name = (e: Entry) => t.stat?.isDir ? prefix + e.name : given.path;
  sendEntries(s, "name list", selected(s, t, given), name);
}

/**
 * STAT <path> (RFC 959): what LIST would send, as a 213 reply on the control
 * connection. A name holding CR or LF is left out: it could end the reply early.
 */
export async function statList(s: Session, t: Target, arg: string): Promise<Reply> {
  if (t.stat === null) return replies.notFound;
  const line = listLines(new Date());
  const lines = [`Status of ${t.path}:`];
  for await (const batch of selected(s, t, listArgument(arg))) {
    for (const e of batch) if (!/[\r\n]/.test(e.name)) lines.push(line(e));
  }
  lines.push("End of status.");
  return { code: 213, lines };
}

/**
 * MLSD (RFC 3659): machine-readable facts for each entry of a folder. A missing
 * folder is 550, the answer clients (rclone) take for "not there, create it".
 */
export function mlsd(s: Session, t: Target): Reply | void {
  if (t.stat === null) return replies.notFound;
  if (!t.stat.isDir) return reply(501, "MLSD needs a directory.");
  sendEntries(s, "MLSD", visibleEntries(s.fs, t), mlsxLines(t.perms));
}

/** MLST (RFC 3659): the facts of one entry, on the control connection. */
export function mlst(_s: Session, t: Target): Reply {
  if (t.stat === null) return replies.notFound;
  const line = mlsxLine({ name: t.path, stat: t.stat }, t.stat.isDir ? t.perms : t.parentPerms);
  return { code: 250, lines: [`Listing ${t.path}`, ` ${line}`, "End"] };
}
