/** Information and settings: NOOP SYST FEAT OPTS HELP STAT TYPE MODE STRU ALLO SITE. */
import { type Reply, reply } from "../replies.ts";
import type { Session } from "../session.ts";

const FEATURES = [
  "EPRT",
  "EPSV",
  "MDTM",
  "MFMT",
  "MLST type*;size*;modify*;perm*;",
  "PASV",
  "REST STREAM",
  "SIZE",
  "TVFS",
  "UTF8",
];

/** NOOP: keeps the connection alive. */
export const noop = (): Reply => reply(200, "NOOP ok.");

/** CLNT: some clients announce themselves; noted, nothing more. */
export const clnt = (): Reply => reply(200, "Noted.");

/** SYST: the system type clients expect; no version. */
export const syst = (): Reply => reply(215, "UNIX Type: L8");

/** FEAT (RFC 2389); the TLS verbs only when a certificate is configured. */
export function feat(s: Session): Reply {
  const tls = s.ctx.tls ? ["AUTH TLS", "PBSZ", "PROT"] : [];
  return { code: 211, lines: ["Features:", ...[...tls, ...FEATURES].map((f) => ` ${f}`), "End"] };
}

/** OPTS: UTF-8 names are always on (RFC 2640); MLST facts are fixed. */
export function opts(_s: Session, arg: string): Reply {
  const [name, value = ""] = arg.trim().split(/\s+/, 2);
  switch (name.toUpperCase()) {
    case "UTF8":
    case "UTF-8":
      return value.toUpperCase() === "OFF"
        ? reply(504, "UTF-8 cannot be turned off.")
        : reply(200, "UTF-8 is always on.");
    case "MLST":
      return reply(200, "MLST OPTS type;size;modify;perm;");
    default:
      return reply(501, "Unknown option.");
  }
}

/** HELP's reply from a table of verbs: all of them, or one verb's syntax. */
export function helpFrom(table: ReadonlyMap<string, { help: string }>, arg: string): Reply {
  if (arg !== "") {
    const cmd = table.get(arg.trim().toUpperCase());
    return cmd ? reply(214, `Syntax: ${cmd.help}`) : reply(502, "Unknown command.");
  }
  const verbs = [...table.keys()];
  const lines = ["The following commands are recognized:"];
  for (let i = 0; i < verbs.length; i += 8) lines.push(" " + verbs.slice(i, i + 8).join(" "));
  lines.push("Help OK.");
  return { code: 214, lines };
}

/** STAT without argument: the session's state, also while a transfer runs. */
export function stat(s: Session): Reply {
  return {
    code: 211,
    lines: [
      "xxftp status:",
      ` Logged in as ${s.user}`,
      ` TYPE: ${s.binary ? "BINARY" : "ASCII"}, STRU: File, MODE: Stream`,
      s.transfer
        ? ` Transfer in progress: ${s.transfer.what}, ${s.transfer.bytes} bytes so far`
        : " No transfer in progress",
      "End of status",
    ],
  };
}

/** TYPE: A (with optional N; line ends converted, see ascii.ts) and I (or L 8; bytes as they are). */
export function type(s: Session, arg: string): Reply {
  const t = arg.trim().toUpperCase().replace(/\s+/g, " ");
  if (t === "A" || t === "A N") {
    s.binary = false;
    return reply(200, "Type set to A.");
  }
  if (t === "I" || t === "L 8") {
    s.binary = true;
    return reply(200, "Type set to I.");
  }
  return reply(504, "Only TYPE A and I are supported.");
}

/** MODE: stream mode only. */
export const mode = (_s: Session, arg: string): Reply =>
  arg.trim().toUpperCase() === "S"
    ? reply(200, "Mode set to S.")
    : reply(504, "Only stream mode is supported.");

/** STRU: file structure only. */
export const stru = (_s: Session, arg: string): Reply =>
  arg.trim().toUpperCase() === "F"
    ? reply(200, "Structure set to F.")
    : reply(504, "Only file structure is supported.");

/** ALLO: nothing to allocate in advance; quotas are checked as bytes arrive. */
export const allo = (): Reply => reply(202, "No storage allocation necessary.");

/** SITE: the site commands offered (their own rows, e.g. "SITE CHMOD"), or 504. */
export function site(_s: Session, arg: string): Reply {
  if (arg.trim().toUpperCase() === "HELP" || arg === "") {
    return reply(214, "SITE CHMOD <octal mode> <path>");
  }
  return reply(504, "Unknown SITE command.");
}
