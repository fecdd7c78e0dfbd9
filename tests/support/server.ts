/**
 * Test support: build a served tree in a temp folder, start the real server
 * process on a free loopback port over it, and stop it.
 */
import { dirname, join } from "node:path";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Files to create: path → text or bytes; a path ending in `/` is a folder. */
export type TreeSpec = Record<string, string | Uint8Array>;

/** Creates a temp folder holding `spec`; returns its real path. */
export async function makeTree(spec: TreeSpec): Promise<string> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "xxftp-test-" }));
  await writeTree(root, spec);
  return root;
}

/** Writes `spec` under `root`. */
export async function writeTree(root: string, spec: TreeSpec): Promise<void> {
  for (const [path, content] of Object.entries(spec)) {
    const full = join(root, path);
    if (path.endsWith("/")) {
      await Deno.mkdir(full, { recursive: true });
      continue;
    }
    await Deno.mkdir(dirname(full), { recursive: true });
    if (typeof content === "string") await Deno.writeTextFile(full, content);
    else await Deno.writeFile(full, content);
  }
}

/** A running server process. */
export interface TestServer {
  root: string;
  port: number;
  /** The HTTP door's port, when started with `--http`. */
  httpPort: number | null;
  /** The server's process id (for /proc/PID/status). */
  pid: number;
  /** Everything the process printed so far. */
  output(): string;
  /** Waits until the output contains `text` (at most `ms`). */
  waitFor(text: string | RegExp, ms?: number): Promise<void>;
  /** SIGTERM, then wait for exit; returns the exit code. */
  stop(): Promise<number>;
  /** Settles with the exit code when the process ends (by itself or stopped). */
  exited: Promise<number>;
  /** Sends the process a signal (SIGHUP: reopen the xferlog). */
  signal(signal: Deno.Signal): void;
  /** Stops the server and removes its tree. */
  [Symbol.asyncDispose](): Promise<void>;
}

/** How to start a server: the sub-command, extra flags, and Deno's permission flags (narrow by default). */
export interface StartOptions {
  command?: "serve" | "share";
  args?: string[];
  denoFlags?: string[];
  /** Environment variables added for the server process. */
  env?: Record<string, string>;
}

/** Starts `main.ts serve root --port 0 ...` (or `share`) and waits for its listening line. */
export async function startServer(root: string, opts: StartOptions = {}): Promise<TestServer> {
  const denoFlags = opts.denoFlags ??
    ["--allow-net", `--allow-read=${root}`, `--allow-write=${root}`];
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...denoFlags,
      MAIN,
      opts.command ?? "serve",
      root,
      "--port",
      "0",
      ...(opts.args ?? []),
    ],
    stdout: "piped",
    stderr: "piped",
    env: opts.env,
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) text += decoder.decode(chunk, { stream: true });
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const waitFor = async (needle: string | RegExp, ms = 15000) => {
    const deadline = Date.now() + ms;
    while (Date.now() < deadline) {
      const found = typeof needle === "string" ? text.includes(needle) : needle.test(text);
      if (found) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`server output never showed ${needle}:\n${text}`);
  };
  try {
    await waitFor(/listening on ftps?:\/\/\S+:\d+[ \n]/);
    if (opts.args?.includes("--http")) await waitFor(/browsers: https?:\/\/\S+:\d+\//);
  } catch (err) {
    try {
      child.kill("SIGKILL");
    } catch {
      // it has ended by itself: the output says why
    }
    await child.status;
    await pumps;
    throw err;
  }
  const port = Number(/listening on ftps?:\/\/\S+:(\d+)/.exec(text)![1]);
  const web = opts.args?.includes("--http") ? /browsers: https?:\/\/\S+:(\d+)\//.exec(text) : null;
  const httpPort = web ? Number(web[1]) : null;
  const exited = Promise.all([child.status, pumps]).then(([status]) => status.code);
  let stopped: Promise<number> | null = null;
  const stop = () => {
    stopped ??= (async () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // it has ended by itself
      }
      return await exited;
    })();
    return stopped;
  };
  return {
    root,
    port,
    httpPort,
    pid: child.pid,
    output: () => text,
    waitFor,
    stop,
    exited,
    signal: (signal) => child.kill(signal),
    async [Symbol.asyncDispose]() {
      await stop();
      await Deno.remove(root, { recursive: true }).catch(() => {});
    },
  };
}

/** Result of a client program. */
export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program to completion (bounded by `timeoutMs`). */
export async function run(
  cmd: string,
  args: string[],
  stdin?: string,
  timeoutMs = 60000,
): Promise<Run> {
  const child = new Deno.Command(cmd, {
    args,
    stdin: stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).spawn();
  if (stdin !== undefined) {
    const w = child.stdin.getWriter();
    await w.write(new TextEncoder().encode(stdin));
    await w.close();
  }
  const out = await child.output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

const PY_PRELUDE = `
import ftplib, io, json, os, sys
PORT = int(sys.argv[1])
def connect(user="anonymous", password="guest@example.com"):
    ftp = ftplib.FTP()
    ftp.connect("127.0.0.1", PORT, timeout=20)
    if user is not None:
        ftp.login(user, password)
    return ftp
def attempt(fn, *args):
    try:
        return str(fn(*args))
    except ftplib.all_errors as e:
        return str(e)
`;

/** Python: connections to a port, each reset (SO_LINGER 0) as soon as it is open. */
const RESET_FLOOD = `
import socket, struct, sys
for _ in range(int(sys.argv[2])):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.connect(("127.0.0.1", int(sys.argv[1])))
    s.close()
`;

/**
 * Opens `n` connections to `port` and resets each at once: some are reset
 * while still queued, before the server takes them.
 */
export async function resetFlood(port: number, n: number): Promise<void> {
  const r = await run("python3", ["-c", RESET_FLOOD, String(port), String(n)]);
  if (r.code !== 0) throw new Error(`reset flood failed: ${r.stderr}`);
}

/** Runs a python3 ftplib script against the server; the script prints JSON, which is returned. */
export async function ftplib<T = unknown>(port: number, body: string): Promise<T> {
  const r = await run("python3", ["-c", PY_PRELUDE + body, String(port)]);
  if (r.code !== 0) throw new Error(`python3 failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** Random bytes of a given length (crypto.getRandomValues fills 64 KiB at a time). */
export function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 65536) {
    crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)));
  }
  return out;
}

/** Whether two byte arrays are equal. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * One lftp session as bob (password "secret"): mirror `local` up to /up and
 * back down into `down`, rename /up/a.txt to renamed.txt, list /up, remove
 * /up/sub/deeper. `local` holds a.txt, sub/b.txt and sub/deeper/c.bin.
 */
export function lftpMirrorSession(port: number, local: string, down: string): Promise<Run> {
  const script = [
    "set cmd:fail-exit yes",
    "set net:max-retries 1",
    "set net:timeout 10",
    `open -u bob,secret ftp://127.0.0.1:${port}`,
    `mirror -R ${local} /up`,
    `mirror /up ${down}`,
    "mv /up/a.txt /up/renamed.txt",
    "cls -1 /up",
    "rm /up/sub/deeper/c.bin",
    "rmdir /up/sub/deeper",
    "bye",
  ].join("\n");
  return run("lftp", ["-f", "/dev/stdin"], script);
}
