/**
 * The measurements of one round for one server, and the growth figures of
 * xxftp, as tasks for the scheduler: each starts its server fresh, records
 * what it measured, and stops the server whatever happens.
 */
import * as measure from "./measure.ts";
import { FILES } from "./measure.ts";
import { type BenchTree, type Server, xxftp } from "./peers.ts";
import { type Proc, stop } from "./procs.ts";
import type { Task, Window } from "./schedule.ts";
import { figure, type Results } from "./table.ts";

/** Sizes of one bench run. */
export interface Config {
  rounds: number;
  /** The big file of the transfer rows, MiB. */
  bigMiB: number;
  /** Length of a session-rate window, seconds. */
  window: number;
  clients: number;
  held: number;
  greets: number;
  listed: number;
  growth: {
    held: number[];
    listed: number[];
    clients: number[];
    /** Length of the growth's session windows, seconds: shorter, for the TIME_WAIT they leave. */
    window: number;
    fetches: number;
  };
}

/** What every task shares. */
export interface Run {
  cfg: Config;
  tree: BenchTree;
  results: Results;
  /** Failures and oddities, printed under the table. */
  notes: string[];
  /** Per session window: the load generator's cores and the TIME_WAIT count at its start. */
  windows: { cores: number; tw: number }[];
  /** Sessions/s of each window kind in its latest round. */
  rates: Map<string, number>;
  /** TIME_WAIT sockets (in the ephemeral range) each window kind left per session, the most seen. */
  twPerSession: Map<string, number>;
  /** Whether the load generator was built with its FTPS mode. */
  ftps: boolean;
  /** The load average when the run started. */
  load: string;
  log(line: string): void;
}

/** Connection limits of a server unless a task needs more. */
const LIMIT = 2000;

let nextPort = 20_000 + Math.floor(Math.random() * 8000);

/** A free port below the ephemeral range, so no client socket can hold it. */
function freePort(): number {
  for (;;) {
    const port = nextPort++;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      return port;
    } catch {
      // taken: try the next
    }
  }
}

/** Starts `server` fresh, runs `body`, and stops it whatever happens. */
async function withServer(
  run: Run,
  server: Server,
  opts: { tls?: boolean; sessions?: number; tree?: BenchTree },
  body: (proc: Proc, port: number) => Promise<void>,
): Promise<void> {
  const port = freePort();
  const proc = await server.start(opts.tree ?? run.tree, {
    port,
    tls: opts.tls ?? false,
    sessions: opts.sessions ?? LIMIT,
  });
  try {
    await body(proc, port);
  } finally {
    await stop(proc);
  }
}

/** Runs one measurement; a failure costs that cell and is noted, the run goes on. */
async function attempt(run: Run, what: string, fn: () => Promise<void>) {
  try {
    await fn();
  } catch (err) {
    const line = `${what}: ${(err as Error).message}`;
    run.notes.push(line);
    run.log(`  ${line}`);
  }
}

function record(run: Run, round: number, s: Server, row: string, value: number, unit: string) {
  run.results.add(row, s.name, value);
  run.log(`  r${round} ${s.name.padEnd(9)} ${row.padEnd(8)} ${figure(value)} ${unit}`);
}

/** One kind of session-rate window: whose, how many clients for how long, which login. */
interface WindowKind {
  s: Server;
  kind: string;
  clients: number;
  seconds: number;
  login: [string, string];
}

const keyOf = (k: WindowKind) => `${k.s.name}/${k.kind}/${k.clients}`;

/** A probe's length, seconds: enough to tell how many TIME_WAIT sockets a full window leaves. */
const PROBE_SECONDS = 0.5;
/** A probe's fresh server is still warming up; its rate is scaled up to stay on the safe side. */
const PROBE_MARGIN = 1.5;

/** Records the TIME_WAIT sockets (in the ephemeral range) a window of kind `k` left per session. */
async function noteTimeWait(run: Run, k: WindowKind, before: number, sessions: number) {
  if (sessions <= 0) return;
  await new Promise((r) => setTimeout(r, 100)); // the last closes of the window
  const per = Math.max(0, measure.timeWait() - before) / sessions;
  run.twPerSession.set(keyOf(k), Math.max(per, run.twPerSession.get(keyOf(k)) ?? 0));
}

/** A session-rate window against a fresh server; `done` gets its sessions/s. */
function sessionWindow(
  run: Run,
  k: WindowKind,
  round: number,
  done: (rate: number) => void,
): Window {
  const { s, kind, clients, seconds } = k;
  return {
    round,
    seconds,
    rate: () => run.rates.get(keyOf(k)),
    perSession: () => run.twPerSession.get(keyOf(k)),
    run: () =>
      attempt(
        run,
        `r${round} ${s.name} ${kind} (${clients} clients)`,
        () =>
          withServer(run, s, {}, async (_proc, port) => {
            const tw = measure.timeWait();
            const f = await measure.sessions(port, clients, seconds, ...k.login);
            await noteTimeWait(run, k, tw, f.sessions);
            run.rates.set(keyOf(k), f.rate);
            const cores = f.cpu / seconds;
            run.windows.push({ cores, tw });
            if (f.failed > 0) {
              run.notes.push(`r${round} ${s.name} ${kind}: ${f.failed} sessions failed`);
            }
            done(f.rate);
            run.log(
              `      ${clients} clients, TIME_WAIT ${tw} at start ` +
                `(+${
                  figure(run.twPerSession.get(keyOf(k)) ?? 0)
                } a session), ${f.failed} failed, ` +
                `load generator ${cores.toFixed(2)} cores`,
            );
          }),
      ),
  };
}

/**
 * A short window ahead of the first round, not recorded: it tells the
 * scheduler about how many TIME_WAIT sockets the real windows of its kind
 * will leave, so they need not each wait for a full drain.
 */
function probeWindow(run: Run, k: WindowKind): Window {
  return {
    round: 0,
    seconds: PROBE_SECONDS,
    rate: () => undefined,
    perSession: () => undefined,
    run: () =>
      attempt(run, `probe ${keyOf(k)}`, () =>
        withServer(run, k.s, {}, async (_proc, port) => {
          const tw = measure.timeWait();
          const f = await measure.sessions(port, k.clients, PROBE_SECONDS, ...k.login);
          await noteTimeWait(run, k, tw, f.sessions);
          if (!run.rates.has(keyOf(k))) run.rates.set(keyOf(k), f.rate * PROBE_MARGIN);
          const per = run.twPerSession.get(keyOf(k));
          run.log(
            `  probe ${keyOf(k)}: ${figure(f.rate)} sessions/s, ` +
              `${per === undefined ? "?" : figure(per)} TIME_WAIT per session`,
          );
        })),
  };
}

/** Whether `s` is measured on `row` (the Deno floor only on a few). */
export const measures = (s: Server, row: string) => s.only === undefined || s.only.includes(row);

/** The table's rows for one server in one round. */
export function roundTasks(run: Run, s: Server, round: number) {
  const { cfg, tree } = run;
  const size = cfg.bigMiB << 20;
  const at = (what: string) => `r${round} ${s.name} ${what}`;
  /** Runs `fn` for `row`, unless `s` is not measured on it. */
  const step = (row: string, fn: () => Promise<void>) =>
    measures(s, row) ? attempt(run, at(row), fn) : Promise.resolve();
  const others: Task[] = [{
    // One fresh server for the light rows; idle memory first, before anything grows the heap.
    run: () =>
      attempt(run, at("start"), () =>
        withServer(run, s, {}, async (proc, port) => {
          await step("idle", async () => {
            record(
              run,
              round,
              s,
              "idle",
              await measure.idleKiB(proc.pid, port, cfg.held),
              "KiB/session",
            );
          });
          await step("p50", async () => {
            const g = await measure.greeting(port, cfg.greets);
            record(run, round, s, "p50", g.p50, "ms");
            record(run, round, s, "p99", g.p99, "ms");
          });
          await step("list", async () => {
            record(run, round, s, "list", await measure.list(port, FILES.list, cfg.listed), "s");
            record(run, round, s, "list2", await measure.list(port, FILES.list, cfg.listed), "s");
          });
          await step("retr", async () => {
            record(run, round, s, "retr", await measure.retr(port, size), "MB/s");
          });
          await step("stor", async () => {
            record(run, round, s, "stor", await measure.stor(port, tree, size), "MB/s");
          });
        })),
  }];
  if (run.ftps && tree.cert !== null && measures(s, "ftps")) {
    others.push({
      run: () =>
        attempt(run, at("ftps"), () =>
          withServer(run, s, { tls: true }, async (_proc, port) => {
            record(run, round, s, "ftps", await measure.ftps(port, tree, size), "MB/s");
          })),
    });
  }
  const kinds: WindowKind[] = [];
  if (measures(s, "sessions")) {
    const login: [string, string] = ["anonymous", "bench@"];
    kinds.push({ s, kind: "sessions", clients: cfg.clients, seconds: cfg.window, login });
  }
  if (s.passwordUser && measures(s, "password")) {
    const login: [string, string] = [tree.user, tree.password];
    kinds.push({ s, kind: "password", clients: cfg.clients, seconds: cfg.window, login });
  }
  const windows = kinds.map((k) =>
    sessionWindow(run, k, round, (rate) => record(run, round, s, k.kind, rate, "sessions/s"))
  );
  const probes = round === 1 ? kinds.map((k) => probeWindow(run, k)) : [];
  return { windows, others, probes };
}

/** The folder holding `n` files for LIST. */
export const listDir = (cfg: Config, n: number) => n === cfg.listed ? FILES.list : `grow-${n}`;

/**
 * How xxftp's costs grow: idle memory per session, LIST time and peak memory,
 * session rate by client count, many concurrent downloads. `lines` gives the
 * growth table's rows once the tasks have run.
 */
export function growthTasks(run: Run) {
  const { cfg, tree } = run;
  const g = cfg.growth;
  const held = new Map<number, string>();
  const listed = new Map<number, { s: string; peak: string }>();
  const rates = new Map<number, string>();
  let fetched = "failed";
  const others: Task[] = [];
  for (const n of g.held) {
    others.push({
      run: () =>
        attempt(
          run,
          `growth: ${n} idle sessions`,
          () =>
            withServer(run, xxftp, { sessions: n + 100 }, async (proc, port) => {
              held.set(n, figure(await measure.idleKiB(proc.pid, port, n)));
              run.log(`  growth: ${n} idle sessions, ${held.get(n)} KiB each`);
            }),
        ),
    });
  }
  const growthTree = { ...tree, root: tree.growth.root, anon: tree.growth.anon };
  for (const n of g.listed) {
    others.push({
      run: () =>
        attempt(
          run,
          `growth: LIST of ${n}`,
          () =>
            withServer(run, xxftp, { tree: growthTree }, async (proc, port) => {
              const r = await measure.listPeak(proc.pid, port, listDir(cfg, n), n);
              listed.set(n, { s: figure(r.seconds), peak: figure(r.peakKiB / 1024) });
              run.log(
                `  growth: LIST of ${n}, ${figure(r.seconds)} s, peak +${
                  figure(r.peakKiB / 1024)
                } MiB`,
              );
            }),
        ),
    });
  }
  others.push({
    run: () =>
      attempt(
        run,
        `growth: ${g.fetches} concurrent downloads`,
        () =>
          withServer(run, xxftp, {}, async (_proc, port) => {
            const f = await measure.fetchMany(port, tree, g.fetches);
            fetched = `${f.ok} complete and byte-correct` +
              (f.bad > 0 ? `, ${f.bad} failed or wrong` : "") + ` in ${figure(f.seconds)} s`;
            run.log(`  growth: ${g.fetches} concurrent downloads, ${fetched}`);
          }),
      ),
  });
  const kinds: WindowKind[] = g.clients.map((c) => ({
    s: xxftp,
    kind: "growth",
    clients: c,
    seconds: g.window,
    login: ["anonymous", "bench@"],
  }));
  // Eligible from the first round on: as windows of the last round they waited for the end of
  // the bench, when little else was left to run while TIME_WAIT drained.
  const windows = kinds.map((k) =>
    sessionWindow(run, k, 1, (rate) => {
      rates.set(k.clients, figure(rate));
      run.log(`  growth: ${k.clients} clients, ${figure(rate)} sessions/s`);
    })
  );
  const probes = kinds.map((k) => probeWindow(run, k));
  const fmt = (n: number) => n.toLocaleString("en");
  const series = (ns: number[], get: (n: number) => string | undefined) =>
    ns.map((n) => get(n) ?? "failed").join(" / ");
  const lines = () => [
    [
      `KiB per idle session at ${g.held.map(fmt).join(" / ")} sessions`,
      series(g.held, (n) => held.get(n)),
    ],
    [
      `LIST at ${g.listed.map(fmt).join(" / ")} entries, s`,
      series(g.listed, (n) => listed.get(n)?.s),
    ],
    [
      `LIST peak memory at the same sizes, MiB above the idle server`,
      series(g.listed, (n) => listed.get(n)?.peak),
    ],
    [
      `sessions/s at ${g.clients.map(fmt).join(" / ")} concurrent clients (${g.window} s each)`,
      series(g.clients, (c) => rates.get(c)),
    ],
    [`${fmt(g.fetches)} concurrent 1 MiB downloads`, fetched],
  ];
  return { windows, others, probes, lines };
}
