/**
 * The command line: flags to options, the help text, and usage errors (one
 * line, exit code 2). No I/O beyond what validating the root needs.
 */
import { parseArgs } from "node:util";
import type { LogFormat } from "./log/format.ts";
import type { GetRequest } from "./get/client.ts";
import { hasControlChars, MAX_REQUEST_BYTES } from "./get/protocol.ts";
import type { ServerOptions } from "./server.ts";
import type { ShareFlags } from "./share/share.ts";
import { parseDuration } from "./units.ts";
import {
  isS3Root,
  parseEndpoint,
  parseS3Root,
  type S3Target,
  S3UsageError,
} from "./storage/s3/spec.ts";

/** The version `--version` prints (never sent to clients). */
export const VERSION = "0.1.0";

/** The text `--help` prints. */
export const HELP =
  `xxftp ${VERSION} — a sandboxed FTP server configured by the folder tree it shares

Usage:
  xxftp serve [ROOT] [options]     share ROOT (default ./home), one folder per user
  xxftp share [DIR] [options] [--writable] [--password] [--expire DURATION] [--qr]
                                   share one folder (default .) with anonymous users,
                                   read-only unless --writable; takes the serve options
  xxftp passwd USER [ROOT] [--create]
                                   set USER's password (read from a prompt, or stdin)
  xxftp check [ROOT] [--allow-outside PATH]
                                   report every problem the server would meet in ROOT,
                                   then a table of users (see xxftp check --help)
  xxftp get HOST:PORT NAME [-o FILE]
                                   fetch NAME from a --get-port door into FILE (default: the
                                   base name of NAME, here; -o - writes to standard output)
  xxftp --help | --version

ROOT may be s3://BUCKET[/PREFIX]: the tree kept in an S3-compatible object store
(credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY); with it:
  --s3-endpoint URL        the store's S3 API, e.g. http://127.0.0.1:7480 (required)
  --s3-region REGION       signing region (default us-east-1)
  --s3-timeout SECONDS     longest wait for any answer of the store (default 30)
  --s3-stale-upload-minutes N
                           abort multipart uploads idle this long, left by an
                           instance that died (default 60; checked at start and
                           every 10 minutes)

Serve options:
  --host ADDR              listen address (default 127.0.0.1; 0.0.0.0 or :: to share on a network)
  --port N                 control port (default 2121; 0 = any free port)
  --http PORT              also serve the tree to web browsers and curl on PORT (0 = any free
                           port): same users and rules; HTTPS when --tls-cert/--tls-key are given
  --passive-ports A-B      passive data port range (default: free ports, 61000-65535 first)
  --public-host ADDR       address announced in PASV replies (behind NAT)
  --max-connections N      whole-server limit (default 500); over it: 421 and close
  --max-per-ip N           per client address limit (default 50); over it: 421 and close
  --idle-timeout SECONDS   control connection idle limit (default 120); 421 then close
  --login-timeout SECONDS  time to log in after connecting (default 30)
  --data-timeout SECONDS   wait for a data connection (default 30); 425 then
  --max-login-failures N   failed logins from one address before it is held off (default 5)
  --ban-seconds SECONDS    how long an address is held off (default 300)
  --login-fail-delay MS    delay before answering the first failed login; doubles (default 1000)
  --allow-outside PATH     let virtual directories point into PATH (outside ROOT); repeatable
  --read-only              nobody may upload, delete, rename or make folders, whatever the tree grants
  --tls-cert FILE          PEM certificate (chain) for FTPS: enables AUTH TLS, PBSZ, PROT
  --tls-key FILE           PEM private key for --tls-cert
  --tls-required           refuse logins before AUTH TLS and transfers without PROT P
  --implicit-tls           the port speaks TLS from the first byte (implicit FTPS, usually port 990)
  --log-format text|json   log lines for people (stdout, the default) or one JSON object per
                           event on stderr (connect, login, mkdir, upload, ...; never a password)
  --xferlog FILE           also append the classic xferlog line of every transfer to FILE
                           (wu-ftpd/ProFTPD/vsftpd format); SIGHUP reopens it (logrotate)
  --get-port N             also serve the anonymous tree, read-only, on port N over the original's
                           raw protocol: "get NAME", size, go-ahead, bytes (off by default)

Share options:
  --writable               let whoever logs in upload, rename and delete (default: read-only)
  --password               no anonymous logins: user "share" with a fresh random password,
                           printed once and kept in memory only
  --expire DURATION        stop by itself after DURATION: 30s, 30m, 2h, 1d
  --qr                     print a QR code of the first URL
  With --host 0.0.0.0 or ::, share prints a URL per network address of this machine
  (under deno run that needs --allow-sys=networkInterfaces). On a terminal a status line
  shows clients, transfers and their rate.

The served tree: ROOT/<user>/ is a user; ROOT/anonymous/ is anonymous (any password).
See README.md for .xxftp/password, permission, size and virtual.`;

/** The text `xxftp check --help` prints. */
export const CHECK_HELP = `Usage: xxftp check [ROOT] [--allow-outside PATH]...

Reads the served tree ROOT (default ./home) the way the server does and prints
every problem the server would meet, one per line as path:line: message
(path: message when no one line is at fault):
  - permission, size and virtual lines it cannot parse
  - virtual folders whose target does not exist, is no folder, or lies outside
    ROOT (and outside every --allow-outside PATH)
  - folders in ROOT nobody can log in to (names other than letters, digits, _)
  - password files in no known form, legacy MD5 (weak) ones, and ones readable
    by group or others; users without a password who may write
    (anonymous is meant to be open)
  - settings files the server ignores, unfinished uploads (.xxftp-part-*)
Then a table of users: home, login, rights at /, limit, usage, virtual folders.

Exit status: 0 nothing is wrong, 1 problems found, 2 usage error.
Under deno: deno run --allow-read=ROOT main.ts check ROOT`;

/** What the command line asks for. */
export type Invocation =
  | { kind: "help"; topic: "main" | "check" }
  | { kind: "version" }
  | {
    kind: "serve";
    options: ServerOptions;
    tls: TlsPaths | null;
    share: ShareFlags | null;
    log: LogOptions;
    s3?: S3Target;
  }
  | { kind: "passwd"; user: string; root: string; create: boolean; s3?: S3Target }
  | { kind: "check"; root: string; allowOutside: string[]; s3?: S3Target }
  | { kind: "get"; request: GetRequest };

/** How the run logs. */
export interface LogOptions {
  format: LogFormat;
  /** The xferlog file (`--xferlog`), as given; null: none. */
  xferlog: string | null;
}

/** Where the certificate and key are, and the TLS policy; main reads the files. */
export interface TlsPaths {
  cert: string;
  key: string;
  required: boolean;
  implicit: boolean;
}

/** A mistake on the command line; the message is one line for the user. */
export class UsageError extends Error {}

function whole(
  flag: string,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
) {
  if (value === undefined) return fallback;
  if (!/^\d{1,9}$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`--${flag} needs a whole number from ${min} to ${max}, not "${value}"`);
  }
  return Number(value);
}

function portRange(value: string | undefined): [number, number] | null {
  if (value === undefined) return null;
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(value);
  const [a, b] = m ? [Number(m[1]), Number(m[2])] : [0, 0];
  if (!m || a < 1024 || b > 65535 || a > b) {
    throw new UsageError(`--passive-ports needs A-B with 1024 <= A <= B <= 65535, not "${value}"`);
  }
  return [a, b];
}

/** PASV can only announce an IPv4 address. */
function publicHost(value: string | undefined): string | null {
  if (value === undefined) return null;
  const parts = value.split(".");
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) {
    throw new UsageError(`--public-host needs an IPv4 address such as 203.0.113.7, not "${value}"`);
  }
  return value;
}

function logFormat(value: string | undefined): LogFormat {
  if (value === undefined || value === "text" || value === "json") return value ?? "text";
  throw new UsageError(`--log-format takes text or json, not "${value}"`);
}

/** Parses `HOST:PORT` (`[::1]:PORT` for IPv6). */
function hostPort(value: string): { hostname: string; port: number } {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^\s:\[\]]+)):(\d{1,5})$/.exec(value);
  const port = Number(m?.[3]);
  if (!m || port < 1 || port > 65535) {
    throw new UsageError(`get needs HOST:PORT (e.g. 127.0.0.1:6666 or [::1]:6666), not "${value}"`);
  }
  return { hostname: m[1] ?? m[2], port };
}

/** `xxftp get HOST:PORT NAME [-o FILE]`: where the file goes is `-o`, else NAME's base name. */
function getRequest(rest: string[], output: string | undefined): GetRequest {
  if (rest.length !== 2) throw new UsageError("usage: xxftp get HOST:PORT NAME [-o FILE]");
  const [address, name] = rest;
  if (name === "" || hasControlChars(name)) {
    throw new UsageError("get needs a NAME without control characters");
  }
  if (new TextEncoder().encode(`get ${name}\n`).length > MAX_REQUEST_BYTES) {
    throw new UsageError(`get: a request is at most ${MAX_REQUEST_BYTES} bytes; NAME is longer`);
  }
  const base = name.split(/[\/\\]/).pop() ?? "";
  if (output === undefined && (base === "" || base === "." || base === "..")) {
    throw new UsageError(`"${name}" ends in no file name; give -o FILE`);
  }
  return { ...hostPort(address), name, output: output ?? base };
}

/** Parses argv (without the program name). Paths are returned as given, not yet resolved. */
export function parseCommandLine(argv: string[]): Invocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: "boolean", short: "h" },
        version: { type: "boolean", short: "V" },
        host: { type: "string" },
        port: { type: "string" },
        http: { type: "string" },
        "passive-ports": { type: "string" },
        "public-host": { type: "string" },
        "max-connections": { type: "string" },
        "max-per-ip": { type: "string" },
        "idle-timeout": { type: "string" },
        "login-timeout": { type: "string" },
        "data-timeout": { type: "string" },
        "max-login-failures": { type: "string" },
        "ban-seconds": { type: "string" },
        "login-fail-delay": { type: "string" },
        "allow-outside": { type: "string", multiple: true },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "tls-required": { type: "boolean" },
        "implicit-tls": { type: "boolean" },
        "read-only": { type: "boolean" },
        writable: { type: "boolean" },
        password: { type: "boolean" },
        expire: { type: "string" },
        qr: { type: "boolean" },
        "log-format": { type: "string" },
        xferlog: { type: "string" },
        create: { type: "boolean" },
        "get-port": { type: "string" },
        output: { type: "string", short: "o" },
        "s3-endpoint": { type: "string" },
        "s3-region": { type: "string" },
        "s3-timeout": { type: "string" },
        "s3-stale-upload-minutes": { type: "string" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message.split("\n")[0]);
  }
  const { values: v, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (v.help) return { kind: "help", topic: command === "check" ? "check" : "main" };
  if (v.version) return { kind: "version" };
  if (command === "get") return { kind: "get", request: getRequest(rest, v.output) };
  if (v.output !== undefined) throw new UsageError("-o belongs to get");
  /** The object store a root names, or nothing for a folder (then no --s3-* flag may be given). */
  const s3Of = (root: string): { s3?: S3Target } => {
    if (!isS3Root(root)) {
      const given = Object.keys(v).find((k) => k.startsWith("s3-"));
      if (given) throw new UsageError(`--${given} belongs to an s3:// root`);
      return {};
    }
    try {
      return {
        s3: {
          ...parseS3Root(root),
          endpoint: parseEndpoint(v["s3-endpoint"]),
          region: v["s3-region"] ?? "us-east-1",
          timeoutMs: whole("s3-timeout", v["s3-timeout"], 30, 1, 3600) * 1000,
          staleUploadMs:
            whole("s3-stale-upload-minutes", v["s3-stale-upload-minutes"], 60, 0, 10080) *
            60_000,
        },
      };
    } catch (err) {
      if (err instanceof S3UsageError) throw new UsageError(err.message);
      throw err;
    }
  };
  if (command === "check") {
    const stray = Object.keys(v).find((k) => k !== "allow-outside" && !k.startsWith("s3-"));
    if (stray !== undefined) throw new UsageError(`--${stray} does not belong to check`);
    if (rest.length > 1) throw new UsageError(`check takes one folder, got ${rest.length}`);
    const root = rest[0] ?? "./home";
    return { kind: "check", root, allowOutside: v["allow-outside"] ?? [], ...s3Of(root) };
  }
  if (command === "passwd") {
    if (rest.length < 1 || rest.length > 2) throw new UsageError("usage: xxftp passwd USER [ROOT]");
    const root = rest[1] ?? "./home";
    return { kind: "passwd", user: rest[0], root, create: v.create ?? false, ...s3Of(root) };
  }
  if (command !== "serve" && command !== "share") {
    throw new UsageError(
      command === undefined ? "no command given" : `unknown command "${command}"`,
    );
  }
  const share = command === "share";
  if (rest.length > 1) throw new UsageError(`${command} takes one folder, got ${rest.length}`);
  if (v.create) throw new UsageError("--create belongs to passwd");
  for (const flag of ["writable", "password", "expire", "qr"] as const) {
    if (v[flag] !== undefined && !share) throw new UsageError(`--${flag} belongs to share`);
  }
  const expireMs = v.expire === undefined ? null : parseDuration(v.expire);
  if (expireMs === 0 || (v.expire !== undefined && expireMs === null)) {
    throw new UsageError(`--expire needs a duration such as 30m, 2h or 1d, not "${v.expire}"`);
  }
  const [cert, key] = [v["tls-cert"], v["tls-key"]];
  if ((cert === undefined) !== (key === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together");
  }
  if (cert === undefined && (v["tls-required"] || v["implicit-tls"])) {
    throw new UsageError("--tls-required and --implicit-tls need --tls-cert and --tls-key");
  }
  const seconds = (flag: string, value: string | undefined, fallback: number) =>
    whole(flag, value, fallback, 1, 86400) * 1000;
  const root = rest[0] ?? (share ? "." : "./home");
  const store = s3Of(root);
  if (store.s3 && v["allow-outside"]) {
    throw new UsageError("--allow-outside does not apply to an s3:// root: the bucket is the tree");
  }
  const port = whole("port", v.port, 2121, 0, 65535);
  const getPort = v["get-port"] === undefined
    ? null
    : whole("get-port", v["get-port"], 0, 0, 65535);
  if (getPort !== null && getPort !== 0 && getPort === port) {
    throw new UsageError("--get-port needs a port of its own, not the --port");
  }
  const http = v.http === undefined ? null : whole("http", v.http, 0, 0, 65535);
  if (http !== null && http !== 0 && (http === port || http === getPort)) {
    throw new UsageError("--http needs a port of its own");
  }
  return {
    kind: "serve",
    ...store,
    options: {
      root,
      share,
      host: v.host ?? "127.0.0.1",
      port,
      passivePorts: portRange(v["passive-ports"]),
      publicHost: publicHost(v["public-host"]),
      maxConnections: whole("max-connections", v["max-connections"], 500, 1, 100000),
      maxPerIp: whole("max-per-ip", v["max-per-ip"], 50, 1, 100000),
      idleTimeoutMs: seconds("idle-timeout", v["idle-timeout"], 120),
      loginTimeoutMs: seconds("login-timeout", v["login-timeout"], 30),
      dataTimeoutMs: seconds("data-timeout", v["data-timeout"], 30),
      maxLoginFailures: whole("max-login-failures", v["max-login-failures"], 5, 1, 1000),
      banSeconds: whole("ban-seconds", v["ban-seconds"], 300, 1, 86400 * 7),
      loginFailDelayMs: whole("login-fail-delay", v["login-fail-delay"], 1000, 0, 60000),
      allowOutside: v["allow-outside"] ?? [],
      tls: null,
      readOnly: share ? !v.writable : v["read-only"] ?? false,
      getPort,
      http,
    },
    tls: cert === undefined || key === undefined ? null : {
      cert,
      key,
      required: v["tls-required"] ?? false,
      implicit: v["implicit-tls"] ?? false,
    },
    share: share ? { password: v.password ?? false, expireMs, qr: v.qr ?? false } : null,
    log: { format: logFormat(v["log-format"]), xferlog: v.xferlog ?? null },
  };
}
