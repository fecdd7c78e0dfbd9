/**
 * What one idle connection costs a Deno server, by the way it is held: Pss of
 * the server process (smaps_rollup) with N connections logged in and idle
 * (loadgen's `hold`), minus before, over N; and the same split by V8's own
 * figures (Deno.memoryUsage, after a full GC), so the cost can be told apart:
 * live JS objects, V8 heap slack, ArrayBuffer memory, and the rest (Rust,
 * tokio, malloc). The Pss figure is taken as the bench takes it (no GC before
 * or after); the after-GC one has a full GC before both readings.
 *
 *   deno run -A tests/bench/idle_floor.ts [--counts 100,1000,5000]
 *     [--methods read512,...] [--flags --max-semi-space-size=1,...] [--rounds 1]
 *     [--snapshot] [--settle SECONDS]
 *
 * Each (method, flags, count) gets a fresh server process on 127.0.0.1; each
 * is stopped before the next starts. Methods: see METHODS. With --snapshot,
 * heap snapshots before and after tell what the live JS per connection is. Run it under
 * `flock /tmp/xxftp-heavy.lock` like any benchmark.
 */
import { join } from "node:path";
import * as net from "node:net";
import v8 from "node:v8";
import { buildLoadgen, hold } from "./loadgen.ts";
import { treeKiB } from "./procs.ts";

/** How a server holds its idle connections, one line each for the report. */
const METHODS: Record<string, string> = {
  read512: "conn.read into a 512 B buffer of its own, in an async loop",
  read16: "conn.read into a 16 B buffer of its own",
  then: "conn.read(buf).then(step): no async function frame",
  readable: "conn.readable default reader",
  byob: "conn.readable BYOB reader, 512 B",
  nodenet: "node:net socket 'data' events",
  worker: "read512 inside a Worker, as xxftp runs",
  xxftp: "xxftp's FTP door, started in this process (no Worker)",
  "xxftp-worker": "xxftp's FTP door in a Worker, as xxftp runs",
  "xxftp-cli": "xxftp as the bench starts it (deno run main.ts serve; Pss only)",
};

const enc = new TextEncoder();
const GREETING = enc.encode("220 floor\r\n");
/** Replies to the first, second and third line: USER, PASS, QUIT. */
const REPLIES = ["331 pass\r\n", "230 in\r\n", "221 bye\r\n"].map((r) => enc.encode(r));

/** Lines seen so far on one connection → the reply to send, and whether to close. */
function answer(seen: number, chunk: Uint8Array): { out: Uint8Array[]; close: boolean } {
  const out: Uint8Array[] = [];
  let lines = seen;
  for (const b of chunk) {
    if (b === 10) out.push(REPLIES[Math.min(lines++, 2)]);
  }
  return { out, close: lines >= 3 };
}

/** Counts LFs so far per connection; the replies need nothing more. */
const linesIn = (chunk: Uint8Array) => chunk.reduce((n, b) => n + (b === 10 ? 1 : 0), 0);

async function writeAll(conn: Deno.Conn, parts: Uint8Array[]) {
  for (const p of parts) {
    let off = 0;
    while (off < p.length) off += await conn.write(p.subarray(off));
  }
}

/** A conn.read loop over `buf`. */
async function readLoop(conn: Deno.Conn, buf: Uint8Array) {
  await writeAll(conn, [GREETING]);
  let seen = 0;
  for (;;) {
    const n = await conn.read(buf);
    if (n === null) break;
    const a = answer(seen, buf.subarray(0, n));
    seen += linesIn(buf.subarray(0, n));
    await writeAll(conn, a.out);
    if (a.close) break;
  }
  conn.close();
}

/** The same without an async function: each read's continuation is a callback. */
function thenLoop(conn: Deno.Conn) {
  const buf = new Uint8Array(512);
  let seen = 0;
  const step = (n: number | null): void => {
    if (n === null) return conn.close();
    const a = answer(seen, buf.subarray(0, n));
    seen += linesIn(buf.subarray(0, n));
    writeAll(conn, a.out).then(() => a.close ? conn.close() : void conn.read(buf).then(step));
  };
  writeAll(conn, [GREETING]).then(() => conn.read(buf).then(step));
}

async function readableLoop(conn: Deno.Conn, byob: boolean) {
  await writeAll(conn, [GREETING]);
  let seen = 0;
  let buf = new Uint8Array(512);
  const reader = byob ? conn.readable.getReader({ mode: "byob" }) : conn.readable.getReader();
  for (;;) {
    const r = byob
      ? await (reader as ReadableStreamBYOBReader).read(buf)
      : await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
    if (r.done || r.value === undefined) break;
    if (byob) buf = new Uint8Array(r.value.buffer as ArrayBuffer);
    const a = answer(seen, r.value);
    seen += linesIn(r.value);
    await writeAll(conn, a.out);
    if (a.close) break;
  }
  conn.close();
}

function serveNodeNet(ready: (port: number) => void) {
  const server = net.createServer((sock) => {
    let seen = 0;
    sock.write(GREETING);
    sock.on("data", (chunk: Uint8Array) => {
      const a = answer(seen, chunk);
      seen += linesIn(chunk);
      for (const o of a.out) sock.write(o);
      if (a.close) sock.end();
    });
    sock.on("error", () => sock.destroy());
  });
  server.listen(0, "127.0.0.1", () => ready((server.address() as net.AddressInfo).port));
}

async function serveDeno(method: string, ready: (port: number) => void) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  ready(listener.addr.port);
  for await (const conn of listener) {
    const run = method === "read16"
      ? readLoop(conn, new Uint8Array(16))
      : method === "readable" || method === "byob"
      ? readableLoop(conn, method === "byob")
      : method === "then"
      ? Promise.resolve(thenLoop(conn))
      : readLoop(conn, new Uint8Array(512));
    run.catch(() => conn.close());
  }
}

async function serveXxftp(ready: (port: number) => void) {
  const { parseCommandLine } = await import("../../lib/cli.ts");
  const { startServer } = await import("../../lib/server.ts");
  const root = Deno.env.get("FLOOR_ROOT")!;
  const inv = parseCommandLine([
    "serve",
    root,
    ...["--port", "0", "--max-connections", "9000", "--max-per-ip", "9000"],
  ]);
  if (inv.kind !== "serve") throw new Error("parseCommandLine: not serve");
  const server = await startServer({ ...inv.options, root }, () => {});
  ready(server.addr.port);
}

/** What `mem` reports of the isolate serving the connections, bytes. */
interface Mem {
  /** Live JS objects. */
  used: number;
  /** The young generation's committed size (both semi-spaces). */
  young: number;
  /** The rest of the heap's committed size (old, code, large objects...). */
  old: number;
  /** ArrayBuffer backing stores and other memory V8 was told of. */
  external: number;
}

function memNow(): Mem {
  const h = v8.getHeapStatistics();
  const young = v8.getHeapSpaceStatistics().filter((s) => s.space_name.startsWith("new_"))
    .reduce((sum, s) => sum + s.physical_space_size, 0);
  return {
    used: h.used_heap_size,
    young,
    old: h.total_physical_size - young,
    external: h.external_memory,
  };
}

/** Full GC (twice, so weak and finalized objects go too); needs --expose-gc. */
function collect() {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

const isWorker = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !==
  "undefined";

/** The server side: in a Worker, serving and answering `mem`/`gc` by message. */
function workerMain() {
  const scope = self as unknown as {
    postMessage(m: unknown): void;
    onmessage: ((e: MessageEvent<{ type: string; method: string }>) => void) | null;
  };
  scope.onmessage = (e) => {
    const m = e.data;
    if (m.type === "gc") collect();
    if (m.type.startsWith("snap ")) {
      collect();
      v8.writeHeapSnapshot(m.type.slice(5));
    }
    if (m.type === "start") {
      const ready = (port: number) => scope.postMessage({ type: "port", port });
      if (m.method === "xxftp-worker") void serveXxftp(ready);
      else void serveDeno("read512", ready);
    } else scope.postMessage({ type: "mem", mem: memNow() });
  };
}

/** The server process: serves by `method`, answers `mem` and `gc` lines on stdin. */
async function serverMain(method: string) {
  const print = (s: string) => Deno.stdout.writeSync(enc.encode(s + "\n"));
  const local = () => Promise.resolve(memNow());
  let ask: (type: string) => Promise<Mem> = local;
  const ready = (port: number) => print(`port ${port}`);
  if (method === "worker" || method === "xxftp-worker") {
    const w = new Worker(import.meta.url, { type: "module" });
    let waiting: ((m: Mem) => void) | null = null;
    w.onmessage = (e) => {
      if (e.data.type === "port") ready(e.data.port);
      else waiting?.(e.data.mem);
    };
    w.postMessage({ type: "start", method });
    ask = (type) =>
      new Promise((r) => {
        waiting = r;
        w.postMessage({ type });
      });
  } else if (method === "nodenet") serveNodeNet(ready);
  else if (method === "xxftp") void serveXxftp(ready);
  else void serveDeno(method, ready);
  for await (const line of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    for (const cmd of line.split("\n").filter((l) => l)) {
      if (cmd === "gc") collect();
      if (cmd.startsWith("snap ") && ask === local) {
        collect();
        v8.writeHeapSnapshot(cmd.slice(5));
      }
      const mem = await ask(cmd);
      print(`mem ${JSON.stringify(mem)}`);
    }
  }
}

// ---- the measuring side ----

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const LIB = new URL("../../lib", import.meta.url).pathname;
const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A started server: its pid, its stdout lines, and a way to ask it for memory figures. */
interface Child {
  pid: number;
  port: number;
  /** `mem`, `gc` (then mem), or `snap PATH` (a heap snapshot after a full GC, then mem). */
  mem(cmd: string): Promise<Mem | null>;
  stop(): Promise<void>;
}

async function startChild(method: string, flags: string[], root: string): Promise<Child> {
  const v8 = `--v8-flags=${["--expose-gc", ...flags].join(",")}`;
  if (method === "xxftp-cli") {
    const port = 30_000 + Math.floor(Math.random() * 10_000);
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...(flags.length ? [`--v8-flags=${flags.join(",")}`] : []),
        "--allow-net",
        `--allow-read=${root},${LIB}`,
        `--allow-write=${root}`,
        MAIN,
        "serve",
        root,
        ...["--port", String(port), "--max-connections", "9000", "--max-per-ip", "9000"],
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    const buf = new Uint8Array(64);
    for (let i = 0; i < 100; i++) {
      try {
        using conn = await Deno.connect({ hostname: "127.0.0.1", port });
        if ((await conn.read(buf) ?? 0) > 0) break;
      } catch {
        await sleep(100);
      }
    }
    return {
      pid: child.pid,
      port,
      mem: () => Promise.resolve(null),
      async stop() {
        child.kill("SIGKILL");
        await child.status;
      },
    };
  }
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", v8, new URL(import.meta.url).pathname, "serve", method],
    env: { FLOOR_ROOT: root },
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).values();
  let pending = "";
  const nextLine = async (): Promise<string> => {
    for (;;) {
      const nl = pending.indexOf("\n");
      if (nl >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        return line;
      }
      const r = await lines.next();
      if (r.done) throw new Error(`${method}: server ended`);
      pending += r.value;
    }
  };
  const first = await nextLine();
  const port = Number(/^port (\d+)/.exec(first)?.[1]);
  if (!port) throw new Error(`${method}: ${first}`);
  const writer = child.stdin.getWriter();
  return {
    pid: child.pid,
    port,
    async mem(cmd) {
      await writer.write(enc.encode(cmd + "\n"));
      return JSON.parse((await nextLine()).slice(4));
    },
    async stop() {
      child.kill("SIGKILL");
      await writer.close().catch(() => {});
      await child.status;
    },
  };
}

/** One measurement: KiB per connection, before and after a full GC, and V8's split. */
interface Row {
  method: string;
  n: number;
  pss: number;
  /** The same in Pss_Anon: without the shares of the deno binary's pages, which move with other processes. */
  anon: number;
  /** Pss_Anon after `--settle` more seconds idle (NaN without): what V8 gives back on its own. */
  late: number;
  pssGc: number;
  used: number;
  young: number;
  old: number;
  external: number;
}

async function measure(
  method: string,
  flags: string[],
  n: number,
  root: string,
  settle: number,
): Promise<Row> {
  const child = await startChild(method, flags, root);
  try {
    await sleep(500);
    const pss0 = treeKiB(child.pid);
    const anon0 = treeKiB(child.pid, "Pss_Anon");
    const mem0 = await child.mem("gc");
    await sleep(300);
    const pss0gc = treeKiB(child.pid);
    const held = await hold(child.port, n, "anonymous", "floor@");
    const per = (a: number, b: number) => (b - a) / n;
    try {
      if (held.fields.held !== n) throw new Error(`${method}: ${held.fields.held} of ${n} held`);
      await sleep(1000);
      const pss1 = treeKiB(child.pid);
      const anon1 = treeKiB(child.pid, "Pss_Anon");
      let late = NaN;
      if (settle > 0) {
        await sleep(settle * 1000);
        late = per(anon0, treeKiB(child.pid, "Pss_Anon"));
      }
      const mem2 = await child.mem("gc");
      await sleep(300);
      const pss2 = treeKiB(child.pid);
      const v8 = (f: keyof Mem) => mem0 && mem2 ? per(mem0[f], mem2[f]) / 1024 : NaN;
      return {
        method,
        n,
        pss: per(pss0, pss1),
        anon: per(anon0, anon1),
        late,
        pssGc: per(pss0gc, pss2),
        used: v8("used"),
        young: v8("young"),
        old: v8("old"),
        external: v8("external"),
      };
    } finally {
      await held.release();
    }
  } finally {
    await child.stop();
  }
}

/** Self size and count of a heap snapshot's objects, by kind and constructor or function name. */
async function heapByName(path: string): Promise<Map<string, { size: number; count: number }>> {
  const snap = JSON.parse(await Deno.readTextFile(path));
  const fields: string[] = snap.snapshot.meta.node_fields;
  const types: string[] = snap.snapshot.meta.node_types[0];
  const [t, nm, sz] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const nodes: number[] = snap.nodes;
  const out = new Map<string, { size: number; count: number }>();
  for (let i = 0; i < nodes.length; i += fields.length) {
    const key = `${types[nodes[i + t]]} ${String(snap.strings[nodes[i + nm]]).slice(0, 40)}`;
    const e = out.get(key) ?? { size: 0, count: 0 };
    e.size += nodes[i + sz];
    e.count++;
    out.set(key, e);
  }
  return out;
}

/** What `n` idle connections add to the heap, by kind and name: the largest per connection. */
async function snapshotDiff(method: string, n: number, root: string) {
  const child = await startChild(method, [], root);
  const dir = await Deno.makeTempDir({ prefix: "idle-snap-" });
  try {
    await sleep(500);
    await child.mem(`snap ${dir}/before.heapsnapshot`);
    const held = await hold(child.port, n, "anonymous", "floor@");
    try {
      await sleep(1000);
      await child.mem(`snap ${dir}/after.heapsnapshot`);
    } finally {
      await held.release();
    }
    const before = await heapByName(`${dir}/before.heapsnapshot`);
    const after = await heapByName(`${dir}/after.heapsnapshot`);
    const rows = [...after].map(([k, a]) => {
      const b = before.get(k) ?? { size: 0, count: 0 };
      return { k, bytes: (a.size - b.size) / n, count: (a.count - b.count) / n };
    }).sort((x, y) => y.bytes - x.bytes);
    const total = rows.reduce((sum, r) => sum + r.bytes, 0);
    console.log(`\n${method}, ${n} connections: ${total.toFixed(0)} B of live heap each`);
    for (const r of rows.slice(0, 30)) {
      console.log(`${r.bytes.toFixed(0).padStart(6)} B ${r.count.toFixed(2).padStart(6)}x  ${r.k}`);
    }
  } finally {
    await child.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

function arg(name: string, fallback: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Deno.args[i + 1] : fallback;
}

async function benchMain() {
  const counts = arg("--counts", "100,1000,5000").split(",").map(Number);
  const methods = arg("--methods", Object.keys(METHODS).join(",")).split(",");
  const flagSets = arg("--flags", "").split(";").map((f) => f.split(",").filter((x) => x));
  const rounds = Number(arg("--rounds", "1"));
  const settle = Number(arg("--settle", "0"));
  for (const m of methods) if (!(m in METHODS)) throw new Error(`unknown method ${m}`);
  await buildLoadgen();
  const root = await Deno.makeTempDir({ prefix: "idle-floor-" });
  await Deno.mkdir(join(root, "anonymous"));
  const realRoot = await Deno.realPath(root);
  const f = (x: number) => Number.isNaN(x) ? "-" : x.toFixed(1);
  console.log(
    "KiB per idle connection: Pss and Pss_Anon fresh, Pss_Anon after --settle s more (late), Pss",
  );
  console.log("after a full GC; V8 after it: used (live JS), young and old (committed young");
  console.log("generation, rest of the heap), ext (external)");
  const header = ["n", "pss", "anon", "late", "pss-gc", "used", "young", "old", "ext"].map((h) =>
    h.padStart(7)
  );
  try {
    if (Deno.args.includes("--snapshot")) {
      for (const m of methods) for (const n of counts) await snapshotDiff(m, n, realRoot);
      return;
    }
    for (const flags of flagSets) {
      console.log(`\nV8 flags: ${flags.join(" ") || "none"}`);
      console.log(["method".padStart(12), ...header].join(" "));
      for (const m of methods) {
        for (const n of counts) {
          for (let r = 0; r < rounds; r++) {
            try {
              const row = await measure(m, flags, n, realRoot, settle);
              console.log(
                [
                  row.method.padStart(12),
                  String(row.n).padStart(7),
                  ...[
                    row.pss,
                    row.anon,
                    row.late,
                    row.pssGc,
                    row.used,
                    row.young,
                    row.old,
                    row.external,
                  ].map(
                    (x) => f(x).padStart(7),
                  ),
                ].join(" "),
              );
            } catch (err) {
              console.log(`${m} ${flags.join(" ")} ${n}: ${(err as Error).message}`);
            }
          }
        }
      }
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
}

if (isWorker) workerMain();
else if (Deno.args[0] === "serve") await serverMain(Deno.args[1]);
else if (import.meta.main) await benchMain();
