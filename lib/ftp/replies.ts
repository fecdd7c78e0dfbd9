/**
 * FTP replies as values: a code and one or more text lines, and their wire form
 * (RFC 959 §4.2: `code-text` lines followed by a final `code text` line).
 */

/** One FTP reply. `lines` has at least one entry; none contain CR or LF. */
export interface Reply {
  /** The three-digit reply code. */
  readonly code: number;
  /** The text, one entry per reply line. */
  readonly lines: readonly string[];
}

/** Builds a reply; multi-line text (any of CRLF, LF, CR) becomes several reply lines. */
export function reply(code: number, text: string): Reply {
  const lines = text.replace(/\r\n?/g, "\n").replace(/\n+$/, "").split("\n");
  return { code, lines };
}

/**
 * The reply as it goes on the wire, always ending in CRLF. Inner lines that
 * start with a space go out as they are (FEAT, MLST, HELP want that form);
 * others get the `code-` prefix so no text line can pass for the last one.
 */
export function formatReply(r: Reply): string {
  const last = r.lines.length - 1;
  let out = "";
  for (let i = 0; i < last; i++) {
    const line = r.lines[i];
    out += i > 0 && line.startsWith(" ") ? `${line}\r\n` : `${r.code}-${line}\r\n`;
  }
  return out + `${r.code} ${r.lines[last]}\r\n`;
}

/** Replies used in more than one place, named for what they mean. */
export const replies = {
  loginFirst: reply(530, "Please log in with USER and PASS."),
  badSequence: reply(503, "Bad sequence of commands."),
  needArgument: reply(501, "Syntax error: this command needs an argument."),
  noArgument: reply(501, "Syntax error: this command takes no argument."),
  notFound: reply(550, "No such file or directory."),
  denied: reply(550, "Permission denied."),
  hidden: reply(550, "Names starting with a dot are not allowed."),
  virtualFixed: reply(550, "A virtual directory cannot be changed."),
  badName: reply(553, "File name not allowed."),
  notAFile: reply(550, "Not a regular file."),
  notADir: reply(550, "Not a directory."),
  local: reply(451, "Requested action aborted: local error in processing."),
  noData: reply(425, "Use PORT, EPRT, PASV or EPSV first."),
  dataTimeout: reply(425, "Can't open data connection: timed out."),
  transferDone: reply(226, "Transfer complete."),
  aborted: reply(426, "Connection closed; transfer aborted."),
  quota: reply(552, "Exceeded storage allocation (quota)."),
  tooLong: reply(500, "Command line too long."),
  notUnderstood: reply(500, "Syntax error, command unrecognized."),
  tooMany: reply(421, "Too many connections, try again later."),
  idle: reply(421, "Idle timeout: closing control connection."),
  stalled: reply(421, "Data connection stalled: closing control connection."),
  loginTimeout: reply(421, "Login time limit reached: closing control connection."),
  banned: reply(421, "Too many failed logins from your address, try again later."),
  shuttingDown: reply(421, "Server shutting down."),
} as const;

/** Codes RFC 959 allows once a transfer's 150 was sent. */
const AFTER_MARK = new Set([226, 250, 425, 426, 451, 551, 552]);

/**
 * `r` as a reply that may follow a 150 (RFC 959 §5.4): a transient failure
 * becomes 451, "insufficient storage" 552, another permanent one 551.
 */
export function afterMark(r: Reply): Reply {
  if (AFTER_MARK.has(r.code)) return r;
  const code = r.code === 452 ? 552 : r.code < 500 ? 451 : 551;
  return { ...r, code };
}
