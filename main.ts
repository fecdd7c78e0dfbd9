/**
 * xxftp's command line: parse, validate, then start the server confined to
 * the folder it shares (see lib/sandbox.ts) or run a sub-command.
 */
import { HELP, parseCommandLine, type TlsPaths, UsageError, VERSION } from "./lib/cli.ts";
import { USER_NAME } from "./lib/core/accounts.ts";
import { setPassword } from "./lib/passwd.ts";
import { ServerStartError, startSandboxed } from "./lib/sandbox.ts";
import type { ServerOptions } from "./lib/server.ts";
import { tlsContext, type TlsOptions } from "./lib/ftp/tls.ts";
import { LocalStorage, readHostText, realFolder } from "./lib/storage/local.ts";
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

const stamp = (line: string) => console.log(`${new Date().toISOString()} ${line}`);

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

async function serve(given: ServerOptions, tlsPaths: TlsPaths | null): Promise<number> {
  const root = await folderArg(given.root, "root folder");
  const allowOutside = await Promise.all(
    given.allowOutside.map((p) => folderArg(p, "--allow-outside")),
  );
  const tls = tlsPaths && await readTls(tlsPaths);
  const options = { ...given, root, allowOutside, tls };
  let server;
  try {
    server = await startSandboxed(options, stamp);
  } catch (err) {
    if (err instanceof ServerStartError && err.kind === "AddrInUse") {
      throw new UsageError(`port ${given.port} on ${given.host} is in use`);
    }
    if (err instanceof ServerStartError && err.kind === "HttpAddrInUse") {
      throw new UsageError(`--http port ${given.http} on ${given.host} is in use`);
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
  const host = server.addr.hostname.includes(":")
    ? `[${server.addr.hostname}]`
    : server.addr.hostname;
  console.log(`xxftp ${VERSION} serving ${root}`);
  const scheme = tls?.implicit ? "ftps" : "ftp";
  const tlsNote = tls === null ? "" : tls.implicit ? " (implicit TLS)" : " (AUTH TLS offered)";
  console.log(`  listening on ${scheme}://${host}:${server.addr.port}${tlsNote}`);
  if (server.httpAddr !== null) {
    const web = `${tls ? "https" : "http"}://${host}:${server.httpAddr.port}/`;
    console.log(`  browsers: ${web} (curl too: curl -u USER:PASSWORD ${web})`);
  }
  const access = options.readOnly ? "read-only" : "writable";
  console.log(
    options.share
      ? `  users: anonymous/ftp (any password), this folder as "/", ${access}`
      : `  users: ${await usersOf(new LocalStorage(), root)}`,
  );
  console.log(`  try: curl ${tls?.implicit ? "-k " : ""}${scheme}://${host}:${server.addr.port}/`);
  console.log(`  confined by Deno permissions (${server.confinement}) to the root; Ctrl-C stops`);
  const { promise, resolve } = Promise.withResolvers<void>();
  for (const signal of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(signal, resolve);
  await promise;
  stamp("stopping");
  await server.stop(GRACE_MS);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  try {
    const inv = parseCommandLine(argv);
    switch (inv.kind) {
      case "help":
        console.log(HELP);
        return 0;
      case "version":
        console.log(`xxftp ${VERSION}`);
        return 0;
      case "passwd":
        console.log(`password written to ${await setPassword(inv.user, inv.root, inv.create)}`);
        return 0;
      case "serve":
        return await serve(inv.options, inv.tls);
    }
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    console.error(`xxftp: ${err.message} (see xxftp --help)`);
    return 2;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
