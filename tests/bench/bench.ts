/**
 * `make bench`: xxftp against peer servers measured in the same run, on
 * loopback. Prints download and upload throughput, the time to list 10,000
 * entries, and memory with 100 logged-in sessions, each as a ratio to peers.
 * Peers that are not installed (pyftpdlib, vsftpd) are reported as missing.
 */
import { join } from "node:path";

const FILE_MB = 512;
const RUNS = 3;
const ENTRIES = 10_000;
const SESSIONS = 100;
const SMALL_FILES = 200;

interface Peer {
  name: string;
  start(root: string, port: number): Deno.ChildProcess | null;
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
    start: (root, port) =>
      new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--allow-net",
          `--allow-read=${root},${LIB}`, // as make serve: the server runs in the narrowed Worker
          `--allow-write=${root}`,
          MAIN,
          "serve",
          root,
          "--port",
          String(port),
          "--max-per-ip",
          "1000",
        ],
        stdout: "null",
        stderr: "null",
      }).spawn(),
  },
  {
    name: "pyftpdlib",
    uploads: false,
    start: (root, port) =>
      new Deno.Command("/usr/bin/python3", { args: ["-c", "import pyftpdlib"], stderr: "null" })
          .outputSync().success
        ? new Deno.Command("/usr/bin/python3", {
          args: [
            "-m",
            "pyftpdlib",
            "-i",
            "127.0.0.1",
            "-p",
            String(port),
            "-d",
            join(root, "anonymous"),
          ],
          stdout: "null",
          stderr: "null",
        }).spawn()
        : null,
  },
  {
    name: "vsftpd",
    uploads: false,
    start(root, port) {
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
        ].join("\n") + "\n",
      );
      return new Deno.Command("vsftpd", { args: [conf], stdout: "null", stderr: "null" }).spawn();
    },
  },
];

/** A minimal measuring client: control lines and a reused 4 MiB data buffer. */
class Client {
  #buf = "";
  private constructor(private conn: Deno.TcpConn) {}
  static async open(port: number): Promise<Client> {
    const c = new Client(await Deno.connect({ hostname: "127.0.0.1", port }));
    await c.reply();
    return c;
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
  }
  async data(): Promise<Deno.TcpConn> {
    const r = await this.cmd("EPSV");
    const port = Number(/\|\|\|(\d+)\|/.exec(r)?.[1]);
    return await Deno.connect({ hostname: "127.0.0.1", port });
  }
  close() {
    this.conn.close();
  }
}

const BUF = new Uint8Array(4 << 20);

async function download(c: Client, name: string): Promise<number> {
  const d = await c.data();
  const t0 = performance.now();
  await c.cmd(`RETR ${name}`);
  let bytes = 0;
  for (let n = await d.read(BUF); n !== null; n = await d.read(BUF)) bytes += n;
  await c.reply();
  d.close();
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
  rss: number;
  perSession: number;
};
const results = new Map<string, Row | null>();
let port = 23000 + Math.floor(Math.random() * 1000);
try {
  for (const peer of peers) {
    port++;
    const child = peer.start(root, port);
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
      results.set(peer.name, {
        down,
        up,
        list: listMs,
        small,
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
      (Number.isNaN(r.rss)
        ? "  RSS n/a (forks per session)"
        : `  RSS ${(r.rss / 1024).toFixed(0)} MiB${ratio(ours.rss, r.rss)}, ` +
          `${r.perSession.toFixed(0)} KiB/session`),
  );
}
console.log(
  "  ratios: RETR xxftp/peer (higher is better); LIST and small RETR peer/xxftp (higher is better); RSS xxftp/peer (lower is better)",
);
