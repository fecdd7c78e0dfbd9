/**
 * xxftp on an s3:// root against boto3 straight to the store (Debian's python3-boto3), on a
 * fresh one-node Ceph RGW over loopback:
 *  1. a 100 MiB file: STOR and RETR through xxftp (curl as the FTP client), and the same file
 *     put and got by boto3 (one request each, and boto3's managed multipart transfers), each in
 *     turn, several rounds; medians in MiB/s and xxftp's cost against each;
 *  2. a folder of 100,000 objects (LIST_KEYS to change): NLST through xxftp, with the server
 *     process's memory before and after, against boto3 listing the same keys.
 * Run under `flock /tmp/xxftp-heavy.lock`: `deno run --allow-all tests/bench/s3_bench.ts`.
 */
import { startCeph } from "../support/ceph.ts";
import { epsvConnect, RawClient, readAll } from "../support/raw.ts";
import { makeBucket, putEmpty, putTree, startS3Server } from "../support/s3_tree.ts";
import { randomBytes, run } from "../support/server.ts";

const SIZE = 100 << 20;
const ROUNDS = 5;
const LIST_KEYS = Number(Deno.env.get("LIST_KEYS") ?? 100_000);
const PY = new URL("./s3_boto3_transfer.py", import.meta.url).pathname;

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

async function timedCurl(args: string[]): Promise<number> {
  const t = performance.now();
  const r = await run("curl", ["-sS", ...args], undefined, 600_000);
  if (r.code !== 0) throw new Error(`curl ${args.join(" ")}: ${r.stderr}`);
  return (performance.now() - t) / 1000;
}

const runs: Array<() => Promise<void>> = [
  async () => {
    note("xxftp STOR", await timedCurl(["-T", file, `${url}/xx.bin`]));
    note("xxftp RETR", await timedCurl([`${url}/xx.bin`, "-o", "/dev/null"]));
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

/** Resident and peak resident memory of the server process, in MiB. */
async function memory(): Promise<{ rss: number; peak: number }> {
  const status = await Deno.readTextFile(`/proc/${srv.pid}/status`);
  const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+)`, "m").exec(status)?.[1]);
  return { rss: kib("VmRSS") / 1024, peak: kib("VmHWM") / 1024 };
}

if (LIST_KEYS > 0) {
  const made = performance.now();
  const names = Array.from(
    { length: LIST_KEYS },
    (_, i) => `anonymous/many/f${String(i).padStart(7, "0")}`,
  );
  await putEmpty(s3, names, 64);
  console.log(
    `\n${LIST_KEYS} empty objects made in ${((performance.now() - made) / 1000).toFixed(0)} s`,
  );
  const before = await memory();
  using c = await RawClient.open(srv.port);
  await c.login();
  const t = performance.now();
  const data = await epsvConnect(c);
  await c.cmd("NLST /many");
  const lines = new TextDecoder().decode(await readAll(data)).trim().split("\r\n").length;
  await c.reply(600_000);
  const seconds = (performance.now() - t) / 1000;
  const after = await memory();
  console.log(
    `NLST of ${lines} names through xxftp: ${seconds.toFixed(1)} s; server RSS ${
      before.rss.toFixed(0)
    } MiB before, ${after.rss.toFixed(0)} MiB after, peak ${before.peak.toFixed(0)} -> ${
      after.peak.toFixed(0)
    } MiB`,
  );
  const py = await new Deno.Command("/usr/bin/python3", {
    args: [
      "-c",
      `import boto3,time,sys
from botocore.config import Config
s3=boto3.client("s3",endpoint_url=sys.argv[1],region_name="us-east-1",config=Config(s3={"addressing_style":"path"}))
t=time.perf_counter();n=0
for page in s3.get_paginator("list_objects_v2").paginate(Bucket="bench",Prefix="anonymous/many/",Delimiter="/"):
    n+=len(page.get("Contents",[]))
print(n, time.perf_counter()-t)`,
      ceph.endpoint,
    ],
    env,
    stdout: "piped",
  }).output();
  const [n, secs] = new TextDecoder().decode(py.stdout).trim().split(" ");
  console.log(
    `boto3 list_objects_v2 paginated over the same ${n} keys: ${Number(secs).toFixed(1)} s`,
  );
}
await Deno.remove(dir, { recursive: true });
