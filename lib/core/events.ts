/**
 * What the server logs, as structured events rather than sentences: every
 * door reports connections, logins, changes to the tree and transfers as
 * one of these, and the main process turns them into text lines, JSON lines
 * or xferlog lines. An event never carries a password.
 */

/** How a transfer ended. */
export type TransferStatus = "ok" | "aborted" | "failed" | "quota";

/** Fields every event has; null where they do not apply. */
export interface EventCommon {
  /** RFC 3339, UTC. */
  time: string;
  /** The door's session (connection) number. */
  session: number | null;
  /** The client's address. */
  ip: string | null;
  /** The logged-in user (for `login_failed`: the name tried). */
  user: string | null;
  /** The user path the event is about. */
  path: string | null;
  /** The door: `ftp`, `ftps`, `http`, ... */
  proto: string | null;
}

/** What happened, with what each kind of event needs. */
export type EventDetail =
  | { event: "server_start"; host: string; port: number; root: string }
  | { event: "server_stop"; reason: string }
  | { event: "connect" }
  /** A connection turned away before its session began (limits, a held-off address). */
  | { event: "refused"; reason: string }
  | { event: "login" }
  | { event: "login_failed" }
  /** Repeated failed logins: the address is held off. */
  | { event: "ban"; seconds: number }
  | { event: "disconnect"; duration_ms: number }
  | { event: "mkdir" }
  | { event: "rmdir" }
  | { event: "delete" }
  | { event: "rename"; from: string; to: string }
  | { event: "chmod"; mode: string }
  | { event: "mtime"; mtime: string }
  | {
    event: "upload" | "download";
    bytes: number;
    duration_ms: number;
    status: TransferStatus;
    /** The transfer type (TYPE A or I). */
    mode: "ascii" | "binary";
  }
  | { event: "tls"; channel: "control" | "data"; message: string }
  /** A problem in the served tree found at start (`xxftp check`): a host file and line. */
  | { event: "config"; file: string; line: number | null; message: string }
  /** Anything else worth a line: unexpected errors, settings problems met while serving. */
  | { event: "notice"; message: string };

/** One logged event. */
export type LogEvent = EventCommon & EventDetail;

/** A transfer event. */
export type TransferEvent = LogEvent & { event: "upload" | "download" };

/** Where events go. */
export type EventSink = (e: LogEvent) => void;

/** An event as it is made: the common fields it lacks are filled in by `stamped`. */
export type EventInput = EventDetail & Partial<EventCommon>;

/** The millisecond last written as text, and that text: events come many to a millisecond. */
let lastMs = -1;
let lastIso = "";

/** Now as an ISO 8601 text, made once per millisecond. */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== lastMs) {
    lastMs = ms;
    lastIso = new Date(ms).toISOString();
  }
  return lastIso;
}

/** The event with its time (now, unless given) and the common fields it did not set as null. */
export function stamped(e: EventInput): LogEvent {
  return {
    time: isoNow(),
    session: null,
    ip: null,
    user: null,
    path: null,
    proto: null,
    ...e,
  };
}

/** The event as a sentence (without time), as the text log writes it. */
export function describe(e: LogEvent): string {
  // FTP is the main door; the others name themselves, as their session numbers are their own.
  const door = e.proto === "ftp" || e.proto === "ftps" ? null : e.proto;
  const who = [door, e.session, e.ip, e.event === "login_failed" ? null : e.user].filter((x) =>
    x !== null
  );
  const prefix = e.session === null ? "" : `[${who.join(" ")}] `;
  return prefix + sentence(e);
}

function sentence(e: LogEvent): string {
  switch (e.event) {
    case "server_start":
      return `serving ${e.root} on ${e.host}:${e.port}`;
    case "server_stop":
      return e.reason;
    case "connect":
      return "connected";
    case "refused":
      return `connection from ${e.ip} refused: ${e.reason}`;
    case "login":
      return "logged in";
    case "login_failed":
      return `login failed for "${e.user}"`;
    case "ban":
      return `held off for ${e.seconds}s after repeated failed logins`;
    case "disconnect":
      return `disconnected after ${Math.round(e.duration_ms / 1000)}s`;
    case "mkdir":
      return `made folder ${e.path}`;
    case "rmdir":
      return `removed folder ${e.path}`;
    case "delete":
      return `deleted ${e.path}`;
    case "rename":
      return `renamed ${e.from} to ${e.to}`;
    case "chmod":
      return `changed mode of ${e.path} to ${e.mode}`;
    case "mtime":
      return `set time of ${e.path} to ${e.mtime}`;
    case "upload":
    case "download": {
      const size = `${e.path} (${e.bytes} bytes)`;
      if (e.status === "ok") return `${e.event === "upload" ? "stored" : "sent"} ${size}`;
      if (e.status === "quota") return `stopped by a storage limit: ${size}`;
      return `${e.event} ${e.status}: ${size}`;
    }
    case "tls":
      return `${e.channel === "data" ? "data " : ""}TLS handshake failed: ${e.message}`;
    case "config":
      return `check: ${e.file}${e.line === null ? "" : `:${e.line}`}: ${e.message}`;
    case "notice":
      return e.message;
  }
}
