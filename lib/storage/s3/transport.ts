/**
 * One signed S3 request over `fetch`, with a deadline on every step and bounded retries with
 * exponential backoff. Every failure comes out as an {@link S3Error}.
 */
import { concatBytes } from "../bytes.ts";
import { isTransient, S3Error } from "./errors.ts";
import { sha256Hex, sign, type SigningKeyInfo, UNSIGNED_PAYLOAD, uriEncode } from "./sigv4.ts";
import { childText, parseXml } from "./xml.ts";

/** How often and how long to try again after a transient failure. */
export interface RetryPolicy {
  /** Attempts in all, the first included. */
  attempts: number;
  /** Delay before the first retry; doubles on each (with jitter). */
  baseDelayMs: number;
  /** Cap of one delay. */
  maxDelayMs: number;
  /** No retry starts once this much time has passed since the first attempt. */
  budgetMs: number;
}

/** Where and how requests go. */
export interface TransportConfig {
  /** The endpoint with no bucket, e.g. `http://127.0.0.1:7480`. */
  endpoint: URL;
  key: SigningKeyInfo;
  /** Deadline for a response's headers, and the longest wait for any one read of a body. */
  timeoutMs: number;
  /** Added to the deadline of a request with a body: its length at this rate. */
  minBytesPerSecond: number;
  retry: RetryPolicy;
  /** Hash bodies into the signature (costs a SHA-256 pass) instead of `UNSIGNED-PAYLOAD`. */
  signPayload: boolean;
}

/** A request: bucket-relative, nothing encoded yet. */
export interface S3Request {
  method: "GET" | "HEAD" | "PUT" | "POST" | "DELETE";
  bucket: string;
  /** The object key; absent for a bucket-level request. */
  key?: string;
  query?: ReadonlyArray<readonly [string, string]>;
  headers?: Record<string, string>;
  body?: Uint8Array;
  /** Always hash this body into the signature (small XML bodies). */
  signBody?: boolean;
  /** Safe to send twice: retried after a server error or a lost answer, not only after 503. */
  idempotent: boolean;
  /** The store may answer 200 with an `<Error>` body (copies, completing an upload): check it. */
  errorIn200?: boolean;
  /** Deadline for the answer instead of the configured one (server-side copies take longer). */
  timeoutMs?: number;
  /** Statuses the caller handles itself, returned instead of thrown (e.g. 404 on HEAD). */
  accept?: number[];
  signal?: AbortSignal;
}

/** A response whose body was read whole. */
export interface TextResponse {
  status: number;
  headers: Headers;
  text: string;
}

/** A response whose body is still to be read; every read has a deadline. */
export interface StreamResponse {
  status: number;
  headers: Headers;
  body: Body;
}

const MAX_TEXT_BYTES = 16 << 20;
const MAX_ERROR_BYTES = 64 << 10;

/** Arms and disarms one timeout that aborts a request with an {@link S3Error}. */
class Deadline {
  readonly controller = new AbortController();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #onFire: (() => void) | null = null;
  /** When the body read under way began (-1: none is). */
  #waitingSince = -1;

  constructor(private what: string) {}

  arm(ms: number): void {
    this.disarm();
    this.#timer = setTimeout(() => this.#fire(ms), ms);
  }

  #fire(ms: number): void {
    this.controller.abort(new S3Error(0, "Timeout", `${this.what}: no answer within ${ms} ms`));
    this.#onFire?.();
  }

  /**
   * A body read begins: it fails if it takes over `ms`. One timer serves every read and is
   * only moved when it fires, since a timer set and cleared per read costs more than the read.
   */
  waitStarted(ms: number): void {
    this.#waitingSince = performance.now();
    if (this.#timer === undefined) this.#watch(ms, ms);
  }

  /** The body read under way ended. */
  waitEnded(): void {
    this.#waitingSince = -1;
  }

  #watch(ms: number, after: number): void {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      if (this.#waitingSince < 0) return;
      const waited = performance.now() - this.#waitingSince;
      if (waited >= ms) this.#fire(ms);
      else this.#watch(ms, Math.max(1, ms - waited));
    }, after);
  }

  /** Whether the deadline has passed. */
  get fired(): boolean {
    return this.controller.signal.aborted;
  }

  /** Runs `fn` when the deadline fires (one at a time: a streamed body's reader). */
  onFire(fn: () => void): void {
    this.#onFire = fn;
  }

  disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /**
   * `p`, or a rejection when the deadline fires first. Aborting fetch's signal
   * does not wake a pending body read inside a Worker (Deno 2.x), so every
   * wait races the deadline itself.
   */
  race<T>(p: Promise<T>): Promise<T> {
    const signal = this.controller.signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    let onAbort = () => {};
    const fired = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    return Promise.race([p, fired]).finally(() => signal.removeEventListener("abort", onAbort));
  }
}

function asS3Error(err: unknown, deadline: Deadline, what: string): S3Error {
  const reason = deadline.controller.signal.reason;
  if (reason instanceof S3Error) return reason;
  if (err instanceof S3Error) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new S3Error(0, "NetworkError", `${what}: ${message}`, { cause: err });
}

async function readCapped(
  body: ReadableStream<Uint8Array> | null,
  cap: number,
  deadline: Deadline,
): Promise<string> {
  if (!body) return "";
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value: chunk } = await deadline.race(reader.read()).catch((err) => {
      reader.cancel().catch(() => {});
      throw err;
    });
    if (done) break;
    total += chunk.length;
    if (total > cap) {
      reader.cancel().catch(() => {});
      throw new S3Error(0, "ResponseTooLarge", `response body over ${cap} bytes`);
    }
    chunks.push(chunk);
  }
  const all = concatBytes(chunks);
  return new TextDecoder().decode(all);
}

/** The error an S3 error response describes (its XML body when there is one). */
export function errorFromResponse(status: number, text: string, what: string): S3Error {
  let code = `Http${status}`;
  let message = "";
  let requestId = "";
  try {
    const doc = parseXml(text);
    code = childText(doc, "Code") || code;
    message = childText(doc, "Message") ?? "";
    requestId = childText(doc, "RequestId") ?? "";
  } catch {
    // A body that is not S3's XML (a proxy's page, HEAD's empty body) leaves the status to speak.
  }
  return new S3Error(status, code, `${what}: ${status} ${code}${message ? ` (${message})` : ""}`, {
    requestId,
  });
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Sends signed requests to one endpoint. */
export class Transport {
  constructor(readonly config: TransportConfig) {}

  /** Sends `req` and reads its whole (bounded) body. */
  text(req: S3Request): Promise<TextResponse> {
    return this.#withRetries(req, async (res, deadline) => {
      deadline.arm(this.config.timeoutMs);
      const text = await readCapped(res.body, MAX_TEXT_BYTES, deadline);
      if (req.errorIn200 && res.status === 200 && /^\s*(<\?[^>]*>\s*)?<Error>/.test(text)) {
        throw errorFromResponse(200, text, `${req.method} ${req.bucket}/${req.key ?? ""}`);
      }
      return { status: res.status, headers: res.headers, text };
    });
  }

  /** Sends `req` and hands back its body to be read, with a deadline on every read. */
  stream(req: S3Request): Promise<StreamResponse> {
    return this.#withRetries(req, (res, deadline, what) =>
      Promise.resolve({
        status: res.status,
        headers: res.headers,
        body: new Body(res.body, deadline, what, this.config.timeoutMs),
      }));
  }

  async #withRetries<T>(
    req: S3Request,
    read: (res: Response, deadline: Deadline, what: string) => Promise<T>,
  ): Promise<T> {
    const { attempts, baseDelayMs, maxDelayMs, budgetMs } = this.config.retry;
    const started = Date.now();
    for (let attempt = 1;; attempt++) {
      try {
        return await this.#once(req, read);
      } catch (err) {
        if (!(err instanceof S3Error) || req.signal?.aborted) throw err;
        // 503 (SlowDown) means the store did not act on the request, so even a non-idempotent
        // one may go again; other failures may have happened after the store acted.
        const again = err.status === 503 || (req.idempotent && isTransient(err));
        const delay = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1)) *
          (0.5 + Math.random() / 2);
        if (!again || attempt >= attempts || Date.now() - started + delay > budgetMs) throw err;
        await sleep(delay, req.signal);
      }
    }
  }

  async #once<T>(
    req: S3Request,
    read: (res: Response, deadline: Deadline, what: string) => Promise<T>,
  ): Promise<T> {
    const { endpoint, key, timeoutMs, minBytesPerSecond } = this.config;
    const base = endpoint.pathname.replace(/\/+$/, "");
    const path = `${base}/${uriEncode(req.bucket)}` +
      (req.key === undefined ? "" : `/${uriEncode(req.key, true)}`);
    const what = `${req.method} ${req.bucket}/${req.key ?? ""}`;
    const body = req.body;
    const payloadHash = !body
      ? sha256Hex("")
      : req.signBody || this.config.signPayload
      ? sha256Hex(body)
      : UNSIGNED_PAYLOAD;
    const toSign = { ...req.headers, host: endpoint.host, "x-amz-content-sha256": payloadHash };
    const query = req.query ?? [];
    const signed = sign(
      { method: req.method, path, query, headers: toSign, payloadHash },
      key,
      new Date(),
    );
    const search = query.map(([k, v]) => `${uriEncode(k)}=${uriEncode(v)}`).join("&");
    const url = `${endpoint.protocol}//${endpoint.host}${path}${search ? `?${search}` : ""}`;
    const headers = new Headers({ ...req.headers, "x-amz-content-sha256": payloadHash });
    headers.set("authorization", signed.headers.authorization);
    headers.set("x-amz-date", signed.headers["x-amz-date"]);
    // fetch would otherwise ask for gzip and silently change the bytes of an encoded object.
    headers.set("accept-encoding", "identity");

    const deadline = new Deadline(what);
    const signal = req.signal
      ? AbortSignal.any([deadline.controller.signal, req.signal])
      : deadline.controller.signal;
    const allowance = body ? Math.ceil(body.length * 1000 / minBytesPerSecond) : 0;
    deadline.arm((req.timeoutMs ?? timeoutMs) + allowance);
    try {
      const pending = fetch(url, {
        method: req.method,
        headers,
        // Bodies are plain byte arrays; fetch's typing only lacks the SharedArrayBuffer case.
        body: body as Uint8Array<ArrayBuffer> | undefined,
        signal,
        redirect: "manual",
      });
      const res = await deadline.race(pending).catch((err) => {
        pending.then((late) => late.body?.cancel(), () => {}).catch(() => {});
        throw err;
      });
      if (res.status >= 300 && !req.accept?.includes(res.status)) {
        deadline.arm(timeoutMs);
        const text = await readCapped(res.body, MAX_ERROR_BYTES, deadline);
        throw errorFromResponse(res.status, text, what);
      }
      return await read(res, deadline, what);
    } catch (err) {
      if (req.signal?.aborted) throw req.signal.reason;
      throw asS3Error(err, deadline, what);
    } finally {
      // A streamed body watches its reads with the same deadline.
      deadline.disarm();
    }
  }
}

/**
 * A response body read into the caller's buffers (a BYOB reader: no chunk is allocated per
 * read and no byte is copied on the way), each read with a deadline.
 */
export class Body {
  readonly #reader: ReadableStreamBYOBReader | null;

  constructor(
    body: ReadableStream<Uint8Array> | null,
    private readonly deadline: Deadline,
    private readonly what: string,
    private readonly timeoutMs: number,
  ) {
    this.#reader = body?.getReader({ mode: "byob" }) ?? null;
    // Aborting fetch's signal does not wake a pending body read inside a Worker (Deno 2.x);
    // cancelling the reader does (the read then ends, and `fired` tells why).
    deadline.onFire(() => void this.#reader?.cancel().catch(() => {}));
  }

  /** A body with no bytes. */
  static empty(): Body {
    return new Body(null, new Deadline("empty body"), "empty body", 0);
  }

  /**
   * Reads into `view`. Its buffer is handed over (detached) and comes back as the result's: the
   * bytes read, at `view`'s offset of the same memory; none at the end of the body. After a
   * failed read the buffer is gone.
   */
  async read(view: Uint8Array<ArrayBuffer>): Promise<Uint8Array<ArrayBuffer>> {
    if (this.#reader === null) return view.subarray(0, 0);
    this.deadline.waitStarted(this.timeoutMs);
    try {
      const { done, value } = await this.#reader.read(view);
      if (this.deadline.fired) throw this.deadline.controller.signal.reason;
      if (value === undefined) throw new S3Error(0, "NetworkError", `${this.what}: cancelled`);
      return done ? value.subarray(0, 0) : value;
    } catch (err) {
      this.cancel();
      throw asS3Error(err, this.deadline, this.what);
    } finally {
      this.deadline.waitEnded();
    }
  }

  /** Drops the rest of the body (and its connection). */
  cancel(): void {
    this.deadline.disarm();
    this.#reader?.cancel().catch(() => {});
  }

  /** The body as a byte stream, for callers that want one. */
  stream(): ReadableStream<Uint8Array> {
    return new ReadableStream({
      type: "bytes",
      autoAllocateChunkSize: 64 << 10,
      pull: async (ctl) => {
        const request = ctl.byobRequest!;
        const got = await this.read(request.view as Uint8Array<ArrayBuffer>);
        if (got.length === 0) ctl.close();
        request.respondWithNewView(got);
      },
      cancel: () => this.cancel(),
    });
  }
}
