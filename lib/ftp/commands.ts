/**
 * The command table: for every verb, whether login is needed, its argument
 * rule, whether the argument is a path, and the permission that path needs.
 * `dispatch` checks those columns, once, before any handler runs, so handlers
 * assume their preconditions hold.
 */
import * as auth from "./commands/auth.ts";
import * as dirs from "./commands/dirs.ts";
import * as files from "./commands/files.ts";
import * as info from "./commands/info.ts";
import * as transfer from "./commands/transfer.ts";
import { replies, type Reply, reply } from "./replies.ts";
import type { Session } from "./session.ts";
import { checkNeed, type Need } from "../core/access.ts";
import type { Target } from "../core/vfs.ts";
import { REFUSALS } from "./errors.ts";

/** A command whose argument is plain text. */
export type PlainHandler = (s: Session, arg: string) => Promise<Reply | void> | Reply | void;
/** A command whose argument is a path, already resolved and checked. */
export type PathHandler = (
  s: Session,
  target: Target,
  arg: string,
) => Promise<Reply | void> | Reply | void;

/** One row of the table. */
export type Command =
  & {
    login: boolean;
    arg: "none" | "optional" | "required";
    /** Needs a preceding RNFR (RNTO). */
    afterRnfr?: boolean;
    help: string;
  }
  & (
    | { kind: "plain"; run: PlainHandler }
    | {
      kind: "path";
      /** The permission the path needs; an empty path is the current folder. */
      need: Need;
      /** The path part of the argument (LIST's `-la` flags are not part of it). */
      pathOf?: (arg: string) => string;
      /** Runs instead when there is no argument at all (STAT: the session's status, no path). */
      bare?: PlainHandler;
      run: PathHandler;
    }
  );

const plain = (login: boolean, arg: Command["arg"], run: PlainHandler, help: string): Command => ({
  kind: "plain",
  login,
  arg,
  run,
  help,
});

const onPath = (
  need: Need,
  arg: Command["arg"],
  run: PathHandler,
  help: string,
  extra: { pathOf?: (arg: string) => string; bare?: PlainHandler; afterRnfr?: boolean } = {},
): Command => ({ kind: "path", login: true, need, arg, run, help, ...extra });

/** Every verb the server knows. */
export const COMMANDS: ReadonlyMap<string, Command> = new Map([
  ["USER", plain(false, "optional", auth.user, "USER <name>")],
  ["PASS", plain(false, "optional", auth.pass, "PASS <password>")],
  ["QUIT", plain(false, "none", auth.quit, "QUIT (end the session)")],
  ["BYE", plain(false, "none", auth.quit, "BYE (same as QUIT)")],
  ["AUTH", plain(false, "required", auth.auth, "AUTH TLS")],
  ["PBSZ", plain(false, "required", auth.pbsz, "PBSZ 0")],
  ["PROT", plain(false, "required", auth.prot, "PROT C | P")],
  ["NOOP", plain(false, "none", info.noop, "NOOP")],
  ["CLNT", plain(false, "optional", info.clnt, "CLNT <client name>")],
  ["SYST", plain(false, "none", info.syst, "SYST")],
  ["FEAT", plain(false, "none", info.feat, "FEAT")],
  ["OPTS", plain(false, "required", info.opts, "OPTS UTF8 ON")],
  ["HELP", plain(false, "optional", (_s, arg) => info.helpFrom(COMMANDS, arg), "HELP [<verb>]")],
  [
    "STAT",
    onPath("list", "optional", dirs.statList, "STAT [<path>]", {
      pathOf: dirs.listPath,
      bare: info.stat,
    }),
  ],
  ["TYPE", plain(true, "required", info.type, "TYPE A | I")],
  ["MODE", plain(true, "required", info.mode, "MODE S")],
  ["STRU", plain(true, "required", info.stru, "STRU F")],
  ["ALLO", plain(true, "optional", info.allo, "ALLO <bytes>")],
  ["SITE", plain(true, "optional", info.site, "SITE HELP | SITE CHMOD <mode> <path>")],
  [
    "SITE CHMOD",
    onPath("modify", "required", files.chmod, "SITE CHMOD <octal mode> <path>", {
      pathOf: (arg) => arg.replace(/^[0-7]{3,4}\s+/, ""),
    }),
  ],
  ["PWD", plain(true, "none", dirs.pwd, "PWD")],
  ["XPWD", plain(true, "none", dirs.pwd, "XPWD")],
  ["CWD", onPath("list", "optional", dirs.cwd, "CWD <path>")],
  ["XCWD", onPath("list", "optional", dirs.cwd, "XCWD <path>")],
  ["CDUP", onPath("list", "none", dirs.cwd, "CDUP", { pathOf: () => ".." })],
  ["XCUP", onPath("list", "none", dirs.cwd, "XCUP", { pathOf: () => ".." })],
  ["MKD", onPath("modify", "required", dirs.mkd, "MKD <path>")],
  ["XMKD", onPath("modify", "required", dirs.mkd, "XMKD <path>")],
  ["RMD", onPath("modify", "required", dirs.rmd, "RMD <path>")],
  ["XRMD", onPath("modify", "required", dirs.rmd, "XRMD <path>")],
  ["LIST", onPath("list", "optional", dirs.list, "LIST [<path>]", { pathOf: dirs.listPath })],
  ["NLST", onPath("list", "optional", dirs.nlst, "NLST [<path>]", { pathOf: dirs.listPath })],
  ["MLSD", onPath("list", "optional", dirs.mlsd, "MLSD [<path>]")],
  ["MLST", onPath("read", "optional", dirs.mlst, "MLST [<path>]")],
  ["SIZE", onPath("read", "required", files.size, "SIZE <path>")],
  ["MDTM", onPath("read", "required", files.mdtm, "MDTM <path>")],
  [
    "MFMT",
    onPath("modify", "required", files.mfmt, "MFMT YYYYMMDDHHMMSS <path>", {
      pathOf: (arg) => files.parseFtpTime(arg) ? arg.slice(15) : arg, // malformed: 501 from the handler
    }),
  ],
  ["DELE", onPath("modify", "required", files.dele, "DELE <path>")],
  ["RNFR", onPath("modify", "required", files.rnfr, "RNFR <path>")],
  ["RNTO", onPath("modify", "required", files.rnto, "RNTO <path>", { afterRnfr: true })],
  ["PASV", plain(true, "none", transfer.pasv, "PASV")],
  ["EPSV", plain(true, "optional", transfer.epsv, "EPSV [ALL]")],
  ["PORT", plain(true, "required", transfer.port, "PORT h1,h2,h3,h4,p1,p2")],
  ["EPRT", plain(true, "required", transfer.eprt, "EPRT |proto|addr|port|")],
  ["REST", plain(true, "required", transfer.rest, "REST <offset>")],
  ["RETR", onPath("read", "required", transfer.retr, "RETR <path>")],
  ["STOR", onPath("create", "required", transfer.stor, "STOR <path>")],
  ["APPE", onPath("create", "required", transfer.appe, "APPE <path>")],
  ["ABOR", plain(true, "none", transfer.abor, "ABOR")],
]);

/** Verbs of RFC 959 that are recognised but deliberately not offered. */
const NOT_IMPLEMENTED = new Set(["ACCT", "SMNT", "REIN", "STOU"]);

/** `SITE CHMOD 644 f` is the row "SITE CHMOD" with argument `644 f`; other SITE lines stay SITE. */
function siteCommand(verb: string, arg: string): [string, string] {
  if (verb !== "SITE") return [verb, arg];
  const m = /^(\S+)\s*(.*)$/s.exec(arg);
  const sub = m ? `SITE ${m[1].toUpperCase()}` : "";
  return m && COMMANDS.has(sub) ? [sub, m[2]] : [verb, arg];
}

/** Runs one command line's verb through the table; returns the reply to send, if any. */
export async function dispatch(s: Session, given: string, rawArg: string): Promise<Reply | void> {
  // RNFR holds for the command right after it only, and only when it succeeded:
  // it is forgotten here, before anything can fail, and set again by RNFR's handler.
  const renameFrom = s.renameFrom;
  s.renameFrom = null;
  const [verb, arg] = siteCommand(given, rawArg);
  const cmd = COMMANDS.get(verb);
  if (!cmd) {
    return NOT_IMPLEMENTED.has(verb)
      ? reply(502, `${verb} not implemented.`)
      : replies.notUnderstood;
  }
  if (cmd.login && s.vfs === null) return replies.loginFirst;
  if (cmd.arg === "none" && arg !== "") return replies.noArgument;
  if (cmd.arg === "required" && arg === "") return replies.needArgument;
  if (cmd.afterRnfr && renameFrom === null) return replies.badSequence;
  if (cmd.kind === "plain") return await cmd.run(s, arg);
  if (arg === "" && cmd.bare) return await cmd.bare(s, arg);
  if (s.vfs === null) return replies.loginFirst;
  const resolved = await s.vfs.resolve(s.cwd, cmd.pathOf ? cmd.pathOf(arg) : arg);
  if (!resolved.ok) return REFUSALS[resolved.refusal];
  const refusal = checkNeed(cmd.need, resolved.target);
  if (refusal) return REFUSALS[refusal];
  if (cmd.afterRnfr) s.renameFrom = renameFrom;
  return await cmd.run(s, resolved.target, arg);
}
