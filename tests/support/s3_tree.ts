/**
 * Test support for trees in an object store: write a tree spec into a
 * bucket, and start the real server process on an `s3://` root with the
 * narrow Deno flags a user would give it.
 */
import { concatBytes } from "../../lib/storage/bytes.ts";
import type { S3Client } from "../../lib/storage/s3/client.ts";
import type { Storage } from "../../lib/storage/storage.ts";
import type { Ceph } from "./ceph.ts";
import { startServer, type TestServer, type TreeSpec } from "./server.ts";

const LIB = new URL("../../lib/", import.meta.url).pathname;

/** Writes `spec` under `prefix` ("" or ending in "/"); a path ending in `/` becomes a folder marker. */
export async function putTree(s3: S3Client, prefix: string, spec: TreeSpec): Promise<void> {
  await Promise.all(
    Object.entries(spec).map(([path, content]) =>
      s3.putObject(prefix + path, path.endsWith("/") ? new Uint8Array(0) : content)
    ),
  );
}

/** A bucket made for one test. */
export async function makeBucket(ceph: Ceph, name: string): Promise<S3Client> {
  const s3 = ceph.client(name);
  await s3.createBucket();
  return s3;
}

/** The credentials a server process reads. */
export function s3Env(ceph: Ceph): Record<string, string> {
  return { AWS_ACCESS_KEY_ID: ceph.accessKeyId, AWS_SECRET_ACCESS_KEY: ceph.secretAccessKey };
}

/** Deno flags for a server on a store: the network, the two variables, and lib/ for the Worker. */
export const S3_DENO_FLAGS = [
  "--allow-net",
  "--allow-env=AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY",
  `--allow-read=${LIB}`,
];

/** Starts `xxftp serve s3://BUCKET[/PREFIX] --s3-endpoint ...` with extra `args`. */
export function startS3Server(ceph: Ceph, root: string, args: string[] = []): Promise<TestServer> {
  return startServer(root, {
    args: ["--s3-endpoint", ceph.endpoint, ...args],
    denoFlags: S3_DENO_FLAGS,
    env: s3Env(ceph),
  });
}

/** Every key under `prefix` (a few thousand at most in tests). */
export async function keysOf(s3: S3Client, prefix = ""): Promise<string[]> {
  const keys: string[] = [];
  for await (const e of s3.listAll(prefix)) keys.push(e.key);
  return keys;
}

/** The bytes of an object. */
export async function objectBytes(s3: S3Client, key: string): Promise<Uint8Array> {
  return new Uint8Array(await new Response((await s3.getObject(key)).body.stream()).arrayBuffer());
}

/** Writes empty objects at `keys`, `concurrency` at a time (a large folder, made fast). */
export async function putEmpty(s3: S3Client, keys: string[], concurrency = 64): Promise<void> {
  let next = 0;
  const empty = new Uint8Array(0);
  const worker = async () => {
    while (next < keys.length) await s3.putObject(keys[next++], empty);
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** Everything from `offset` read through `storage.openRead`, `bufBytes` at a time. */
export async function readStored(
  storage: Storage,
  path: string,
  offset = 0,
  bufBytes = 256 * 1024,
): Promise<Uint8Array> {
  const file = await storage.openRead(path, offset);
  const chunks: Uint8Array[] = [];
  const buf = new Uint8Array(bufBytes);
  try {
    for (let n = await file.read(buf); n !== null; n = await file.read(buf)) {
      chunks.push(buf.slice(0, n));
    }
  } finally {
    file.close();
  }
  return concatBytes(chunks);
}
