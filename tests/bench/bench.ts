/**
 * `make bench`: xxftp against vsftpd, pure-ftpd, proftpd and pyftpdlib in one
 * run on loopback, measured the way an outsider measures (issue 11): every
 * server started fresh for each measurement group of each round, rounds
 * interleaved, medians of the rounds, one markdown table with xxftp's ratio
 * to the best peer, then how xxftp's costs grow. Load comes from curl and a
 * small C load generator (loadgen.c) that reports its own CPU time; session
 * windows are spaced by loopback TIME_WAIT (schedule.ts).
 *
 *   deno run --allow-all tests/bench/bench.ts [--quick] [--rounds N] [--servers a,b]
 */
import { join } from "node:path";
import { makeCert } from "../support/cert.ts";
import { buildLoadgen } from "./loadgen.ts";
import { FILES } from "./measure.ts";
import { type BenchTree, type Server, SERVERS, xxftp } from "./peers.ts";
import { stopAll } from "./procs.ts";
import { schedule, type Task, TIME_WAIT_CAP, type Window } from "./schedule.ts";
import { figure, markdown, Results, type Row } from "./table.ts";
import { type Config, growthTasks, listDir, measures, roundTasks, type Run } from "./tasks.ts";

const FULL: Config = {
  rounds: 3,
  bigMiB: 1024,
  window: 4,
  clients: 64,
  held: 500,
  greets: 200,
  listed: 10_000,
  growth: {
    held: [100, 1000, 5000],
    listed: [1000, 10_000, 100_000],
    clients: [16, 64, 256],
    window: 1,
    fetches: 1000,
  },
};

const QUICK: Config = {
  ...FULL,
  rounds: 1,
  bigMiB: 256,
  window: 1,
  growth: {
    held: [100, 1000],
    listed: [1000, 10_000],
    clients: [16, 64, 256],
    window: 1,
    fetches: 200,
  },
};

const USER = "bench";
const PASSWORD = "bench-pass-7";

function parseArgs(args: string[]) {
  const cfg = { ...(args.includes("--quick") ? QUICK : FULL) };
  const value = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const rounds = value("--rounds");
  if (rounds !== undefined) cfg.rounds = Math.max(1, Number(rounds) | 0);
  const only = value("--servers")?.split(",");
  const unknown = only?.filter((n) => !SERVERS.some((s) => s.name === n)) ?? [];
  if (unknown.length > 0) {
    console.error(`unknown server ${unknown.join(", ")}: pick from ${SERVERS.map((s) => s.name)}`);
    Deno.exit(2);
  }
  const servers = SERVERS.filter((s) => only === undefined || only.includes(s.name));
  return { cfg, servers };
}

const started = performance.now();
const log = (line: string) => console.log(line);
/** A progress line, stamped with the time since the start (m:ss). */
function progress(line: string) {
  const s = Math.floor((performance.now() - started) / 1000);
  console.log(`${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")} ${line}`);
}

async function makeTree(cfg: Config): Promise<BenchTree> {
  const base = await Deno.realPath(await Deno.makeTempDir({ prefix: "xxftp-bench-" }));
  await Deno.chmod(base, 0o755); // the ftp account of the peers must get in
  const root = join(base, "root"), anon = join(root, "anonymous"), work = join(base, "work");
  await Deno.mkdir(join(anon, FILES.list), { recursive: true });
  await Deno.mkdir(work);
  await Deno.mkdir(join(anon, FILES.uploads));
  await Deno.chmod(join(anon, FILES.uploads), 0o777);
  const block = new Uint8Array(4 << 20);
  crypto.getRandomValues(block.subarray(0, 65536));
  for (let off = 65536; off < block.length; off += 65536) block.copyWithin(off, 0, 65536);
  {
    using f = await Deno.open(join(anon, FILES.big), { write: true, create: true });
    for (let i = 0; i < cfg.bigMiB / 4; i++) {
      for (let off = 0; off < block.length;) off += await f.write(block.subarray(off));
    }
  }
  const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
  await Deno.writeFile(join(anon, FILES.small), random(4096));
  const mib = new Uint8Array(1 << 20);
  for (let off = 0; off < mib.length; off += 65536) {
    crypto.getRandomValues(mib.subarray(off, off + 65536));
  }
  await Deno.writeFile(join(anon, FILES.mib), mib);
  const fill = (dir: string, n: number) => {
    Deno.mkdirSync(dir, { recursive: true });
    for (let i = 0; i < n; i++) Deno.writeTextFileSync(join(dir, `file-${i}.txt`), "x");
  };
  fill(join(anon, FILES.list), cfg.listed);
  // The growth listings get a tree of their own: a server reads its tree at start (xxftp's
  // check), and the table's rows are of a tree like an outsider's, not of 100,000 extra files.
  const growth = { root: join(base, "growth"), anon: join(base, "growth", "anonymous") };
  for (const n of cfg.growth.listed) fill(join(growth.anon, listDir(cfg, n)), n);
  // xxftp's password user is a folder of its own; it serves the same small file.
  await Deno.mkdir(join(root, USER));
  await Deno.copyFile(join(anon, FILES.small), join(root, USER, FILES.small));
  const cert = await makeCert(work); // one certificate for every server's FTPS
  return { root, anon, work, cert, user: USER, password: PASSWORD, growth };
}

function tableRows(cfg: Config): Row[] {
  const big = cfg.bigMiB >= 1024 ? `${cfg.bigMiB / 1024} GiB` : `${cfg.bigMiB} MiB`;
  return [
    { key: "retr", label: `RETR of one ${big} file with curl, MB/s`, better: "higher" },
    { key: "stor", label: "STOR of that file with curl, MB/s", better: "higher" },
    {
      key: "sessions",
      label: `sessions/s: ${cfg.clients} concurrent clients for ${cfg.window} s, each ` +
        "connect, 220, USER/PASS (anonymous), TYPE I, PASV, RETR 4 KiB, 226, QUIT",
      better: "higher",
    },
    {
      key: "password",
      label: "password sessions/s: the same with a password user " +
        "(pyftpdlib plain text, pure-ftpd MD5-crypt, xxftp an `xxftp passwd` scrypt line)",
      better: "higher",
    },
    {
      key: "idle",
      label: `KiB per idle logged-in session (${cfg.held} held; Pss of the server's whole ` +
        "process tree, after minus before)",
      better: "lower",
    },
    {
      key: "p50",
      label: `greeting p50 over ${cfg.greets} sequential connects, ms`,
      better: "lower",
    },
    {
      key: "p99",
      label: `greeting p99 over ${cfg.greets} sequential connects, ms`,
      better: "lower",
    },
    {
      key: "list",
      label: `LIST of a folder of ${cfg.listed.toLocaleString("en")} files, PASV to 226, s`,
      better: "lower",
    },
    {
      key: "list2",
      label:
        "the same LIST again at once (the folder unchanged; the first LIST of a fresh server is " +
        "the row above), s",
      better: "lower",
    },
    {
      key: "ftps",
      label: `FTPS RETR of the ${big} file (AUTH TLS, PROT P, one self-signed certificate), MB/s`,
      better: "higher",
    },
  ];
}

/** Installs or unpacks each server; the ones that cannot run are marked skipped. */
async function prepare(run: Run, servers: Server[], rows: Row[]): Promise<Server[]> {
  const ready: Server[] = [];
  for (const s of servers) {
    const reason = await s.prepare(run.tree).catch((e: Error) => e.message);
    if (reason !== null) {
      run.notes.push(`${s.name} skipped: ${reason}`);
      progress(`${s.name}: skipped (${reason})`);
      for (const row of rows) run.results.mark(row.key, s.name, "skipped");
      continue;
    }
    ready.push(s);
    for (const row of rows) if (!measures(s, row.key)) run.results.mark(row.key, s.name, "n/a");
    if (!s.passwordUser) run.results.mark("password", s.name, "n/a");
    if (!run.ftps || run.tree.cert === null) run.results.mark("ftps", s.name, "n/a");
  }
  if (!run.ftps) run.notes.push("FTPS row n/a: the load generator was built without OpenSSL");
  if (run.tree.cert === null) run.notes.push("FTPS row n/a: openssl could not make a certificate");
  return ready;
}

/** The 1-minute load average: how busy the machine was with other work too. */
const loadAverage = () => Deno.readTextFileSync("/proc/loadavg").split(" ")[0];

/** Lines of xxftp's logs that look like a stack trace (each one is a bug), with the log's name. */
async function stackTraces(work: string): Promise<string[]> {
  const found: string[] = [];
  for await (const e of Deno.readDir(work)) {
    if (!e.name.startsWith("xxftp-") || !e.name.endsWith(".log")) continue;
    for (const line of (await Deno.readTextFile(join(work, e.name))).split("\n")) {
      if (/^\s+at .*:\d+:\d+\)?$/.test(line)) found.push(`${e.name}: ${line.trim()}`);
    }
  }
  return found;
}

function report(run: Run, rows: Row[], servers: Server[], lines: string[][], minutes: number) {
  const { cfg } = run;
  const headers = servers.map((s) => ({
    name: s.name,
    header: s.reference
      ? `${s.name} (Deno ${s.version}, no layers; not a peer)`
      : s.version
      ? `${s.name} ${s.version}`
      : s.name,
    reference: s.reference,
  }));
  log("");
  log(
    `## xxftp bench: ${cfg.rounds} round${cfg.rounds > 1 ? "s" : ""}, medians, ` +
      `${navigator.hardwareConcurrency} cores, loopback; load average ${run.load} at the start, ` +
      `${loadAverage()} at the end`,
  );
  log("");
  log(markdown(rows, run.results, headers));
  if (lines.length > 0) {
    log("");
    log("| how xxftp's costs grow | |");
    log("|---|---|");
    for (const [label, value] of lines) log(`| ${label} | ${value} |`);
  }
  log("");
  const cores = run.windows.map((w) => w.cores).sort((a, b) => a - b);
  if (cores.length > 0) {
    const tws = run.windows.map((w) => w.tw);
    log(
      `Load generator during session windows: median ${figure(cores[cores.length >> 1])} ` +
        `cores, at most ${figure(cores.at(-1)!)} (user+sys, mostly the kernel's loopback TCP). ` +
        `TIME_WAIT sockets holding ephemeral ports at window starts: ` +
        `${Math.min(...tws)}–${Math.max(...tws)} (a window ends under ` +
        `${TIME_WAIT_CAP.toLocaleString("en")}).`,
    );
  }
  for (const n of run.notes) log(`- ${n}`);
  log(`bench took ${Math.floor(minutes)} min ${Math.round((minutes % 1) * 60)} s`);
}

async function main() {
  const { cfg, servers } = parseArgs(Deno.args);
  progress(
    `xxftp bench, ${new Date().toISOString()}: ${cfg.rounds} round(s) of ` +
      servers.map((s) => s.name).join(", "),
  );
  const ftps = await buildLoadgen();
  const tree = await makeTree(cfg);
  const run: Run = {
    cfg,
    tree,
    results: new Results(),
    notes: [],
    windows: [],
    rates: new Map(),
    twPerSession: new Map(),
    ftps,
    log: progress,
    load: loadAverage(),
  };
  const cleanup = async () => {
    await stopAll();
    await Deno.remove(join(tree.root, ".."), { recursive: true }).catch(() => {});
  };
  const interrupted = async () => {
    log("interrupted: stopping every server");
    await cleanup();
    Deno.exit(130);
  };
  Deno.addSignalListener("SIGINT", interrupted);
  Deno.addSignalListener("SIGTERM", interrupted);
  try {
    const rows = tableRows(cfg);
    const ready = await prepare(run, servers, rows);
    progress("prepared");
    const windows: Window[] = [];
    const probes: Window[] = [];
    const others: Task[] = [];
    for (let round = 1; round <= cfg.rounds; round++) {
      // Each round starts with another server, so none is always first or last.
      for (let i = 0; i < ready.length; i++) {
        const t = roundTasks(run, ready[(i + round - 1) % ready.length], round);
        windows.push(...t.windows);
        probes.push(...t.probes);
        others.push(...t.others);
      }
    }
    const growth = ready.includes(xxftp) ? growthTasks(run) : null;
    if (growth) {
      windows.push(...growth.windows);
      probes.push(...growth.probes);
      others.push(...growth.others);
    }
    await schedule([...probes, ...windows], others, progress);
    const traces = await stackTraces(tree.work);
    if (traces.length > 0) {
      run.notes.push(`xxftp's logs hold ${traces.length} stack-trace lines, first ${traces[0]}`);
    }
    report(run, rows, servers, growth?.lines() ?? [], (performance.now() - started) / 60_000);
  } finally {
    Deno.removeSignalListener("SIGINT", interrupted);
    Deno.removeSignalListener("SIGTERM", interrupted);
    await cleanup();
  }
}

await main();
