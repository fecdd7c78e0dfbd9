/**
 * xxftp's command line: parse, validate, then start the server confined to
 * the folder it shares (see lib/sandbox.ts) or run a sub-command.
 */
import { checkOutput, showUnder } from "./lib/check.ts";
import {
  CHECK_HELP,
  HELP,
  type LogOptions,
  parseCommandLine,
  type TlsPaths,
  UsageError,
  VERSION,
} from "./lib/cli.ts";
import { checkTree } from "./lib/core/check.ts";
import { USER_NAME } from "./lib/core/accounts.ts";
import { GetError, getFile, type GetRequest } from "./lib/get/client.ts";
import { setPassword } from "./lib/passwd.ts";
import { type Sandboxed, ServerStartError, startSandboxed } from "./lib/sandbox.ts";
import type { ServerOptions } from "./lib/server.ts";
import { tlsContext, type TlsOptions } from "./lib/ftp/tls.ts";
import { hashPassword } from "./lib/core/passwords.ts";
import { EventLog } from "./lib/log/output.ts";
import { LineWriter, writeAllWith } from "./lib/log/writer.ts";
import { encodeQr, qrTerminal } from "./lib/share/qr.ts";
import {
  isWildcard,
  machineAddresses,
  randomPassword,
  SHARE_USER,
  type ShareFlags,
  shareLines,
  shareUrls,
  statusText,
  urlHost,
} from "./lib/share/share.ts";
import { LocalStorage, readHostText, realFolder } from "./lib/storage/local.ts";
import {
  checkS3,
  describeS3,
  openS3Storage,
  type S3Spec,
  type S3Target,
  S3UsageError,
} from "./lib/storage/s3/spec.ts";
import { humanDuration } from "./lib/units.ts";
import { type Storage, StorageError } from "./lib/storage/storage.ts";

const GRACE_MS = 5000;

/** The real path of a folder named on the command line, or a usage error. */
async function folderArg(path: string, what: string): Promise<string> {
  try {
    return await realFolder(path);
  } catch (err) {
    const kind = err instanceof StorageError ? err.kind : null;
    if (kind === "not-a-folder") throw new UsageError(`${what} "${path}" is not a folder`);
    if (kind === "not-found") throw new UsageError(`${what} "${path}" does not exist`);
    throw new UsageError(`${what} "${path}" cannot be read (run deno with --allow-read for it)`);
  }
}

/** How many users the startup line names. */
const SHOWN_USERS = 12;

/** Who may log in: each user folder, and whether it needs a password. */
async function usersOf(storage: Storage, root: string): Promise<string> {
  const users: string[] = [];
  for await (const batch of storage.list(root)) {
    for (const e of batch) {
      if (!e.stat?.isDir || !USER_NAME.test(e.name)) continue;
      if (e.name === "anonymous") users.push("anonymous/ftp (any password)");
      else {
        const locked = await storage.stat(`${root}/${e.name}/.xxftp/password`) !== null;
        users.push(`${e.name} (${locked ? "password" : "no password"})`);
      }
    }
  }
  if (users.length === 0) return "none yet: make a folder ROOT/<user>";
  users.sort();
  const shown = users.slice(0, SHOWN_USERS).join(", ");
  return users.length > SHOWN_USERS ? `${shown} and ${users.length - SHOWN_USERS} more` : shown;
}

/** Standard output and error, written through queues so a slow terminal or pipe never holds up the server. */
const [out, errOut] = (["stdout", "stderr"] as const).map((name) =>
  new LineWriter(writeAllWith((b) => Deno[name].write(b)), {
    name: `standard ${name === "stdout" ? "output" : "error"}`,
    report: (message) => console.error(`xxftp: ${message}`),
  })
);

/** Reads and checks the certificate and key, so a bad one is a usage error, not a failed handshake. */
async function readTls(paths: TlsPaths): Promise<TlsOptions> {
  const read = (path: string, flag: string) =>
    readHostText(path).catch(() => {
      throw new UsageError(`${flag} "${path}" cannot be read (run deno with --allow-read for it)`);
    });
  const cert = await read(paths.cert, "--tls-cert");
  const tls = { ...paths, cert, key: await read(paths.key, "--tls-key") };
  try {
    tlsContext(tls);
  } catch (err) {
    throw new UsageError(`--tls-cert/--tls-key: ${(err as Error).message}`);
  }
  return tls;
}

/** How often the status line is redrawn. */
const STATUS_MS = 1000;

/** Keeps the status line current (on a terminal): counts from the server, a rate from their deltas. */
function showStatus(server: Sandboxed, stopsAt: number | null): () => void {
  let last = { total: 0, at: Date.now() };
  let asking = false;
  const timer = setInterval(async () => {
    if (asking) return;
    asking = true;
    const s = await server.status().catch(() => null);
    asking = false;
    if (s === null) return;
    const at = Date.now();
    const rate = (s.total - last.total) * 1000 / Math.max(1, at - last.at);
    last = { total: s.total, at };
    out.status(statusText(s, rate, stopsAt === null ? null : stopsAt - at));
  }, STATUS_MS);
  return () => {
    clearInterval(timer);
    out.status(null);
  };
}

/** The environment variables holding the store's credentials. */
const KEY_VARS = ["AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"] as const;

/** The target with credentials from this process's environment; checked against the store. */
async function s3Spec(target: S3Target): Promise<S3Spec> {
  let keys: (string | undefined)[];
  try {
    keys = KEY_VARS.map((name) => Deno.env.get(name));
  } catch {
    throw new UsageError(`an s3:// root needs deno's --allow-env=${KEY_VARS.join(",")}`);
  }
  const [accessKeyId, secretAccessKey] = keys;
  if (!accessKeyId || !secretAccessKey) {
    throw new UsageError(`an s3:// root needs ${KEY_VARS.join(" and ")} in the environment`);
  }
  const spec = { ...target, accessKeyId, secretAccessKey };
  try {
    await checkS3(spec);
  } catch (err) {
    if (err instanceof S3UsageError) throw new UsageError(err.message);
    throw err;
  }
  return spec;
}

/** The tree a root argument names: a local folder or a bucket prefix. */
interface Tree {
  storage: Storage;
  /** The served root as a storage path (`/` in a bucket). */
  root: string;
  /** How the root is named in messages. */
  shown: string;
  /** The store, with credentials, when the tree is in one. */
  s3?: S3Spec;
}

async function openTree(root: string, s3: S3Target | undefined): Promise<Tree> {
  if (s3 === undefined) {
    const real = await folderArg(root, "root folder");
    return { storage: new LocalStorage(), root: real, shown: real };
  }
  const spec = await s3Spec(s3);
  return { storage: openS3Storage(spec), root: "/", shown: describeS3(spec), s3: spec };
}

async function serve(
  given: ServerOptions,
  tlsPaths: TlsPaths | null,
  share: ShareFlags | null,
  logOptions: LogOptions,
  s3: S3Target | undefined,
): Promise<number> {
  const tree = await openTree(given.root, s3);
  const allowOutside = await Promise.all(
    given.allowOutside.map((p) => folderArg(p, "--allow-outside")),
  );
  const tls = tlsPaths && await readTls(tlsPaths);
  const events = new EventLog(logOptions.format, out, errOut);
  if (logOptions.xferlog !== null) {
    const path = logOptions.xferlog;
    await events.openXferlog(path).catch(() => {
      throw new UsageError(
        `--xferlog "${path}" cannot be opened for appending (run deno with --allow-write for it)`,
      );
    });
  }
  try {
    return await run(given, tree, { allowOutside, tls }, share, events);
  } finally {
    await events.close();
  }
}

/** Runs the server until a signal (or the share's expiry) stops it. */
async function run(
  given: ServerOptions,
  tree: Tree,
  resolved: Pick<ServerOptions, "allowOutside" | "tls">,
  share: ShareFlags | null,
  events: EventLog,
): Promise<number> {
  const { allowOutside, tls } = resolved;
  const { root, s3 } = tree;
  const password = share?.password ? randomPassword() : null;
  const credential = password === null
    ? null
    : { user: SHARE_USER, stored: await hashPassword(password) };
  const checkShownAs = share === null ? given.root : undefined;
  const options = { ...given, root, allowOutside, tls, credential, s3, checkShownAs };
  let server;
  try {
    server = await startSandboxed(options, (e) => events.emit(e));
  } catch (err) {
    if (err instanceof ServerStartError && err.kind === "AddrInUse") {
      throw new UsageError(`port ${given.port} on ${given.host} is in use`);
    }
    if (err instanceof ServerStartError && err.kind === "PortInUse") {
      throw new UsageError(err.message);
    }
    if (err instanceof ServerStartError && err.kind === "AddrNotAvailable") {
      throw new UsageError(`cannot listen on ${given.host}: no such local address`);
    }
    if (err instanceof ServerStartError) {
      console.error(`xxftp: the server could not start: ${err.message}`);
      return 1;
    }
    throw err;
  }
  const startedAt = new Date();
  const { hostname, port } = server.addr;
  out.line(`xxftp ${VERSION} serving ${tree.shown}`);
  const scheme = tls?.implicit ? "ftps" : "ftp";
  const tlsNote = tls === null ? "" : tls.implicit ? " (implicit TLS)" : " (AUTH TLS offered)";
  out.line(`  listening on ${scheme}://${urlHost(hostname)}:${port}${tlsNote}`);
  if (server.getAddr) {
    const at = `${urlHost(hostname)}:${server.getAddr.port}`;
    out.line(`  listening on get://${at} (anonymous tree, read-only; try: xxftp get ${at} NAME)`);
  }
  const reachable = isWildcard(hostname)
    ? (hostname === "0.0.0.0" ? "127.0.0.1" : "::1")
    : hostname;
  if (server.httpAddr) {
    const web = `${tls ? "https" : "http"}://${urlHost(reachable)}:${server.httpAddr.port}/`;
    out.line(`  browsers: ${web} (curl too: curl -u USER:PASSWORD ${web})`);
  }
  let firstUrl = `${scheme}://${urlHost(reachable)}:${port}/`;
  if (share === null) out.line(`  users: ${await usersOf(tree.storage, root)}`);
  else {
    const banner = {
      scheme,
      host: given.host,
      port,
      interfaces: isWildcard(given.host) ? machineAddresses() : [],
      readOnly: options.readOnly,
      password,
      expireMs: share.expireMs,
      now: startedAt,
    } as const;
    for (const line of shareLines(banner)) out.line(line);
    firstUrl = shareUrls(banner)[0] ?? firstUrl;
  }
  const login = password === null ? "" : `-u ${SHARE_USER} `; // curl asks for the password
  out.line(`  try: curl ${tls?.implicit ? "-k " : ""}${login}${firstUrl}`);
  if (share?.qr) {
    out.line("");
    for (const line of qrTerminal(encodeQr(firstUrl), Deno.stdout.isTerminal()).split("\n")) {
      out.line(line);
    }
    out.line(`  (QR code of ${firstUrl})`);
  }
  const wall = s3 ? "the store and the listen address, no files" : "the root";
  out.line(`  confined by Deno permissions (${server.confinement}) to ${wall}; Ctrl-C stops`);
  events.add({ event: "server_start", host: hostname, port, root: tree.shown, proto: scheme });
  const stop = Promise.withResolvers<string>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(signal, () => stop.resolve("stopping"));
  }
  if (events.hasXferlog) Deno.addSignalListener("SIGHUP", () => void events.reopenXferlog());
  const expiry = share?.expireMs == null ? null : setTimeout(
    () => stop.resolve(`the share expired after ${humanDuration(share.expireMs ?? 0)}: stopping`),
    share.expireMs,
  );
  const stopsAt = share?.expireMs == null ? null : startedAt.getTime() + share.expireMs;
  const hideStatus = share !== null && events.format === "text" && Deno.stdout.isTerminal()
    ? showStatus(server, stopsAt)
    : null;
  events.add({ event: "server_stop", reason: await stop.promise });
  if (expiry !== null) clearTimeout(expiry);
  hideStatus?.();
  await server.stop(GRACE_MS);
  events.note("stopped");
  return 0;
}

/** How a tree's paths are written in messages: under the root as given, or as bucket paths. */
function showOf(tree: Tree, given: string): (path: string) => string {
  return tree.s3 ? (path) => path : showUnder(tree.root, given);
}

/** `xxftp check`: problems, then the table of users; 0 when nothing is wrong, else 1. */
async function check(given: string, grants: string[], s3: S3Target | undefined): Promise<number> {
  const tree = await openTree(given, s3);
  const allowOutside = await Promise.all(grants.map((p) => folderArg(p, "--allow-outside")));
  const show = showOf(tree, given);
  const report = await checkTree(tree.storage, tree.root, {
    allowOutside,
    temporaries: true,
    show,
  });
  const result = checkOutput(report, show);
  console.log(result.lines.join("\n"));
  return result.exitCode;
}

/** `xxftp get`: 0 when the whole file arrived, 1 otherwise (one line on stderr). */
async function getCommand(request: GetRequest): Promise<number> {
  try {
    await getFile(request);
    return 0;
  } catch (err) {
    if (!(err instanceof GetError)) throw err;
    console.error(`xxftp get: ${err.message}`);
    return 1;
  }
}

async function main(argv: string[]): Promise<number> {
  try {
    const inv = parseCommandLine(argv);
    switch (inv.kind) {
      case "help":
        console.log(inv.topic === "check" ? CHECK_HELP : HELP);
        return 0;
      case "check":
        return await check(inv.root, inv.allowOutside, inv.s3);
      case "version":
        console.log(`xxftp ${VERSION}`);
        return 0;
      case "passwd": {
        const tree = await openTree(inv.root, inv.s3);
        const file = await setPassword(tree.storage, tree.root, tree.shown, inv.user, inv.create);
        console.log(`password written to ${inv.s3 ? `${tree.shown}: ${file}` : file}`);
        return 0;
      }
      case "serve":
        return await serve(inv.options, inv.tls, inv.share, inv.log, inv.s3);
      case "get":
        return await getCommand(inv.request);
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    await Promise.all([out.flush(), errOut.flush()]);
    console.error(`xxftp: ${e.message} (see xxftp --help)`);
    return 2;
  } finally {
    await Promise.all([out.flush(), errOut.flush()]);
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
