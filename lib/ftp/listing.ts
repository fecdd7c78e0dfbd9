/**
 * Directory listing lines (pure): the `ls -l` form of LIST, the bare names of
 * NLST, and RFC 3659 MLSD/MLST facts. All dates are UTC.
 */
import type { Entry } from "../core/entries.ts";
import type { Perms } from "../core/tree_files.ts";

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
const SIX_MONTHS_MS = 182 * 24 * 3600 * 1000;

const pad2 = (n: number) => String(n).padStart(2, "0");

/** `YYYYMMDDHHMMSS` in UTC, as MDTM and MLSx `modify` want it. */
export function ftpTimestamp(d: Date): string {
  return `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}` +
    `${pad2(d.getUTCHours())}${pad2(d.getUTCMinutes())}${pad2(d.getUTCSeconds())}`;
}

/** `rwxr-xr-x` for the low nine mode bits. */
export function modeString(mode: number): string {
  let out = "";
  for (let shift = 6; shift >= 0; shift -= 3) {
    const bits = (mode >> shift) & 7;
    out += (bits & 4 ? "r" : "-") + (bits & 2 ? "w" : "-") + (bits & 1 ? "x" : "-");
  }
  return out;
}

/** The date column of `ls -l`: time of day within six months of now, else the year. */
export function listDate(d: Date, now: Date): string {
  const day = String(d.getUTCDate()).padStart(2, " ");
  const head = `${MONTHS[d.getUTCMonth()]} ${day}`;
  const age = now.getTime() - d.getTime();
  if (age < SIX_MONTHS_MS && age > -3600 * 1000) {
    return `${head} ${pad2(d.getUTCHours())}:${pad2(d.getUTCMinutes())}`;
  }
  return `${head}  ${d.getUTCFullYear()}`;
}

/** One LIST line (without CRLF). */
export function listLine(e: Entry, now: Date): string {
  const { stat } = e;
  const mode = modeString(stat.mode ?? (stat.isDir ? 0o755 : 0o644));
  const size = String(stat.size).padStart(13, " ");
  return `${stat.isDir ? "d" : "-"}${mode}    1 ftp      ftp ${size} ${
    listDate(stat.mtime, now)
  } ${e.name}`;
}

/** The RFC 3659 `perm` fact for an entry under the given permissions. */
export function permFact(isDir: boolean, perms: Perms): string {
  const r = perms.has("read"), w = perms.has("write"), m = perms.has("modify");
  if (isDir) return (r ? "el" : "") + (w ? "c" : "") + (m ? "dfmp" : "");
  return (r ? "r" : "") + (m ? "adfw" : "");
}

/** One MLSD/MLST line (without CRLF): facts, a space, the name. */
export function mlsxLine(e: Entry, perms: Perms, type?: "cdir"): string {
  const { stat } = e;
  const kind = type ?? (stat.isDir ? "dir" : "file");
  const size = stat.isDir ? "" : `size=${stat.size};`;
  return `type=${kind};${size}modify=${ftpTimestamp(stat.mtime)};perm=${
    permFact(stat.isDir, perms)
  }; ${e.name}`;
}
