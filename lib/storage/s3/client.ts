/**
 * A small S3 client over `fetch` for path-style endpoints (Ceph RGW, MinIO, AWS): objects, ranged
 * streamed reads, paged listings, conditional writes and multipart uploads. Every request is
 * signed (SigV4), has deadlines, and is retried with backoff only when that is safe.
 *
 * @example
 * const s3 = new S3Client({ endpoint: "http://127.0.0.1:7480", bucket: "b", accessKeyId, secretAccessKey });
 * await s3.putObject("dir/a.txt", "hello");
 * for await (const e of s3.listAll("dir/", "/")) console.log(e.type, e.key);
 */
import { createHash } from "node:crypto";
import { S3Error } from "./errors.ts";
import {
  type ListedObject,
  type ListPage,
  type ObjectInfo,
  objectInfo,
  parseDeleteErrors,
  parseEtag,
  parseListPage,
  parseParts,
  parseRoot,
  parseUploads,
  type PendingUpload,
  required,
  type UploadedPart,
} from "./responses.ts";
import { uriEncode } from "./sigv4.ts";
import { Body, type RetryPolicy, type S3Request, Transport } from "./transport.ts";
import { escapeXml } from "./xml.ts";

export { S3Error, type S3ErrorKind } from "./errors.ts";
export type {
  ListedObject,
  ListPage,
  ObjectInfo,
  PendingUpload,
  UploadedPart,
} from "./responses.ts";
export { Body, type RetryPolicy } from "./transport.ts";

/** Where the bucket is and who signs. */
export interface S3ClientOptions {
  /** `http(s)://host:port`, no bucket: requests are path-style (`/bucket/key`). */
  endpoint: string;
  /** Default `us-east-1`. */
  region?: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  /** Deadline for an answer and for each chunk of a body; default 30 s. */
  timeoutMs?: number;
  /**
   * Deadline for a server-side copy's answer (RGW answers an UploadPartCopy only when the bytes
   * are copied: ~0.5 s per 100 MiB here); default 10 min.
   */
  copyTimeoutMs?: number;
  /** Upload bodies get extra time at this rate; default 1 MiB/s. */
  minBytesPerSecond?: number;
  /** Default: 4 attempts, 200 ms doubling to at most 3 s, none started after 15 s. */
  retry?: Partial<RetryPolicy>;
  /** Sign body hashes instead of sending `UNSIGNED-PAYLOAD` (costs one SHA-256 pass). */
  signPayload?: boolean;
}

/** A listing entry: an object, or a common prefix (a "folder", key ending in the delimiter). */
export type ListEntry = ({ type: "object" } & ListedObject) | { type: "prefix"; key: string };

/** An object body to be read and what its headers said. `size` is the whole object's size. */
export interface GetResult extends ObjectInfo {
  body: Body;
}

/** Conditions and metadata of a write. */
export interface PutOptions {
  /** `x-amz-meta-*` values: names `[a-z0-9-]`, values printable ASCII. */
  metadata?: Record<string, string>;
  contentType?: string;
  /** Write only if no object has the key (fails with kind `exists`). */
  ifNoneMatch?: "*";
  /** Write only if the object's ETag is this one (fails with kind `gone`). */
  ifMatch?: string;
  signal?: AbortSignal;
}

/** A completed part: its number and the ETag its upload returned. */
export interface CompletedPart {
  partNumber: number;
  etag: string;
}

/** A byte range: `length` bytes from `offset`; no `length` means to the end. */
export interface ByteRange {
  offset?: number;
  length?: number;
}

const MAX_DELETE_BATCH = 1000;
const MAX_EMPTY_PAGES = 100;

function invalid(message: string): S3Error {
  return new S3Error(0, "InvalidArgument", message, { kind: "invalid" });
}

/** Rejects keys a URL parser would rewrite (`.`/`..` segments) or S3 would refuse. */
function checkKey(key: string): string {
  if (key === "" || new TextEncoder().encode(key).length > 1024) {
    throw invalid(`bad key length: "${key.slice(0, 40)}"`);
  }
  if (key.split("/").some((s) => s === "." || s === "..")) {
    throw invalid(`key with a "." or ".." segment: "${key}"`);
  }
  return key;
}

function metadataHeaders(metadata: Record<string, string> = {}): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(metadata)) {
    if (!/^[a-z0-9-]+$/.test(name) || !/^[\x20-\x7e]*$/.test(value)) {
      throw invalid(`metadata not representable in a header: ${name}`);
    }
    headers[`x-amz-meta-${name}`] = value;
  }
  return headers;
}

function rangeHeader({ offset = 0, length }: ByteRange): string {
  if (!Number.isSafeInteger(offset) || offset < 0) throw invalid(`bad offset ${offset}`);
  if (length === undefined) return `bytes=${offset}-`;
  if (!Number.isSafeInteger(length) || length < 1) throw invalid(`bad length ${length}`);
  return `bytes=${offset}-${offset + length - 1}`;
}

/** An S3 client bound to one bucket. */
export class S3Client {
  readonly bucket: string;
  readonly #transport: Transport;
  readonly #copyTimeoutMs: number;

  constructor(opts: S3ClientOptions) {
    this.bucket = opts.bucket;
    this.#copyTimeoutMs = opts.copyTimeoutMs ?? 600_000;
    this.#transport = new Transport({
      endpoint: new URL(opts.endpoint),
      key: {
        accessKeyId: opts.accessKeyId,
        secretAccessKey: opts.secretAccessKey,
        region: opts.region ?? "us-east-1",
        service: "s3",
      },
      timeoutMs: opts.timeoutMs ?? 30_000,
      minBytesPerSecond: opts.minBytesPerSecond ?? 1 << 20,
      retry: { attempts: 4, baseDelayMs: 200, maxDelayMs: 3_000, budgetMs: 15_000, ...opts.retry },
      signPayload: opts.signPayload ?? false,
    });
  }

  #text(req: Omit<S3Request, "bucket">) {
    return this.#transport.text({ bucket: this.bucket, ...req });
  }

  /** Creates the bucket (kind `exists` if it is there already). */
  async createBucket(): Promise<void> {
    await this.#text({ method: "PUT", idempotent: false });
  }

  /** Deletes the (empty) bucket. */
  async deleteBucket(): Promise<void> {
    await this.#text({ method: "DELETE", idempotent: true });
  }

  /** The object's headers, or null when there is no such key. */
  async headObject(key: string): Promise<ObjectInfo | null> {
    const res = await this.#text({
      method: "HEAD",
      key: checkKey(key),
      idempotent: true,
      accept: [404],
    });
    return res.status === 404 ? null : objectInfo(res.headers);
  }

  /**
   * The object's bytes from `offset` (and at most `length` of them), to be read into the
   * caller's buffers. Every read has a deadline; cancel the body to drop the connection early. An offset equal to the
   * size gives an empty body; beyond it, kind `invalid`. With `ifMatch` (an ETag), a changed
   * object fails with kind `gone`.
   */
  async getObject(
    key: string,
    range: ByteRange & { signal?: AbortSignal; ifMatch?: string } = {},
  ): Promise<GetResult> {
    checkKey(key);
    const ranged = (range.offset ?? 0) > 0 || range.length !== undefined;
    const headers: Record<string, string> = ranged ? { range: rangeHeader(range) } : {};
    if (range.ifMatch) headers["if-match"] = range.ifMatch;
    const res = await this.#transport.stream({
      bucket: this.bucket,
      method: "GET",
      key,
      headers,
      idempotent: true,
      accept: [416],
      signal: range.signal,
    });
    if (res.status !== 416) {
      try {
        // A store that sent other bytes than the ones asked for must not pass them off as those.
        const start = res.status === 206 &&
          res.headers.get("content-range")?.match(/^bytes (\d+)-/);
        if (start && Number(start[1]) !== (range.offset ?? 0)) {
          throw new S3Error(
            0,
            "MalformedResponse",
            `GET ${this.bucket}/${key}: range from ${start[1]}, not ${range.offset}`,
            { kind: "unavailable" },
          );
        }
        if (res.status === 200 && (range.offset ?? 0) > 0) {
          throw new S3Error(
            0,
            "MalformedResponse",
            `GET ${this.bucket}/${key}: the whole object, not a range`,
            { kind: "unavailable" },
          );
        }
        return { ...objectInfo(res.headers), body: res.body };
      } catch (err) {
        res.body.cancel();
        throw err;
      }
    }
    res.body.cancel();
    const info = await this.headObject(key);
    if (!info) throw new S3Error(404, "NoSuchKey", `GET ${this.bucket}/${key}: 404 NoSuchKey`);
    if ((range.offset ?? 0) !== info.size) {
      throw new S3Error(416, "InvalidRange", `offset ${range.offset} beyond size ${info.size}`);
    }
    return { ...info, body: Body.empty() };
  }

  /** Writes a whole object in one request; returns its ETag. */
  async putObject(key: string, body: Uint8Array | string, opts: PutOptions = {}): Promise<string> {
    const headers = metadataHeaders(opts.metadata);
    if (opts.contentType) headers["content-type"] = opts.contentType;
    if (opts.ifNoneMatch) headers["if-none-match"] = opts.ifNoneMatch;
    // Ceph RGW compares If-Match on writes with the stored ETag byte for byte, without quotes.
    if (opts.ifMatch) headers["if-match"] = opts.ifMatch.replace(/^"(.*)"$/, "$1");
    const conditional = Boolean(opts.ifNoneMatch || opts.ifMatch);
    try {
      const res = await this.#text({
        method: "PUT",
        key: checkKey(key),
        headers,
        body: typeof body === "string" ? new TextEncoder().encode(body) : body,
        // A retried conditional write could fail on the write it already made.
        idempotent: !conditional,
        signal: opts.signal,
      });
      return res.headers.get("etag") ?? "";
    } catch (err) {
      if (err instanceof S3Error && err.status === 412 && opts.ifNoneMatch) {
        throw new S3Error(412, err.code, err.message, { kind: "exists", requestId: err.requestId });
      }
      throw err;
    }
  }

  /**
   * Copies `src` to `dst` inside the bucket (server-side, up to 5 GiB). Metadata is copied, or
   * replaced by `metadata` when `replaceMetadata`. Returns the new ETag.
   */
  async copyObject(
    src: string,
    dst: string,
    opts: { metadata?: Record<string, string>; replaceMetadata?: boolean } = {},
  ): Promise<string> {
    const headers: Record<string, string> = { "x-amz-copy-source": this.#copySource(src) };
    if (opts.replaceMetadata) {
      Object.assign(headers, metadataHeaders(opts.metadata), {
        "x-amz-metadata-directive": "REPLACE",
      });
    }
    const res = await this.#text({
      method: "PUT",
      key: checkKey(dst),
      headers,
      idempotent: true,
      errorIn200: true,
      timeoutMs: this.#copyTimeoutMs,
    });
    return parseEtag(res.text, "CopyObjectResult");
  }

  #copySource(key: string): string {
    return `/${uriEncode(this.bucket)}/${uriEncode(checkKey(key), true)}`;
  }

  /** Deletes a key; deleting a missing key succeeds (S3 semantics). */
  async deleteObject(key: string): Promise<void> {
    await this.#text({ method: "DELETE", key: checkKey(key), idempotent: true });
  }

  /** Deletes many keys, 1000 per request; returns the ones the store refused, with its codes. */
  async deleteObjects(keys: string[]): Promise<Array<{ key: string; code: string }>> {
    const failed: Array<{ key: string; code: string }> = [];
    for (let i = 0; i < keys.length; i += MAX_DELETE_BATCH) {
      const batch = keys.slice(i, i + MAX_DELETE_BATCH);
      const xml = `<Delete><Quiet>true</Quiet>${
        batch.map((k) => `<Object><Key>${escapeXml(checkKey(k))}</Key></Object>`).join("")
      }</Delete>`;
      const body = new TextEncoder().encode(xml);
      const res = await this.#text({
        method: "POST",
        query: [["delete", ""]],
        headers: { "content-md5": createHash("md5").update(body).digest("base64") },
        body,
        signBody: true,
        idempotent: true,
      });
      failed.push(...parseDeleteErrors(res.text));
    }
    return failed;
  }

  /** One page of ListObjectsV2 under `prefix`. */
  async listObjectsV2(
    prefix: string,
    opts: { delimiter?: string; continuationToken?: string; maxKeys?: number } = {},
  ): Promise<ListPage> {
    const query: Array<[string, string]> = [["list-type", "2"], ["prefix", prefix]];
    if (opts.delimiter) query.push(["delimiter", opts.delimiter]);
    if (opts.continuationToken) query.push(["continuation-token", opts.continuationToken]);
    if (opts.maxKeys !== undefined) query.push(["max-keys", String(opts.maxKeys)]);
    const res = await this.#text({ method: "GET", query, idempotent: true });
    return parseListPage(res.text);
  }

  /**
   * Every entry under `prefix`, objects and common prefixes merged in key order within each
   * page, fetched one page at a time as the caller consumes them (memory bounded by a page).
   */
  async *listAll(prefix: string, delimiter?: string, pageSize?: number): AsyncGenerator<ListEntry> {
    let token: string | undefined;
    let emptyPages = 0;
    do {
      const page = await this.listObjectsV2(prefix, {
        delimiter,
        continuationToken: token,
        maxKeys: pageSize,
      });
      if (page.nextToken !== undefined && page.nextToken === token) {
        throw new S3Error(0, "MalformedResponse", "listing repeated its continuation token", {
          kind: "unavailable",
        });
      }
      const entries: ListEntry[] = [
        ...page.objects.map((o) => ({ type: "object" as const, ...o })),
        ...page.prefixes.map((key) => ({ type: "prefix" as const, key })),
      ];
      emptyPages = entries.length ? 0 : emptyPages + 1;
      if (emptyPages > MAX_EMPTY_PAGES) {
        throw new S3Error(0, "MalformedResponse", "listing keeps returning empty pages", {
          kind: "unavailable",
        });
      }
      entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
      yield* entries;
      token = page.nextToken;
    } while (token !== undefined);
  }

  /** Starts a multipart upload; returns its upload id. */
  async createMultipartUpload(key: string, metadata?: Record<string, string>): Promise<string> {
    const res = await this.#text({
      method: "POST",
      key: checkKey(key),
      query: [["uploads", ""]],
      headers: metadataHeaders(metadata),
      idempotent: false,
    });
    return required(parseRoot(res.text, "InitiateMultipartUploadResult"), "UploadId");
  }

  /** Uploads part `partNumber` (1..10000; all but the last at least 5 MiB); returns its ETag. */
  async uploadPart(
    key: string,
    uploadId: string,
    partNumber: number,
    body: Uint8Array,
    signal?: AbortSignal,
  ): Promise<string> {
    const res = await this.#text({
      method: "PUT",
      key: checkKey(key),
      query: [["partNumber", String(partNumber)], ["uploadId", uploadId]],
      body,
      idempotent: true,
      signal,
    });
    return res.headers.get("etag") ?? "";
  }

  /** Makes part `partNumber` from (a range of) an existing object, server-side; returns its ETag. */
  async uploadPartCopy(
    key: string,
    uploadId: string,
    partNumber: number,
    sourceKey: string,
    range?: ByteRange,
  ): Promise<string> {
    const headers: Record<string, string> = { "x-amz-copy-source": this.#copySource(sourceKey) };
    if (range) headers["x-amz-copy-source-range"] = rangeHeader(range);
    const res = await this.#text({
      method: "PUT",
      key: checkKey(key),
      query: [["partNumber", String(partNumber)], ["uploadId", uploadId]],
      headers,
      idempotent: true,
      errorIn200: true,
      timeoutMs: this.#copyTimeoutMs,
    });
    return parseEtag(res.text, "CopyPartResult");
  }

  /**
   * Publishes the object from its parts (in part-number order); returns its ETag as the store
   * reports it, which is "" on Ceph RGW 16 (ask {@link headObject} when it matters).
   */
  async completeMultipartUpload(
    key: string,
    uploadId: string,
    parts: CompletedPart[],
  ): Promise<string> {
    const sorted = [...parts].sort((a, b) => a.partNumber - b.partNumber);
    const xml = `<CompleteMultipartUpload>${
      sorted.map((p) =>
        `<Part><PartNumber>${p.partNumber}</PartNumber><ETag>${escapeXml(p.etag)}</ETag></Part>`
      ).join("")
    }</CompleteMultipartUpload>`;
    const res = await this.#text({
      method: "POST",
      key: checkKey(key),
      query: [["uploadId", uploadId]],
      body: new TextEncoder().encode(xml),
      signBody: true,
      idempotent: false,
      errorIn200: true,
      // Assembling a large object can take a while on some stores.
      timeoutMs: this.#copyTimeoutMs,
    });
    return required(parseRoot(res.text, "CompleteMultipartUploadResult"), "ETag");
  }

  /** Abandons a multipart upload and its parts (kind `gone` if it no longer exists). */
  async abortMultipartUpload(key: string, uploadId: string): Promise<void> {
    await this.#text({
      method: "DELETE",
      key: checkKey(key),
      query: [["uploadId", uploadId]],
      idempotent: true,
    });
  }

  /** Multipart uploads under `prefix` still pending (the first 1000). */
  async listMultipartUploads(prefix = ""): Promise<PendingUpload[]> {
    const res = await this.#text({
      method: "GET",
      query: [["uploads", ""], ["prefix", prefix]],
      idempotent: true,
    });
    return parseUploads(res.text).uploads;
  }

  /** Every pending multipart upload under `prefix`, a page at a time as the caller consumes them. */
  async *listAllMultipartUploads(prefix = ""): AsyncGenerator<PendingUpload> {
    let marker: { keyMarker: string; uploadIdMarker: string } | undefined;
    for (let page = 0; page < 100_000; page++) {
      const query: Array<[string, string]> = [["uploads", ""], ["prefix", prefix]];
      if (marker) {
        query.push(["key-marker", marker.keyMarker], ["upload-id-marker", marker.uploadIdMarker]);
      }
      const res = await this.#text({ method: "GET", query, idempotent: true });
      const { uploads, next } = parseUploads(res.text);
      yield* uploads;
      if (
        !next || (next.keyMarker === marker?.keyMarker &&
          next.uploadIdMarker === marker?.uploadIdMarker)
      ) return;
      marker = next;
    }
  }

  /** The parts uploaded so far to a pending multipart upload (kind `gone` once it has ended). */
  async listParts(key: string, uploadId: string): Promise<UploadedPart[]> {
    const parts: UploadedPart[] = [];
    let marker: string | undefined;
    for (let page = 0; page < 100; page++) {
      const query: Array<[string, string]> = [["uploadId", uploadId]];
      if (marker !== undefined) query.push(["part-number-marker", marker]);
      const res = await this.#text({ method: "GET", key: checkKey(key), query, idempotent: true });
      const got = parseParts(res.text);
      parts.push(...got.parts);
      if (got.nextMarker === undefined || got.nextMarker === marker) break;
      marker = got.nextMarker;
    }
    return parts;
  }
}
