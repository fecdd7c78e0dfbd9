/**
 * Directory listing lines (pure): the `ls -l` form of LIST, the bare names of
 * NLST, and RFC 3659 MLSD/MLST facts. All dates are UTC. A listing makes its
 * lines with `listLines`/`mlsxLines`, which format each minute's (second's)
 * date once: a folder's files mostly share a few, and formatting a date was
 * a third of a cached listing's time.
 */
import type { Entry } from "../core/entries.ts";
import type { Perms } from "../core/tree_files.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const SIX_MONTHS_MS = 182 * 24 * 3600 * 1000;
const HOUR_MS = 3600 * 1000;
const MINUTE_MS = 60 * 1000;
const DAY_MS = 24 * HOUR_MS;
/** Dates remembered per listing: enough for any folder's spread, bounded for a hostile one. */
const MEMO = 4096;

const pad2 = (n: number) => n < 10 ? `0${n}` : `${n}`;

/** `YYYYMMDDHHMMSS` in UTC, as MDTM and MLSx `modify` want it. */
export function ftpTimestamp(d: Date): string {
  return `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}` +
    `${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}`;
}

function modeOf(mode: number): string {
  let out = "";
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (mode >> shift) & 7;
    out += (bits & 4 ? "r" : "-") + (bits & 2 ? "w" : "-") + (bits & 1 ? "x" : "-");
  }
  return out;
}

/** The 512 `rwx` strings, made once. */
const MODES = Array.from({ length: 512 }, (_, mode) => modeOf(mode));

/** `rwxr-xr-x` for the low nine mode bits. */
export function modeString(mode: number): string {
  return MODES[mode & 0o777];
}

/** Whether `ls -l` shows the time of day (within six months of now) rather than the year. */
const recent = (ms: number, nowMs: number) => nowMs - ms < SIX_MONTHS_MS && nowMs - ms > -HOUR_MS;

/** The date column of `ls -l`: time of day within six months of now, else the year. */
export function listDate(d: Date, now: Date): string {
  const day = d.getUTCDate();
  const head = `${MONTHS[d.getUTCMonth()]} ${day < 10 ? " " : ""}${day}`;
  if (recent(d.getTime(), now.getTime())) {
    return `${head} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
  }
  return `${head}  ${d.getUTCFullYear()}`;
}

/** Spaces before a size, by its length, to fill 13 columns. */
const SIZE_PAD = Array.from({ length: 14 }, (_, n) => " ".repeat(13 - n));

function lineOf(e: Entry, date: string): string {
  const { stat } = e;
  const mode = MODES[(stat.mode ?? (stat.isDir ? 0o755 : 0o644)) & 0o777];
  const size = String(stat.size);
  return `${stat.isDir ? "d" : "-"}${mode}    1 ftp      ftp ${
    SIZE_PAD[size.length] ?? ""
  }${size} ${date} ${e.name}`;
}

/** One LIST line (without CRLF). */
export function listLine(e: Entry, now: Date): string {
  return lineOf(e, listDate(e.stat.mtime, now));
}

/** LIST lines for one listing made at `now` (each without CRLF). */
export function listLines(now: Date): (e: Entry) => string {
  const nowMs = now.getTime();
  const dates = new Map<number, string>();
  return (e) => {
    const ms = e.stat.mtime.getTime();
    // Recent dates show the minute, older ones the day: the key tells them apart.
    const key = recent(ms, nowMs)
      ? Math.floor(ms / MINUTE_MS) * 2
      : Math.floor(ms / DAY_MS) * 2 + 1;
    let date = dates.get(key);
    if (date === undefined) {
      date = listDate(e.stat.mtime, now);
      if (dates.size < MEMO) dates.set(key, date);
    }
    return lineOf(e, date);
  };
}

/** The RFC 3659 `perm` fact for an entry under the given permissions. */
export function permFact(isDir: boolean, perms: Perms): string {
  const r = perms.has("read"), w = perms.has("write"), m = perms.has("modify");
  if (isDir) return (r ? "el" : "") + (w ? "c" : "") + (m ? "dfmp" : "");
  return (r ? "r" : "") + (m ? "adfw" : "");
}

function mlsxOf(e: Entry, modify: string, perm: string, type?: "cdir"): string {
  const { stat } = e;
  const kind = type ?? (stat.isDir ? "dir" : "file");
  const size = stat.isDir ? "" : `size=${stat.size};`;
  return `type=${kind};${size}modify=${modify};perm=${perm}; ${e.name}`;
}

/** One MLSD/MLST line (without CRLF): facts, a space, the name. */
export function mlsxLine(e: Entry, perms: Perms, type?: "cdir"): string {
  return mlsxOf(e, ftpTimestamp(e.stat.mtime), permFact(e.stat.isDir, perms), type);
}

/** MLSD lines for one folder whose entries all have `perms` (each without CRLF). */
export function mlsxLines(perms: Perms): (e: Entry) => string {
  const dirPerm = permFact(true, perms), filePerm = permFact(false, perms);
  const stamps = new Map<number, string>();
  return (e) => {
    const second = Math.floor(e.stat.mtime.getTime() / 1000);
    let modify = stamps.get(second);
    if (modify === undefined) {
      modify = ftpTimestamp(e.stat.mtime);
      if (stamps.size < MEMO) stamps.set(second, modify);
    }
    return mlsxOf(e, modify, e.stat.isDir ? dirPerm : filePerm);
  };
}
