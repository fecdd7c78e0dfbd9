/**
 * Events as lines: a text line for people, a JSON object per line for tools,
 * and the classic xferlog line (wu-ftpd, ProFTPD, vsftpd) for transfer
 * analysers.
 */
import { describe, type LogEvent, type TransferEvent } from "../core/events.ts";

/** The log formats `--log-format` takes. */
export type LogFormat = "text" | "json";

/** `TIME sentence`, as the text log writes it. */
export function textLine(e: LogEvent): string {
  return `${e.time} ${describe(e)}`;
}

/** One JSON object: time, event and the common fields first, then the event's own. */
export function jsonLine(e: LogEvent): string {
  const { time, event, session, ip, user, path, proto, ...rest } = e;
  return JSON.stringify({ time, event, session, ip, user, path, proto, ...rest });
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `Wed Jun 30 21:49:08 1993` in local time, as ctime(3) writes it. */
export function ctime(d: Date): string {
  const two = (n: number) => String(n).padStart(2, "0");
  const clock = `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
  const day = String(d.getDate()).padStart(2, " ");
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${day} ${clock} ${d.getFullYear()}`;
}

/**
 * The xferlog line of a finished or broken-off transfer: current time,
 * transfer seconds (at least 1, as analysers divide by it), remote host,
 * bytes, file name (white space as `_`), type `a`/`b`, special action `_`,
 * direction `o`/`i`, access mode `a` (anonymous) or `r`, user, service,
 * authentication method `0`, authenticated user id `*`, completion `c`/`i`.
 */
export function xferlogLine(e: TransferEvent): string {
  return [
    ctime(new Date(e.time)),
    Math.max(1, Math.round(e.duration_ms / 1000)),
    e.ip ?? "-",
    e.bytes,
    (e.path ?? "-").replace(/\s/g, "_"),
    e.mode === "binary" ? "b" : "a",
    "_",
    e.event === "download" ? "o" : "i",
    e.user === "anonymous" ? "a" : "r",
    e.user ?? "-",
    e.proto === null || e.proto.startsWith("ftp") ? "ftp" : e.proto,
    "0",
    "*",
    e.status === "ok" ? "c" : "i",
  ].join(" ");
}
