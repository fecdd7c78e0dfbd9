/** Folders and listings: PWD CWD CDUP MKD RMD LIST NLST STAT <path> MLSD MLST. */
import { join } from "node:path";
import { setImmediate } from "node:timers";
import { type Entry, listLine, mlsxLine } from "../listing.ts";
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
  if (!t.info?.isDirectory) return replies.notADir;
  s.cwd = t.ftpPath;
  return reply(250, `Directory changed to ${t.ftpPath}.`);
}

/** MKD: make a folder that does not exist yet. */
export async function mkd(_s: Session, t: Target): Promise<Reply> {
  if (t.info !== null) return reply(550, "Already exists.");
  await Deno.mkdir(t.realPath);
  return reply(257, `${quoted(t.ftpPath)} created.`);
}

/** RMD: remove an empty folder (hidden files count: they are not listed but are there). */
export async function rmd(_s: Session, t: Target): Promise<Reply> {
  if (!t.info?.isDirectory) return replies.notADir;
  await Deno.remove(t.realPath);
  return reply(250, "Directory removed.");
}

function entryOf(name: string, info: Deno.FileInfo): Entry {
  return {
    name,
    isDir: info.isDirectory,
    size: info.size,
    mtime: info.mtime ?? new Date(0),
    mode: info.mode === null ? null : info.mode & 0o777,
  };
}

/** Entries examined between yields to other sessions while a folder is listed. */
const SLICE = 1024;

/** Lets pending I/O of other sessions run (setTimeout would be clamped to 4 ms when nested). */
const yieldToOthers = () => new Promise((r) => setImmediate(r));

/**
 * The visible entries of a folder target: real entries (hidden names and links
 * leaving the tree left out) and its virtual directories, which shadow real
 * entries of the same name. A file target lists as itself. Synchronous calls
 * in slices: four times faster than one async call per entry, and other
 * sessions still get a turn every few milliseconds.
 */
async function entriesOf(s: Session, t: Target): Promise<Entry[] | Reply> {
  if (t.info === null) return replies.notFound;
  const name = t.ftpPath === "/" ? "/" : t.ftpPath.slice(t.ftpPath.lastIndexOf("/") + 1);
  if (!t.info.isDirectory) return [entryOf(name, t.info)];
  const vfs = s.fs;
  const virtuals = await vfs.virtualsIn(t.realPath);
  const shadowed = new Set(virtuals.map((v) => v.name));
  const entries: Entry[] = [];
  const links: string[] = [];
  let count = 0;
  const prefix = t.realPath.endsWith("/") ? t.realPath : `${t.realPath}/`; // join() costs more than the stat
  for (const e of Deno.readDirSync(t.realPath)) {
    if (e.name.startsWith(".") || shadowed.has(e.name)) continue;
    if (e.isSymlink) {
      links.push(e.name);
      continue;
    }
    try {
      entries.push(entryOf(e.name, Deno.statSync(prefix + e.name)));
    } catch {
      // removed while listing: not there any more
    }
    if (++count % SLICE === 0) await yieldToOthers();
  }
  for (const link of links) {
    const path = join(t.realPath, link);
    if (!await vfs.linkStaysInside(t.base, path)) continue;
    const info = await Deno.stat(path).catch(() => null);
    if (info) entries.push(entryOf(link, info));
  }
  for (const v of virtuals) {
    const r = await vfs.resolve(t.ftpPath, v.name);
    if (r.ok && r.target.info?.isDirectory) entries.push(entryOf(v.name, r.target.info));
  }
  return entries;
}

const encoder = new TextEncoder();

/** Sends text lines over a data connection as one block. */
function sendLines(s: Session, what: string, lines: string[]): void {
  const bytes = encoder.encode(lines.length === 0 ? "" : lines.join("\r\n") + "\r\n");
  s.startTransfer(what, async ({ data, transfer }) => {
    await data.write(bytes);
    transfer.bytes = bytes.length;
    return replies.transferDone;
  });
}

/** The entries a LIST/NLST argument selects: the folder's, filtered by its pattern. */
async function selected(s: Session, t: Target, arg: ListArgument): Promise<Entry[] | Reply> {
  const entries = await entriesOf(s, t);
  const { pattern } = arg;
  if (!Array.isArray(entries) || pattern === null) return entries;
  return entries.filter((e) => pattern.test(e.name));
}

/** LIST: `ls -l` lines over the data connection. */
export async function list(s: Session, t: Target, arg: string): Promise<Reply | void> {
  const entries = await selected(s, t, listArgument(arg));
  if (!Array.isArray(entries)) return entries;
  const now = new Date();
  sendLines(s, "file list", entries.map((e) => listLine(e, now)));
}

/** NLST: names only, prefixed with the folder given, as `ls` does. */
export async function nlst(s: Session, t: Target, arg: string): Promise<Reply | void> {
  const given = listArgument(arg);
  const entries = await selected(s, t, given);
  if (!Array.isArray(entries)) return entries;
  if (!t.info?.isDirectory) return sendLines(s, "name list", [given.path]);
  const prefix = given.path === "" ? "" : given.path.replace(/\/*$/, "/");
  sendLines(s, "name list", entries.map((e) => prefix + e.name));
}

/**
 * STAT <path> (RFC 959): what LIST would send, as a 213 reply on the control
 * connection. A name holding CR or LF is left out: it could end the reply early.
 */
export async function statList(s: Session, t: Target, arg: string): Promise<Reply> {
  const entries = await selected(s, t, listArgument(arg));
  if (!Array.isArray(entries)) return entries;
  const now = new Date();
  const lines = entries.filter((e) => !/[\r\n]/.test(e.name)).map((e) => listLine(e, now));
  return { code: 213, lines: [`Status of ${t.ftpPath}:`, ...lines, "End of status."] };
}

/**
 * MLSD (RFC 3659): machine-readable facts for each entry of a folder. A missing
 * folder is 550, the answer clients (rclone) take for "not there, create it".
 */
export async function mlsd(s: Session, t: Target): Promise<Reply | void> {
  if (t.info === null) return replies.notFound;
  if (!t.info.isDirectory) return reply(501, "MLSD needs a directory.");
  const entries = await entriesOf(s, t);
  if (!Array.isArray(entries)) return entries;
  sendLines(s, "MLSD", entries.map((e) => mlsxLine(e, t.perms)));
}

/** MLST (RFC 3659): the facts of one entry, on the control connection. */
export function mlst(_s: Session, t: Target): Reply {
  if (t.info === null) return replies.notFound;
  const line = mlsxLine(entryOf(t.ftpPath, t.info), t.info.isDirectory ? t.perms : t.parentPerms);
  return { code: 250, lines: [`Listing ${t.ftpPath}`, ` ${line}`, "End"] };
}
