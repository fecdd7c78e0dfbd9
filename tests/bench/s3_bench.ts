/**
 * xxftp on an s3:// root against boto3 straight to the store (Debian's python3-boto3), on a
 * fresh one-node Ceph RGW over loopback:
 *  1. a 100 MiB file: STOR and RETR through xxftp (curl as the FTP client), and the same file
 *     put and got by boto3 (one request each, and boto3's managed multipart transfers), each in
 *     turn, several rounds; medians in MiB/s and xxftp's cost against each;
 *  2. folders of a tenth of 100,000 objects and of 100,000 (LIST_KEYS to change; 0 skips):
 *     NLST of each through xxftp, with the server process's memory after each (the same growth
 *     for both is what "bounded" means), against boto3 listing the same keys.
 * ROUNDS (default 5; 0 skips) sets the transfer rounds.
 * Run under `flock /tmp/xxftp-heavy.lock`: `deno run --allow-all tests/bench/s3_bench.ts`.
 */
import { startCeph } from "../support/ceph.ts";
import { epsvConnect, RawClient, readAll } from "../support/raw.ts";
import { makeBucket, putEmpty, putTree, startS3Server } from "../support/s3_tree.ts";
import { randomBytes, run } from "../support/server.ts";

const SIZE = 100 << 20;
const ROUNDS = Number(Deno.env.get("ROUNDS") ?? 5);
const LIST_KEYS = Number(Deno.env.get("LIST_KEYS") ?? 100_000);
const PY = new URL("./s3_boto3_transfer.py", import.meta.url).pathname;
const HEAP = new URL("./s3_list_heap.ts", import.meta.url).pathname;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const mibs = (seconds: number) => SIZE / (1 << 20) / seconds;

await using ceph = await startCeph();
const s3 = await makeBucket(ceph, "bench");
await putTree(s3, "", { "anonymous/": "" });
const dir = await Deno.makeTempDir({ prefix: "xxftp-s3-bench-" });
const file = `${dir}/file.bin`;
await Deno.writeFile(file, randomBytes(SIZE));
await using srv = await startS3Server(ceph, "s3://bench", ["--s3-timeout", "120"]);
const url = `ftp://127.0.0.1:${srv.port}`;
const env = { AWS_ACCESS_KEY_ID: ceph.accessKeyId, AWS_SECRET_ACCESS_KEY: ceph.secretAccessKey };

const times: Record<string, number[]> = {};
const note = (name: string, seconds: number) => (times[name] ??= []).push(seconds);

/**
 * Seconds curl reports for a transfer: the whole of it (connect, login, the data), which is
 * what a boto3 call's time compares with (its process start is not timed either), and the
 * data phase alone (after the command was accepted).
 */
async function timedCurl(args: string[]): Promise<{ total: number; data: number }> {
  const r = await run(
    "curl",
    ["-sS", "-w", "%{time_total} %{time_pretransfer}", ...args],
    undefined,
    600_000,
  );
  if (r.code !== 0) throw new Error(`curl ${args.join(" ")}: ${r.stderr}`);
  const [total, pre] = r.stdout.trim().split(" ").map(Number);
  return { total, data: total - pre };
}

const runs: Array<() => Promise<void>> = [
  async () => {
    const stor = await timedCurl(["-T", file, `${url}/xx.bin`]);
    note("xxftp STOR", stor.total);
    note("xxftp STOR (data phase)", stor.data);
    const retr = await timedCurl([`${url}/xx.bin`, "-o", "/dev/null"]);
    note("xxftp RETR", retr.total);
    note("xxftp RETR (data phase)", retr.data);
  },
  async () => {
    const out = await new Deno.Command("/usr/bin/python3", {
      args: [PY, ceph.endpoint, "bench", "anonymous/py.bin", file],
      env,
      stdout: "piped",
    }).output();
    if (!out.success) throw new Error("boto3 run failed");
    for (const [k, v] of Object.entries(JSON.parse(new TextDecoder().decode(out.stdout)))) {
      note(`boto3 ${k}`, v as number);
    }
  },
];

// Each goes first in turn; the store's garbage collection (every 2 s) settles before each.
for (let round = 0; round < ROUNDS; round++) {
  for (let i = 0; i < runs.length; i++) {
    await new Promise((r) => setTimeout(r, 2500));
    await runs[(round + i) % runs.length]();
  }
}

if (ROUNDS > 0) report();

function report() {
  const rate = (name: string) => mibs(median(times[name]));
  console.log(`100 MiB file, Ceph RGW on loopback, median of ${ROUNDS} (MiB/s):`);
  for (const [name, xs] of Object.entries(times)) {
    const all = xs.map((x) => mibs(x).toFixed(0)).join(", ");
    console.log(`${rate(name).toFixed(0).padStart(5)}  ${name}   (runs: ${all})`);
  }
  const cost = (ours: string, theirs: string) =>
    `${((rate(theirs) / rate(ours) - 1) * 100).toFixed(0)}% slower than ${theirs}`;
  console.log(
    `xxftp STOR: ${cost("xxftp STOR", "boto3 upload_file")}, ${
      cost("xxftp STOR", "boto3 put_object")
    }`,
  );
  console.log(
    `xxftp RETR: ${cost("xxftp RETR", "boto3 download_fileobj")}, ${
      cost("xxftp RETR", "boto3 get_object")
    }`,
  );
}

/** Resident and peak resident memory of the server process, in MiB. */
async function memory(): Promise<{ rss: number; peak: number }> {
  const status = await Deno.readTextFile(`/proc/${srv.pid}/status`);
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1]);
  return { rss: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
}

/** NLST of a folder through xxftp: names, seconds, and the server's memory after. */
async function nlst(folder: string) {
  using c = await RawClient.open(srv.port);
  await c.login();
  const t = performance.now();
  const data = await epsvConnect(c);
  await c.cmd(`NLST ${folder}`);
  const names = new TextDecoder().decode(await readAll(data)).trim().split("\r\n").length;
  await c.reply(600_000);
  return { names, seconds: (performance.now() - t) / 1000, ...(await memory()) };
}

async function boto3List(prefix: string): Promise<string> {
  const py = await new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      `import boto3,time,sys
from botocore.config import Config
s3=boto3.client("s3",endpoint_url=sys.argv[1],region_name="us-east-1",config=Config(s3={"addressing_style":"path"}))
t=time.perf_counter();n=0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="bench",Prefix=sys.argv[2],Delimiter="/"):
    n+=len(page.get("Contents",[]))
print(n, "keys in %.1f s" % (time.perf_counter()-t))`,
      ceph.endpoint,
      prefix,
    ],
    env,
    stdout: "piped",
  }).output();
  return new TextDecoder().decode(py.stdout).trim();
}

if (LIST_KEYS > 0) {
  const made = performance.now();
  const small = Math.round(LIST_KEYS / 10);
  const keys = (folder: string, n: number) =>
    Array.from({ length: n }, (_, i) => `anonymous/${folder}/f${String(i).padStart(7, "0")}`);
  await putEmpty(s3, [...keys("small", small), ...keys("large", LIST_KEYS)], 64);
  const secs = ((performance.now() - made) / 1000).toFixed(0);
  console.log(`\n${small + LIST_KEYS} empty objects made in ${secs} s`);
  const start = await memory();
  console.log(`server RSS before listing: ${start.rss.toFixed(0)} MiB`);
  for (const folder of ["small", "large", "small", "large"]) {
    const r = await nlst(`/${folder}`);
    console.log(
      `NLST of ${r.names} names through xxftp: ${r.seconds.toFixed(1)} s; server RSS after ${
        r.rss.toFixed(0)
      } MiB (peak so far ${r.peak.toFixed(0)} MiB)`,
    );
  }
  console.log(`boto3 list_objects_v2, paginated: ${await boto3List("anonymous/large/")}`);
  for (const folder of ["small", "large"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-env",
        "--v8-flags=--expose-gc",
        HEAP,
        ceph.endpoint,
        "bench",
        `/anonymous/${folder}`,
      ],
      env,
      stdout: "piped",
    }).output();
    const [n, mib] = new TextDecoder().decode(out.stdout).trim().split(" ");
    console.log(
      `S3Storage.list of ${n} entries: at most ${mib} MiB of live heap (garbage collected after each batch)`,
    );
  }
}
await Deno.remove(dir, { recursive: true });
