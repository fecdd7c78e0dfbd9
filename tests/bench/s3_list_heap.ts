/**
 * Live heap while S3Storage lists a folder: run with `--v8-flags=--expose-gc`; collects garbage
 * after every batch and prints the largest live heap seen, in MiB, and the entry count.
 * Usage: s3_list_heap.ts ENDPOINT BUCKET FOLDER  (credentials from AWS_* in the environment)
 */
import { S3Client } from "../../lib/storage/s3/client.ts";
import { S3Storage } from "../../lib/storage/s3/storage.ts";

const [endpoint, bucket, folder] = Deno.args;
const gc = (globalThis as unknown as { gc: () => void }).gc;
const storage = new S3Storage({
  client: new S3Client({
    endpoint,
    bucket,
    accessKeyId: Deno.env.get("AWS_ACCESS_KEY_ID") ?? "",
    secretAccessKey: Deno.env.get("AWS_SECRET_ACCESS_KEY") ?? "",
  }),
  prefix: "",
});
gc();
const base = Deno.memoryUsage().heapUsed;
let peak = 0;
let entries = 0;
for await (const batch of storage.list(folder)) {
  entries += batch.length;
  gc();
  peak = Math.max(peak, Deno.memoryUsage().heapUsed - base);
}
console.log(`${entries} ${(peak / (1 << 20)).toFixed(1)}`);
