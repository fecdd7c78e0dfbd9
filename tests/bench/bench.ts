/**
 * `make bench`: xxftp against peer servers measured in the same run, on
 * loopback. Prints download and upload throughput, the time to list 10,000
 * entries, the time per download of a small file, download throughput over
 * FTPS (every peer gets the same self-signed certificate), and memory with
 * 100 logged-in sessions, each as a ratio to the peers. Peers that are not
 * installed (pyftpdlib, vsftpd) are reported as skipped.
 */
import { join } from "node:path";
import { makeCert, type TestCert } from "../support/cert.ts";

const FILE_MB = 512;
const RUNS = 3;
const ENTRIES = 10_000;
const SESSIONS = 100;
const SMALL_FILES = 200;

interface Peer {
  name: string;
  start(root: string, port: number, cert: TestCert | null): Deno.ChildProcess | null;
  /** Whether anonymous uploads work on this peer as configured here. */
  uploads: boolean;
}

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const LIB = new URL("../../lib", import.meta.url).pathname;
const which = (cmd: string) =>
  new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" }).outputSync()
    .success;

const peers: Peer[] = [
  {
    name: "xxftp",
    uploads: true,
    start: (root, port, cert) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          // as make serve: the server runs in the narrowed Worker
          `--allow-read=${[root, LIB, ...(cert ? [cert.cert, cert.key] : [])].join(",")}`,
          `--allow-write=${root}`,
          MAIN,
          "serve",
          root,
          "--port",
          String(port),
          "--max-per-ip",
          "1000",
          ...(cert ? ["--tls-cert", cert.cert, "--tls-key", cert.key] : []),
        ],
        stdout: "null",
        stderr: "null",
      }).spawn(),
  },
  {
    name: "pyftpdlib",
    uploads: false,
    start(root, port, cert) {
      const python = "/usr/bin/python3";
      const ok = new Deno.Command(python, { args: ["-c", "import pyftpdlib"], stderr: "null" })
        .outputSync().success;
      if (!ok) return null;
      const script = `
import sys
from pyftpdlib.authorizers import DummyAuthorizer
from pyftpdlib.servers import FTPServer
from pyftpdlib import handlers
authorizer = DummyAuthorizer()
authorizer.add_anonymous(sys.argv[2])
handler = handlers.FTPHandler
if len(sys.argv) > 3:
    handler = handlers.TLS_FTPHandler
    handler.certfile, handler.keyfile = sys.argv[3], sys.argv[4]
handler.authorizer = authorizer
FTPServer(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
`;
      const args = ["-c", script, String(port), join(root, "anonymous")];
      if (cert) args.push(cert.cert, cert.key);
      return new Deno.Command(python, { args, stdout: "null", stderr: "null" }).spawn();
    },
  },
  {
    name: "vsftpd",
    uploads: false,
    start(root, port, cert) {
      if (!which("vsftpd")) return null;
      const conf = join(root, "vsftpd.conf");
      Deno.writeTextFileSync(
        conf,
        [
          "listen=YES",
          "listen_address=127.0.0.1",
          `listen_port=${port}`,
          "background=NO",
          "anonymous_enable=YES",
          `anon_root=${join(root, "anonymous")}`,
          "no_anon_password=YES",
          "local_enable=NO",
          "seccomp_sandbox=NO",
          "max_clients=5000",
          "max_per_ip=5000",
          "secure_chroot_dir=/var/run/vsftpd/empty",
          ...(cert
            ? [
              "ssl_enable=YES",
              "allow_anon_ssl=YES",
              "require_ssl_reuse=NO",
              `rsa_cert_file=${cert.cert}`,
              `rsa_private_key_file=${cert.key}`,
            ]
            : []),
        ].join("\n") + "\n",
      );
      return new Deno.Command("vsftpd", { args: [conf], stdout: "null", stderr: "null" }).spawn();
    },
  },
];

/** A minimal measuring client: control lines and a reused 4 MiB data buffer. */
class Client {
  #buf = "";
  /** The certificate to trust once AUTH TLS has been done (data connections then use TLS too). */
  #tls: TestCert | null = null;
  private constructor(private conn: Deno.Conn) {}
  static async open(port: number): Promise<Client> {
    const c = new Client(await Deno.connect({ hostname: "127.0.0.1", port }));
    await c.reply();
    return c;
  }
  /** AUTH TLS, PBSZ 0, PROT P: control and data connections in TLS from here on. */
  async secure(cert: TestCert) {
    const r = await this.cmd("AUTH TLS");
    if (!r.startsWith("234")) throw new Error(`AUTH TLS refused: ${r}`);
    this.conn = await Deno.startTls(this.conn as Deno.TcpConn, {
      hostname: "localhost",
      caCerts: [cert.pem],
    });
    this.#tls = cert;
  }
  async reply(): Promise<string> {
    const chunk = new Uint8Array(4096);
    for (;;) {
      const m = /(?:^|\r\n)(\d{3}) [^\r\n]*\r\n/.exec(this.#buf);
      if (m) {
        const end = m.index + m[0].length;
        const text = this.#buf.slice(0, end);
        this.#buf = this.#buf.slice(end);
        return text;
      }
      const n = await this.conn.read(chunk);
      if (n === null) throw new Error("control closed");
      this.#buf += new TextDecoder().decode(chunk.subarray(0, n));
    }
  }
  async cmd(line: string): Promise<string> {
    await this.conn.write(new TextEncoder().encode(line + "\r\n"));
    return await this.reply();
  }
  async login() {
    await this.cmd("USER anonymous");
    await this.cmd("PASS bench@");
    await this.cmd("TYPE I");
    if (this.#tls) {
      await this.cmd("PBSZ 0");
      await this.cmd("PROT P");
    }
  }
  async data(): Promise<Deno.Conn> {
    const r = await this.cmd("EPSV");
    const port = Number(/\|\|\|(\d+)\|/.exec(r)?.[1]);
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    if (this.#tls === null) return conn;
    return Deno.startTls(conn, { hostname: "localhost", caCerts: [this.#tls.pem] });
  }
  close() {
    this.conn.close();
  }
}

const BUF = new Uint8Array(4 << 20);

async function download(c: Client, name: string): Promise<number> {
  const d = await c.data();
  const t0 = performance.now();
  // Read while waiting for 150: some servers (vsftpd) finish the data TLS handshake first.
  const opened = c.cmd(`RETR ${name}`);
  let bytes = 0;
  for (let n = await d.read(BUF); n !== null; n = await d.read(BUF)) bytes += n;
  d.close(); // vsftpd waits for the TLS close before its 226
  await opened;
  await c.reply();
  return bytes / ((performance.now() - t0) / 1000);
}

async function upload(c: Client, name: string, total: number): Promise<number> {
  const d = await c.data();
  const t0 = performance.now();
  await c.cmd(`STOR ${name}`);
  for (let sent = 0; sent < total; sent += BUF.length) await d.write(BUF);
  d.close();
  await c.reply();
  return total / ((performance.now() - t0) / 1000);
}

/** Milliseconds per download of a 4 KiB file, over `SMALL_FILES` downloads in a row. */
async function smallFiles(c: Client): Promise<number> {
  const t0 = performance.now();
  for (let i = 0; i < SMALL_FILES; i++) {
    const d = await c.data();
    await c.cmd(`RETR small-${i % 10}.txt`);
    while (await d.read(BUF) !== null);
    await c.reply();
    d.close();
  }
  return (performance.now() - t0) / SMALL_FILES;
}

async function list(c: Client): Promise<number> {
  await c.cmd("CWD /many");
  const d = await c.data();
  const t0 = performance.now();
  await c.cmd("LIST");
  let lines = 0;
  for (let n = await d.read(BUF); n !== null; n = await d.read(BUF)) {
    for (let i = 0; i < n; i++) if (BUF[i] === 10) lines++;
  }
  await c.reply();
  d.close();
  await c.cmd("CWD /");
  if (lines < ENTRIES) throw new Error(`LIST gave ${lines} lines`);
  return performance.now() - t0;
}

function rssKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
}

async function waitForPort(port: number) {
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "xxftp-bench-" }));
await Deno.chmod(root, 0o755);
await Deno.mkdir(join(root, "anonymous/many"), { recursive: true });
await Deno.mkdir(join(root, "up"), { recursive: true });
{
  using f = await Deno.open(join(root, "anonymous/big.bin"), { write: true, create: true });
  for (let i = 0; i < FILE_MB / 4; i++) {
    crypto.getRandomValues(BUF.subarray(0, 65536));
    for (let off = 65536; off < BUF.length; off += 65536) BUF.copyWithin(off, 0, 65536);
    await f.write(BUF);
  }
}
for (let i = 0; i < ENTRIES; i++) {
  Deno.writeTextFileSync(join(root, `anonymous/many/file-${i}.txt`), "x");
}
for (let i = 0; i < 10; i++) {
  Deno.writeFileSync(join(root, `anonymous/small-${i}.txt`), BUF.subarray(0, 4096));
}

type Row = {
  down: number;
  up: number | null;
  list: number;
  small: number;
  /** Download speed over FTPS (PROT P), or null without a certificate. */
  tls: number | null;
  rss: number;
  perSession: number;
};

const cert = await makeCert(root); // null: no FTPS figure
const results = new Map<string, Row | null>();
let port = 23000 + Math.floor(Math.random() * 1000);
try {
  for (const peer of peers) {
    port++;
    const child = peer.start(root, port, cert);
    if (child === null) {
      results.set(peer.name, null);
      continue;
    }
    console.log(`measuring ${peer.name} ...`);
    try {
      await waitForPort(port);
      // Memory first, before transfers grow the heap: fresh, then with idle logged-in sessions.
      const rssFresh = peer.name === "vsftpd" ? Number.NaN : rssKiB(child.pid);
      const idle: Client[] = [];
      for (let i = 0; i < SESSIONS; i++) {
        const s = await Client.open(port);
        await s.login();
        idle.push(s);
      }
      await new Promise((r) => setTimeout(r, 300));
      const rss = peer.name === "vsftpd" ? Number.NaN : rssKiB(child.pid);
      for (const s of idle) s.close();
      const c = await Client.open(port);
      await c.login();
      let down = 0, up: number | null = null, listMs = Infinity;
      for (let i = 0; i < RUNS; i++) down = Math.max(down, await download(c, "big.bin"));
      if (peer.uploads) {
        up = 0;
        for (let i = 0; i < RUNS; i++) {
          up = Math.max(up, await upload(c, "upload.bin", FILE_MB << 20));
        }
        await c.cmd("DELE upload.bin");
      }
      for (let i = 0; i < RUNS; i++) listMs = Math.min(listMs, await list(c));
      const small = await smallFiles(c);
      c.close();
      let tls: number | null = null;
      if (cert) {
        const t = await Client.open(port);
        await t.secure(cert);
        await t.login();
        tls = 0;
        for (let i = 0; i < RUNS; i++) tls = Math.max(tls, await download(t, "big.bin"));
        t.close();
      }
      results.set(peer.name, {
        down,
        up,
        list: listMs,
        small,
        tls,
        rss,
        perSession: (rss - rssFresh) / SESSIONS,
      });
    } finally {
      child.kill("SIGTERM");
      await child.status;
    }
  }
} finally {
  await Deno.remove(root, { recursive: true });
}

const gbs = (b: number) => `${(b / 1e9).toFixed(2)} GB/s`;
const ours = results.get("xxftp")!;
console.log(
  `xxftp bench: ${FILE_MB} MiB file, best of ${RUNS}; LIST of ${ENTRIES} entries; ` +
    `${SMALL_FILES} downloads of 4 KiB; RSS with ${SESSIONS} idle sessions, before any transfer`,
);
for (const [name, r] of results) {
  if (r === null) {
    console.log(`  ${name.padEnd(10)} not installed: skipped`);
    continue;
  }
  const ratio = (a: number, b: number) => name === "xxftp" ? "" : ` (xxftp ${(a / b).toFixed(2)}x)`;
  console.log(
    `  ${name.padEnd(10)} RETR ${gbs(r.down)}${ratio(ours.down, r.down)}` +
      (r.up === null ? "" : `  STOR ${gbs(r.up)}`) +
      `  LIST ${r.list.toFixed(0)} ms${ratio(r.list, ours.list)}` +
      `  small RETR ${r.small.toFixed(2)} ms${ratio(r.small, ours.small)}` +
      (r.tls === null || ours.tls === null
        ? ""
        : `  FTPS RETR ${gbs(r.tls)}${ratio(ours.tls, r.tls)}`) +
      (Number.isNaN(r.rss)
        ? "  RSS n/a (forks per session)"
        : `  RSS ${(r.rss / 1024).toFixed(0)} MiB${ratio(ours.rss, r.rss)}, ` +
          `${r.perSession.toFixed(0)} KiB/session`),
  );
}
console.log(
  "  ratios: RETR and FTPS RETR xxftp/peer (higher is better); LIST and small RETR peer/xxftp (higher is better); RSS xxftp/peer (lower is better)",
);
