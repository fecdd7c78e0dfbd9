/**
 * The S3 client against boto3 (Debian's python3-boto3) on a fresh Ceph RGW: a 100 MiB object put
 * in one request and read back, each client in turn, several rounds; prints medians in MiB/s.
 * Run under `flock /tmp/xxftp-heavy.lock`.
 */
import { startCeph } from "../support/ceph.ts";
import { randomBytes } from "../support/server.ts";

const SIZE = 100 << 20;
const ROUNDS = 5;
const PY = new URL("./s3_boto3.py", import.meta.url).pathname;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rate = (seconds: number) => (SIZE / (1 << 20) / seconds).toFixed(0).padStart(5);

await using ceph = await startCeph();
const unsigned = ceph.client("bench", { timeoutMs: 60_000 });
const signed = ceph.client("bench", { timeoutMs: 60_000, signPayload: true });
await unsigned.createBucket();
const data = randomBytes(SIZE);
const times: Record<string, number[]> = {};
const note = (name: string, seconds: number) => (times[name] ??= []).push(seconds);

async function timeGet(key: string): Promise<number> {
  const t = performance.now();
  const got = await unsigned.getObject(key);
  let n = 0;
  for await (const chunk of got.body.stream()) n += chunk.length;
  if (n !== SIZE) throw new Error(`read ${n} of ${SIZE}`);
  return (performance.now() - t) / 1000;
}

async function boto3(): Promise<{ put: number; get: number }> {
  const out = await new Deno.Command("/usr/bin/python3", {
    args: [PY, ceph.endpoint, "bench", "boto3", String(SIZE)],
    env: { AWS_ACCESS_KEY_ID: ceph.accessKeyId, AWS_SECRET_ACCESS_KEY: ceph.secretAccessKey },
    stdout: "piped",
  }).output();
  if (!out.success) throw new Error("boto3 run failed");
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

const runs: Array<() => Promise<void>> = [
  async () => {
    const t = performance.now();
    await unsigned.putObject("ours", data);
    note("client PUT (UNSIGNED-PAYLOAD)", (performance.now() - t) / 1000);
    note("client GET (streamed)", await timeGet("ours"));
  },
  async () => {
    const t = performance.now();
    await signed.putObject("ours-signed", data);
    note("client PUT (payload SHA-256)", (performance.now() - t) / 1000);
  },
  async () => {
    const py = await boto3();
    note("boto3 put_object", py.put);
    note("boto3 get_object", py.get);
  },
];

// Each client goes first in turn, and the store gets a moment to settle (its garbage collection
// of overwritten objects runs every 2 s) before each measurement.
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < runs.length; i++) {
    await new Promise((r) => setTimeout(r, 2500));
    await runs[(round + i) % runs.length]();
  }
}

console.log(`100 MiB object, Ceph RGW on loopback, median of ${ROUNDS} (MiB/s):`);
for (const [name, xs] of Object.entries(times)) {
  console.log(
    `${rate(median(xs))}  ${name}   (runs: ${xs.map(rate).map((s) => s.trim()).join(", ")})`,
  );
}
