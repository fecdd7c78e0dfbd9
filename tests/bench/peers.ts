/**
 * The servers the bench compares, each installed when missing, configured for
 * anonymous download and upload (and a password user where the server has
 * one without system accounts), limits raised, and started fresh on
 * 127.0.0.1. Otherwise each keeps its defaults, security features included
 * (vsftpd's per-session namespaces, proftpd's login delay), as xxftp keeps
 * its sandbox. vsftpd and pyftpdlib come from apt; pure-ftpd and proftpd
 * conflict with vsftpd as packages, so they are unpacked into `peers/` and
 * run from there.
 */
import { join } from "node:path";
import type { TestCert } from "../support/cert.ts";
import { type Proc, spawnGroup, stop } from "./procs.ts";

/** The prepared tree every server serves, and where configs and logs go. */
export interface BenchTree {
  /** Served by xxftp: `anonymous/` and the password user's folder. */
  root: string;
  /** `root/anonymous`: the anonymous root of every server. */
  anon: string;
  /** Configs, logs, certificate: outside the served tree. */
  work: string;
  cert: TestCert | null;
  /** The password user (its files are the anonymous ones; xxftp's is a copy). */
  user: string;
  password: string;
  /** A second tree, served for the growth listings only (folders up to 100,000 entries). */
  growth: { root: string; anon: string };
}

/** How one start is configured. */
export interface StartOptions {
  port: number;
  /** Offer AUTH TLS with the bench's certificate. */
  tls: boolean;
  /** Connection limits, raised to at least this. */
  sessions: number;
}

/** A server under test. */
export interface Server {
  name: string;
  /** Upstream version, known after prepare. */
  version: string;
  /** Whether the password-sessions row can be measured. */
  passwordUser: boolean;
  /** The rows it is measured on, when not all of them. */
  only?: readonly string[];
  /** Shown beside the peers for comparison, never counted as one (the Deno floor). */
  reference?: boolean;
  /** Installs or unpacks it and writes its files; the reason it cannot run here, or null. */
  prepare(tree: BenchTree): Promise<string | null>;
  /** Starts it fresh; resolves once it greets. */
  start(tree: BenchTree, opts: StartOptions): Promise<Proc>;
}

const REPO = new URL("../..", import.meta.url).pathname;
const PEERS = join(REPO, "peers");
const UNPACKED = join(PEERS, "root");

/** Runs a command to its end: whether it succeeded, and its stdout then stderr. */
async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; stdin?: string; env?: Record<string, string> } = {},
): Promise<{ ok: boolean; out: string }> {
  try {
    const child = new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      env: opts.env,
      stdin: opts.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    if (opts.stdin !== undefined) {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(opts.stdin));
      await w.close();
    }
    const r = await child.output();
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    return { ok: r.success, out: text.trim() };
  } catch (err) {
    return { ok: false, out: `${cmd}: ${(err as Error).message}` };
  }
}

const lastLine = (text: string) => text.split("\n").filter((l) => l.trim()).at(-1) ?? "";
const exists = (path: string) => Deno.stat(path).then(() => true, () => false);

/** "1:1.3.8+dfsg-4+deb12u5" → "1.3.8". */
const upstream = (v: string) => v.replace(/^\d+:/, "").replace(/[-+~].*$/, "");

async function installedVersion(pkg: string): Promise<string | null> {
  const r = await run("dpkg-query", ["-W", "-f=${Status} ${Version}", pkg]);
  const m = /install ok installed (\S+)/.exec(r.out);
  return r.ok && m ? upstream(m[1]) : null;
}

/** `apt-get install` of one package, waiting out another helper's dpkg lock (bounded). */
async function aptInstall(pkg: string): Promise<string | null> {
  if (Deno.uid() !== 0) return `not installed, and installing ${pkg} needs root`;
  let out = "";
  for (let attempt = 0; attempt < 10; attempt++) {
    const r = await run("apt-get", ["install", "-y", "--no-install-recommends", pkg], {
      env: { DEBIAN_FRONTEND: "noninteractive" },
    });
    if (r.ok) return null;
    out = r.out;
    if (!/lock/i.test(out)) break;
    await new Promise((r) => setTimeout(r, 6000));
  }
  return `apt-get install ${pkg} failed: ${lastLine(out)}`;
}

/** The .deb of `pkg` already in `dir`, if any. */
async function debOf(dir: string, pkg: string): Promise<string | undefined> {
  for await (const e of Deno.readDir(dir)) if (e.name.startsWith(`${pkg}_`)) return e.name;
}

/** Debian packages `apt-get download`ed once and unpacked into peers/root; the first one's version. */
async function unpack(pkgs: string[]): Promise<{ version: string } | { reason: string }> {
  const debs = join(PEERS, "debs");
  await Deno.mkdir(debs, { recursive: true });
  for (const pkg of pkgs) {
    if (await debOf(debs, pkg) === undefined) {
      const r = await run("apt-get", ["download", pkg], { cwd: debs });
      if (!r.ok) return { reason: `apt-get download ${pkg} failed: ${lastLine(r.out)}` };
    }
    const file = await debOf(debs, pkg);
    if (file === undefined) return { reason: `apt-get download ${pkg} left no .deb` };
    const x = await run("dpkg-deb", ["-x", join(debs, file), UNPACKED]);
    if (!x.ok) return { reason: `dpkg-deb -x ${file} failed: ${lastLine(x.out)}` };
  }
  return { version: upstream((await debOf(debs, pkgs[0]))!.split("_")[1]) };
}

/** LD_LIBRARY_PATH for binaries unpacked next to libraries that are not installed. */
async function unpackedLibs(): Promise<string> {
  const lib = join(UNPACKED, "usr/lib");
  const entries = await Array.fromAsync(Deno.readDir(lib)).catch(() => []);
  return entries.filter((e) => e.name.endsWith("-gnu")).map((e) => join(lib, e.name)).join(":");
}

/** The shared libraries a binary cannot find, or "". */
async function missingLibs(binary: string): Promise<string> {
  const r = await run("ldd", [binary], { env: { LD_LIBRARY_PATH: await unpackedLibs() } });
  return [...r.out.matchAll(/^\s*(\S+) => not found/gm)].map((m) => m[1]).join(", ");
}

/** The `ftp` system account (uid, gid, home): the anonymous user of vsftpd, pure-ftpd and proftpd. */
async function ftpAccount(): Promise<{ uid: number; gid: number; home: string } | null> {
  const r = await run("getent", ["passwd", "ftp"]);
  const f = r.out.split(":");
  return r.ok && f.length >= 7 ? { uid: Number(f[2]), gid: Number(f[3]), home: f[5] } : null;
}

/** Waits (15 s at most) for the first bytes of a greeting; stops the server if none come. */
async function waitReady(proc: Proc, port: number, name: string): Promise<void> {
  let status: Deno.CommandStatus | null = null;
  proc.exited.then((s) => status = s);
  const buf = new Uint8Array(64);
  for (let i = 0; i < 150 && status === null; i++) {
    try {
      using conn = await Deno.connect({ hostname: "127.0.0.1", port });
      if ((await conn.read(buf) ?? 0) > 0) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const log = await Deno.readTextFile(proc.log).catch(() => "");
  await stop(proc);
  throw new Error(`${name} did not start on port ${port}: ${lastLine(log) || "no output"}`);
}

/** Starts a server with its output in the work folder and waits until it greets. */
async function started(
  name: string,
  port: number,
  tree: BenchTree,
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<Proc> {
  const proc = spawnGroup(cmd, args, join(tree.work, `${name}-${port}.log`), env);
  await waitReady(proc, port, name);
  return proc;
}

const MAIN = join(REPO, "main.ts");
const LIB = join(REPO, "lib");
const FLOOR = join(REPO, "tests", "bench", "floor_server.ts");

/** xxftp as `make serve` runs it: the server in the Worker narrowed to the root. */
export const xxftp: Server = {
  name: "xxftp",
  version: "",
  passwordUser: true,
  async prepare(tree) {
    const v = await run(Deno.execPath(), ["run", "--allow-read", MAIN, "--version"]);
    this.version = v.out.replace(/^xxftp\s*/, "");
    // The password line as `xxftp passwd` writes it (scrypt), from the first line of stdin.
    const args = ["run", `--allow-read=${tree.root}`, `--allow-write=${tree.root}`, MAIN];
    const r = await run(Deno.execPath(), [...args, "passwd", tree.user, tree.root, "--create"], {
      stdin: `${tree.password}\n`,
    });
    return r.ok ? null : `xxftp passwd failed: ${lastLine(r.out)}`;
  },
  async start(tree, o) {
    const tls = o.tls && tree.cert ? [tree.cert.cert, tree.cert.key] : [];
    const proc = await started("xxftp", o.port, tree, Deno.execPath(), [
      "run",
      "--v8-flags=--max-semi-space-size=2,--expose-gc", // as the Makefile runs it
      "--allow-net",
      `--allow-read=${[tree.root, LIB, ...tls].join(",")}`,
      `--allow-write=${tree.root}`,
      MAIN,
      "serve",
      tree.root,
      ...["--port", String(o.port)],
      ...["--max-connections", String(o.sessions), "--max-per-ip", String(o.sessions)],
      ...(tls.length ? ["--tls-cert", tls[0], "--tls-key", tls[1]] : []),
    ]);
    await checked(proc);
    return proc;
  },
};

/**
 * Waits for xxftp's start-up check of the tree to end (its "check:" log
 * line): until then the server is still walking the tree, and a measurement
 * of memory "above the idle server" would count that walk.
 */
async function checked(proc: Proc): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const log = await Deno.readTextFile(proc.log).catch(() => "");
    if (/\scheck: /.test(log)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  await stop(proc);
  throw new Error("xxftp's start-up check did not end within a minute");
}

const PYFTPDLIB_SCRIPT = `
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.servers import FTPServer
from pyftpdlib import handlers
port, anon, user, password, limit = sys.argv[1:6]
authorizer = DummyAuthorizer()
authorizer.add_anonymous(anon, perm="elrw")
authorizer.add_user(user, password, anon, perm="elrw")
handler = handlers.FTPHandler
if len(sys.argv) > 6:
    handler = handlers.TLS_FTPHandler
    handler.certfile, handler.keyfile = sys.argv[6:8]
handler.authorizer = authorizer
server = FTPServer(("127.0.0.1", int(port)), handler)
server.max_cons = int(limit)
server.max_cons_per_ip = 0
server.serve_forever()
`;

const PYTHON = "/usr/bin/python3";

/** pyftpdlib (apt's python3-pyftpdlib) with a plain-text password user. */
export const pyftpdlib: Server = {
  name: "pyftpdlib",
  version: "",
  passwordUser: true,
  async prepare(tree) {
    const has = async () => (await run(PYTHON, ["-c", "import pyftpdlib"])).ok;
    if (!await has()) {
      const failed = await aptInstall("python3-pyftpdlib");
      if (failed !== null) return failed;
      if (!await has()) return "python3-pyftpdlib installed, but pyftpdlib does not import";
    }
    this.version = (await run(PYTHON, ["-c", "import pyftpdlib; print(pyftpdlib.__ver__)"])).out;
    await Deno.writeTextFile(join(tree.work, "pyftpdlib_server.py"), PYFTPDLIB_SCRIPT);
    return null;
  },
  start(tree, o) {
    const args = [join(tree.work, "pyftpdlib_server.py"), String(o.port), tree.anon];
    args.push(tree.user, tree.password, String(o.sessions));
    if (o.tls && tree.cert) args.push(tree.cert.cert, tree.cert.key);
    return started("pyftpdlib", o.port, tree, PYTHON, args);
  },
};

/** vsftpd (apt); anonymous only: its virtual users need PAM set up on the machine. */
export const vsftpd: Server = {
  name: "vsftpd",
  version: "",
  passwordUser: false,
  async prepare() {
    if (await installedVersion("vsftpd") === null) {
      const failed = await aptInstall("vsftpd");
      if (failed !== null) return failed;
    }
    this.version = await installedVersion("vsftpd") ?? "?";
    if (await ftpAccount() === null) return "no ftp system account for anonymous users";
    await Deno.mkdir("/var/run/vsftpd/empty", { recursive: true });
    return null;
  },
  async start(tree, o) {
    const conf = join(tree.work, `vsftpd-${o.port}.conf`);
    const lines = [
      "listen=YES",
      "listen_ipv6=NO",
      "listen_address=127.0.0.1",
      `listen_port=${o.port}`,
      "background=NO",
      "anonymous_enable=YES",
      `anon_root=${tree.anon}`,
      "no_anon_password=YES",
      "write_enable=YES",
      "anon_upload_enable=YES",
      "local_enable=NO",
      "seccomp_sandbox=NO",
      `max_clients=${o.sessions}`,
      `max_per_ip=${o.sessions}`,
      "secure_chroot_dir=/var/run/vsftpd/empty",
    ];
    if (o.tls && tree.cert) {
      lines.push(
        "ssl_enable=YES",
        "allow_anon_ssl=YES",
        "require_ssl_reuse=NO",
        "ssl_ciphers=HIGH",
        `rsa_cert_file=${tree.cert.cert}`,
        `rsa_private_key_file=${tree.cert.key}`,
      );
    }
    await Deno.writeTextFile(conf, lines.join("\n") + "\n");
    return started("vsftpd", o.port, tree, "vsftpd", [conf]);
  },
};

/** pure-ftpd unpacked, with an MD5-crypt password user in a PureDB file. */
export const pureFtpd: Server = {
  name: "pure-ftpd",
  version: "",
  passwordUser: true,
  async prepare(tree) {
    const got = await unpack(["pure-ftpd"]);
    if ("reason" in got) return got.reason;
    this.version = got.version;
    const bin = join(UNPACKED, "usr/sbin/pure-ftpd");
    const missing = await missingLibs(bin);
    if (missing) return `unpacked pure-ftpd lacks ${missing}`;
    const ftp = await ftpAccount();
    if (ftp === null) return "no ftp system account for anonymous users";
    if (!await exists(ftp.home)) return `the ftp account's home ${ftp.home} is missing`;
    if (!(await run("unshare", ["-m", "true"])).ok) return "unshare -m is not permitted here";
    const hash = await run("openssl", ["passwd", "-1", "-stdin"], { stdin: tree.password });
    if (!hash.ok) return `openssl passwd -1 failed: ${lastLine(hash.out)}`;
    // user:hash:uid:gid:gecos:home/./ and 12 empty per-user limits; "/./" chroots the user there.
    const line = [tree.user, hash.out, ftp.uid, ftp.gid, "", `${tree.anon}/./`];
    const passwd = join(tree.work, "pureftpd.passwd");
    await Deno.writeTextFile(passwd, [...line, ...Array(12).fill("")].join(":") + "\n");
    const pdb = join(tree.work, "pureftpd.pdb");
    const mk = await run(join(UNPACKED, "usr/bin/pure-pw"), ["mkdb", pdb, "-f", passwd], {
      env: { LD_LIBRARY_PATH: await unpackedLibs() },
    });
    return mk.ok ? null : `pure-pw mkdb failed: ${lastLine(mk.out)}`;
  },
  async start(tree, o) {
    // Anonymous users get the ftp account's home; a private mount namespace puts the tree there.
    const ftp = (await ftpAccount())!;
    const args = [
      ...["-S", `127.0.0.1,${o.port}`, "-H", "-A", "-f", "none", "-u", "1"],
      ...["-c", String(o.sessions), "-C", String(o.sessions)],
      ...["-l", `puredb:${join(tree.work, "pureftpd.pdb")}`],
    ];
    if (o.tls && tree.cert) args.push("-Y", "1", "-2", `${tree.cert.cert},${tree.cert.key}`);
    const script = 'mount --bind "$0" "$1" && shift && exec "$@"';
    return started(
      "pure-ftpd",
      o.port,
      tree,
      "unshare",
      ["-m", "--propagation", "private", "sh", "-c", script, tree.anon, ftp.home, ...[
        join(UNPACKED, "usr/sbin/pure-ftpd"),
        ...args,
      ]],
      { LD_LIBRARY_PATH: await unpackedLibs() },
    );
  },
};

const PROFTPD_PACKAGES = [
  "proftpd-core",
  "proftpd-mod-crypto", // mod_tls
  "libhashkit2",
  "libhiredis0.14",
  "libmemcached11",
  "libmemcachedutil2",
  "libpcre2-posix3",
];

/** proftpd unpacked; anonymous only, as in the table. */
export const proftpd: Server = {
  name: "proftpd",
  version: "",
  passwordUser: false,
  async prepare() {
    const got = await unpack(PROFTPD_PACKAGES);
    if ("reason" in got) return got.reason;
    this.version = got.version;
    const missing = await missingLibs(join(UNPACKED, "usr/sbin/proftpd"));
    if (missing) return `unpacked proftpd lacks ${missing}`;
    if (await ftpAccount() === null) return "no ftp system account for anonymous users";
    return null;
  },
  async start(tree, o) {
    const at = (name: string) => join(tree.work, `proftpd-${o.port}.${name}`);
    const lines = [
      "ServerType standalone",
      `Port ${o.port}`,
      "DefaultAddress 127.0.0.1",
      "SocketBindTight on",
      "UseIPv6 off",
      "User nobody",
      "Group nogroup",
      `MaxInstances ${o.sessions}`,
      `ScoreboardFile ${at("scoreboard")}`,
      `PidFile ${at("pid")}`,
      "WtmpLog off",
      "UseReverseDNS off",
      "AuthPAM off",
      "ControlsEngine off",
      "TransferLog none",
      `SystemLog ${at("syslog")}`,
      `ModulePath ${join(UNPACKED, "usr/lib/proftpd")}`,
    ];
    if (o.tls && tree.cert) {
      lines.push(
        "LoadModule mod_tls.c",
        "TLSEngine on",
        "TLSProtocol TLSv1.2 TLSv1.3",
        `TLSRSACertificateFile ${tree.cert.cert}`,
        `TLSRSACertificateKeyFile ${tree.cert.key}`,
        "TLSOptions NoSessionReuseRequired",
        "TLSVerifyClient off",
        "TLSRequired off",
      );
    }
    lines.push(
      `<Anonymous ${tree.anon}>`,
      "  User ftp",
      "  Group nogroup",
      "  UserAlias anonymous ftp",
      "  RequireValidShell off",
      "  MaxClients none",
      "</Anonymous>",
    );
    await Deno.writeTextFile(at("conf"), lines.join("\n") + "\n");
    const bin = join(UNPACKED, "usr/sbin/proftpd");
    return started("proftpd", o.port, tree, bin, ["-n", "-c", at("conf")], {
      LD_LIBRARY_PATH: await unpackedLibs(),
    });
  },
};

/**
 * The Deno floor (floor_server.ts): Deno's own cost of greeting, holding an
 * idle session and moving bytes, without xxftp's layers; where it trails the
 * best peer, so must xxftp. It holds the idle sessions as every server does,
 * so its greetings are measured in the same state (after 500 sessions, not cold).
 */
export const denoFloor: Server = {
  name: "deno-floor",
  version: "",
  passwordUser: false,
  only: ["idle", "retr", "stor", "p50", "p99"],
  reference: true,
  prepare() {
    this.version = Deno.version.deno;
    return Promise.resolve(null);
  },
  start(tree, o) {
    return started("deno-floor", o.port, tree, Deno.execPath(), [
      "run",
      "--v8-flags=--max-semi-space-size=2", // as the Makefile runs xxftp
      "--allow-net",
      `--allow-read=${tree.anon}`,
      `--allow-write=${tree.anon}`,
      FLOOR,
      tree.anon,
      String(o.port),
    ]);
  },
};

/** Every server, peers first, in table order, then the Deno floor. */
export const SERVERS: Server[] = [vsftpd, pureFtpd, proftpd, pyftpdlib, xxftp, denoFloor];
