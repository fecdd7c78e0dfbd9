/**
 * An `s3://BUCKET[/PREFIX]` root as the command line names it, and the
 * storage it opens. The parser is pure; credentials are added by the main
 * process from its environment and travel only to the storage.
 */
import { S3Client } from "./client.ts";
import { S3Storage } from "./storage.ts";

/** Where a tree in an object store is, as the command line says. */
export interface S3Target {
  bucket: string;
  /** The key prefix of the served `/`: "" or `a/b/`. */
  prefix: string;
  /** `http(s)://host[:port]` of the S3 API (path-style requests). */
  endpoint: string;
  region: string;
  /** Deadline for each answer of the store. */
  timeoutMs: number;
  /** Age after which a multipart upload nobody writes to is aborted. */
  staleUploadMs: number;
}

/** A target with the credentials that sign its requests. */
export interface S3Spec extends S3Target {
  accessKeyId: string;
  secretAccessKey: string;
}

/** Why an `s3://` root or its flags cannot be used; one line for the user. */
export class S3UsageError extends Error {}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** Whether a root argument names an object store. */
export function isS3Root(root: string): boolean {
  return root.startsWith("s3://");
}

/** Bucket and prefix of `s3://BUCKET[/PREFIX]`. */
export function parseS3Root(root: string): { bucket: string; prefix: string } {
  const [bucket, ...rest] = root.slice("s3://".length).split("/");
  if (!BUCKET.test(bucket) || bucket.includes("..")) {
    throw new S3UsageError(`"${bucket}" is not an S3 bucket name (3-63 of a-z 0-9 . -)`);
  }
  const parts = rest.filter((p) => p !== "");
  if (parts.some((p) => p === "." || p === "..")) {
    throw new S3UsageError(`the prefix of ${root} may not hold "." or ".."`);
  }
  return { bucket, prefix: parts.length ? `${parts.join("/")}/` : "" };
}

/** Checks `--s3-endpoint`: an http(s) URL with no query. */
export function parseEndpoint(value: string | undefined): string {
  if (value === undefined) throw new S3UsageError("an s3:// root needs --s3-endpoint URL");
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new S3UsageError(
      `--s3-endpoint needs a URL such as http://127.0.0.1:7480, not "${value}"`,
    );
  }
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash) {
    throw new S3UsageError(`--s3-endpoint needs an http:// or https:// URL, not "${value}"`);
  }
  return value;
}

/** The `s3://` form of a target, for messages (no credentials). */
export function describeS3(t: S3Target): string {
  return `s3://${t.bucket}/${t.prefix} at ${t.endpoint}`;
}

/** `host:port` of the endpoint, as Deno's `net` permission names it. */
export function endpointNetPermission(endpoint: string): string {
  const url = new URL(endpoint);
  const port = url.port || (url.protocol === "https:" ? "443" : "80");
  return `${url.hostname}:${port}`;
}

/** A client for the target's bucket. */
export function s3Client(spec: S3Spec): S3Client {
  return new S3Client({
    endpoint: spec.endpoint,
    region: spec.region,
    bucket: spec.bucket,
    accessKeyId: spec.accessKeyId,
    secretAccessKey: spec.secretAccessKey,
    timeoutMs: spec.timeoutMs,
  });
}

/** The storage of a target. */
export function openS3Storage(spec: S3Spec, log?: (line: string) => void): S3Storage {
  return new S3Storage({
    client: s3Client(spec),
    prefix: spec.prefix,
    staleUploadMs: spec.staleUploadMs,
    log,
  });
}

/**
 * Asks the store once for the bucket, so a wrong endpoint, bucket or key is
 * a clear message at start instead of a failure on the first command.
 */
export async function checkS3(spec: S3Spec): Promise<void> {
  try {
    await s3Client(spec).listObjectsV2(spec.prefix, { maxKeys: 1 });
  } catch (err) {
    const kind = (err as { kind?: string }).kind;
    const where = describeS3(spec);
    if (kind === "not-found") {
      throw new S3UsageError(`no bucket "${spec.bucket}" at ${spec.endpoint}`);
    }
    if (kind === "denied") {
      throw new S3UsageError(`the store refused the credentials for ${where}`);
    }
    throw new S3UsageError(`cannot reach ${where}: ${(err as Error).message}`);
  }
}
