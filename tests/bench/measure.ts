/**
 * One measurement each, against a server that is already running: curl
 * transfers, idle-session memory, greeting latency, LIST time, session rate,
 * and the loopback TIME_WAIT count that session rates depend on.
 */
import { join } from "node:path";
import { type Fields, hold, loadgen } from "./loadgen.ts";
import type { BenchTree } from "./peers.ts";
import { treeKiB } from "./procs.ts";

/** The files every server serves from the anonymous root. */
export const FILES = {
  big: "big.bin",
  small: "small.bin",
  mib: "mib.bin",
  list: "many",
  uploads: "up",
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function curl(args: string[]): Promise<string[]> {
  const r = await new Deno.Command("curl", { args: ["-sS", ...args] }).output();
  const err = new TextDecoder().decode(r.stderr).trim();
  if (!r.success) throw new Error(`curl: ${err || `exit ${r.code}`}`);
  return new TextDecoder().decode(r.stdout).trim().split(" ");
}

/** RETR of the big file with curl; MB/s as curl reports it. */
export async function retr(port: number, size: number) {
  const [bytes, speed] = await curl([
    ...["-o", "/dev/null", "-w", "%{size_download} %{speed_download}"],
    `ftp://127.0.0.1:${port}/${FILES.big}`,
  ]);
  if (Number(bytes) !== size) throw new Error(`RETR gave ${bytes} bytes of ${size}`);
  return Number(speed) / 1e6;
}

/**
 * RETR of the big file over explicit FTPS (AUTH TLS, PROT P) with the load
 * generator's OpenSSL client, not curl: curl starts the data connection's TLS
 * handshake before RETR, and pyftpdlib resets such a connection. MB/s.
 */
export async function ftps(port: number, tree: BenchTree, size: number) {
  const f = await loadgen("ftps", port, tree.cert!.cert, FILES.big);
  if (f.bytes !== size) throw new Error(`FTPS RETR gave ${f.bytes} bytes of ${size}`);
  return f.rate;
}

/**
 * Waits (30 s at most) until the page cache holds under 256 MiB not yet
 * written to disk, so that every STOR starts from the same state rather than
 * behind the write-back of the one before.
 */
async function settleDirty() {
  for (let i = 0; i < 120; i++) {
    const info = await Deno.readTextFile("/proc/meminfo");
    const kib = (f: string) => Number(new RegExp(`^${f}:\\s+(\\d+)`, "m").exec(info)?.[1] ?? 0);
    if (kib("Dirty") + kib("Writeback") < 256 * 1024) return;
    await sleep(250);
  }
}

/** STOR of the big file with curl into the upload folder, removed afterwards; MB/s. */
export async function stor(port: number, tree: BenchTree, size: number) {
  const name = `stor-${port}.bin`;
  const stored = join(tree.anon, FILES.uploads, name);
  await settleDirty();
  try {
    const [bytes, speed] = await curl([
      ...["-T", join(tree.anon, FILES.big), "-w", "%{size_upload} %{speed_upload}"],
      `ftp://127.0.0.1:${port}/${FILES.uploads}/${name}`,
    ]);
    const onDisk = (await Deno.stat(stored)).size;
    if (Number(bytes) !== size || onDisk !== size) {
      throw new Error(`STOR sent ${bytes} and stored ${onDisk} bytes of ${size}`);
    }
    return Number(speed) / 1e6;
  } finally {
    await Deno.remove(stored).catch(() => {});
  }
}

/**
 * KiB per idle logged-in session: Pss of the server's whole process tree with
 * `n` sessions held, minus before, divided by `n`. On a fresh server, so
 * first-use costs (code compiled, heap grown) count, as they do for a user.
 */
export async function idleKiB(pid: number, port: number, n: number) {
  await sleep(500);
  const before = treeKiB(pid);
  const held = await hold(port, n, "anonymous", "bench@");
  try {
    if (held.fields.held !== n) throw new Error(`only ${held.fields.held} of ${n} logged in`);
    await sleep(1000);
    return (treeKiB(pid) - before) / n;
  } finally {
    await held.release();
  }
}

/** Greeting latency over `n` sequential connects: p50 and p99 in ms. */
export async function greeting(port: number, n: number) {
  const f = await loadgen("greet", port, n);
  if (f.greeted !== n) throw new Error(`${n - f.greeted} of ${n} connects got no 220`);
  return { p50: f.p50, p99: f.p99 };
}

/** Seconds from PASV to 226 of a LIST of `dir`, which holds at least `entries` entries. */
export async function list(port: number, dir: string, entries: number) {
  const f = await loadgen("list", port, "anonymous", "bench@", dir);
  if (f.lines < entries) throw new Error(`LIST gave ${f.lines} lines of ${entries}`);
  return f.seconds;
}

function status(pid: number, field: string): number {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN);
}

/**
 * LIST time and the peak memory it adds to a single-process server: the
 * kernel's peak-RSS mark is reset first (clear_refs 5), so the peak is the
 * listing's own.
 */
export async function listPeak(pid: number, port: number, dir: string, entries: number) {
  await sleep(300);
  await Deno.writeTextFile(`/proc/${pid}/clear_refs`, "5");
  const before = status(pid, "VmRSS");
  const seconds = await list(port, dir, entries);
  return { seconds, peakKiB: status(pid, "VmHWM") - before };
}

/** A session-rate window: `clients` looping sessions for `seconds`. */
export async function sessions(
  port: number,
  clients: number,
  seconds: number,
  user: string,
  pass: string,
): Promise<Fields> {
  return await loadgen("sessions", port, clients, seconds, user, pass, FILES.small);
}

/** `n` concurrent downloads of the 1 MiB file, each compared with the original. */
export async function fetchMany(port: number, tree: BenchTree, n: number) {
  return await loadgen(
    "fetch",
    port,
    n,
    "anonymous",
    "bench@",
    FILES.mib,
    join(tree.anon, FILES.mib),
  );
}

/** The range clients' connect() takes its ports from (ip_local_port_range). */
const EPHEMERAL = Deno.readTextFileSync("/proc/sys/net/ipv4/ip_local_port_range")
  .trim().split(/\s+/).map(Number);

/** TIME_WAIT, the `st` field of /proc/net/tcp. */
const TIME_WAIT_STATE = "06";

/**
 * Sockets in TIME_WAIT holding a port of the ephemeral range: the ones that
 * crowd clients' connect() out of ports (a server's passive ports in that
 * range above all). Others do not: xxftp, its passive ports above the range,
 * kept 2,100-2,400 sessions/s over four 4 s windows back to back, up to
 * 53,000 TIME_WAIT sockets, of which 18,000 in the range.
 */
export function timeWait(): number {
  const [low, high] = EPHEMERAL;
  let n = 0;
  for (const file of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    const text = Deno.readTextFileSync(file);
    for (const line of text.split("\n").slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f[3] !== TIME_WAIT_STATE) continue;
      const port = parseInt(f[1].slice(f[1].lastIndexOf(":") + 1), 16);
      if (port >= low && port <= high) n++;
    }
  }
  return n;
}
