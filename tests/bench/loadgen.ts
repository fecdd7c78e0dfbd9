/**
 * The C load generator (loadgen.c): built with cc into dist/ when missing or
 * older than its source, run per measurement, its key=value line parsed.
 */
import { join } from "node:path";

const SOURCE = new URL("./loadgen.c", import.meta.url).pathname;
const BINARY = new URL("../../dist/loadgen", import.meta.url).pathname;

/**
 * Builds the load generator (a second or so of cc), with its FTPS mode when
 * OpenSSL's headers are there; returns whether it has that mode. Throws with
 * cc's errors when even the plain build fails.
 */
export async function buildLoadgen(): Promise<boolean> {
  await Deno.mkdir(join(BINARY, ".."), { recursive: true });
  const cc = (extra: string[]) =>
    new Deno.Command("cc", {
      args: ["-O2", "-Wall", "-Wextra", "-pthread", "-o", BINARY, SOURCE, ...extra],
    }).output();
  if ((await cc(["-DWITH_TLS", "-lssl", "-lcrypto"])).success) return true;
  const plain = await cc([]);
  if (!plain.success) {
    throw new Error(`cc loadgen.c failed:\n${new TextDecoder().decode(plain.stderr)}`);
  }
  return false;
}

/** The numbers of one loadgen line ("sessions=12 rate=3.0 cpu=0.1"). */
export type Fields = Record<string, number>;

function parse(line: string): Fields {
  const fields: Fields = {};
  for (const m of line.matchAll(/(\w+)=(\S+)/g)) {
    if (m[1] === "error") throw new Error(`loadgen: ${m[2]}`);
    fields[m[1]] = Number(m[2]);
  }
  return fields;
}

/** Runs one loadgen mode to the end (see the top of loadgen.c) and parses its line. */
export async function loadgen(...args: (string | number)[]): Promise<Fields> {
  const r = await new Deno.Command(BINARY, { args: args.map(String), stdin: "null" }).output();
  const out = new TextDecoder().decode(r.stdout).trim();
  if (!r.success || out === "") {
    throw new Error(`loadgen ${args[0]} failed: ${new TextDecoder().decode(r.stderr).trim()}`);
  }
  return parse(out.split("\n").at(-1)!);
}

/** Idle logged-in sessions held open by a loadgen process until released. */
export interface Held {
  /** How many logged in (of those asked for) and the CPU it took. */
  fields: Fields;
  /** Closes them all and waits for the loadgen to exit. */
  release(): Promise<void>;
}

/** Logs `n` sessions in and keeps them idle. */
export async function hold(port: number, n: number, user: string, pass: string): Promise<Held> {
  const child = new Deno.Command(BINARY, {
    args: ["hold", String(port), String(n), user, pass],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const chunks = child.stdout.pipeThrough(new TextDecoderStream()).values();
  let first = "";
  while (!first.includes("\n")) {
    const chunk = await chunks.next();
    if (chunk.done) break;
    first += chunk.value;
  }
  const release = async () => {
    try {
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode("go\n"));
      await w.close();
    } catch {
      // it exited already
    }
    for await (const _ of chunks); // drain so the pipe closes
    await child.status;
  };
  if (!first.startsWith("ready")) {
    await release();
    throw new Error(`loadgen hold: ${first.trim() || "no output"}`);
  }
  return { fields: parse(first), release };
}
