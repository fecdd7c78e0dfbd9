/**
 * S3 failures as one error class: the HTTP status, S3's error code, and a kind a caller maps to
 * its own replies without knowing S3's codes.
 */

/**
 * What went wrong, in the caller's terms:
 * - `not-found`: no such key or bucket;
 * - `exists`: the object or bucket is already there (also a failed `If-None-Match: *`);
 * - `no-space`: a quota of the store, or an object larger than it takes;
 * - `denied`: credentials refused or access denied;
 * - `gone`: what the request relied on changed or vanished (a failed `If-Match`, an aborted
 *   multipart upload);
 * - `unavailable`: the store is unreachable, slow, throttling or failing (worth retrying later);
 * - `invalid`: the request itself was wrong (a bad range, a too-small part): a bug or bad input.
 */
export type S3ErrorKind =
  | "not-found"
  | "exists"
  | "no-space"
  | "denied"
  | "gone"
  | "unavailable"
  | "invalid";

/** A failed S3 request. `status` is 0 when no HTTP answer came (network error, timeout). */
export class S3Error extends Error {
  override name = "S3Error";
  /** HTTP status, or 0 when there was no answer. */
  readonly status: number;
  /** S3's error code (`NoSuchKey`, `SlowDown`, ...) or `NetworkError` / `Timeout`. */
  readonly code: string;
  /** The caller-facing class of the failure. */
  readonly kind: S3ErrorKind;
  /** The store's request id, for its logs. */
  readonly requestId: string;

  /** An error for `status`/`code`; `kind` defaults to {@link kindOf}. */
  constructor(
    status: number,
    code: string,
    message: string,
    opts: { kind?: S3ErrorKind; requestId?: string; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.status = status;
    this.code = code;
    this.kind = opts.kind ?? kindOf(status, code);
    this.requestId = opts.requestId ?? "";
  }
}

const BY_CODE: Record<string, S3ErrorKind> = {
  NoSuchKey: "not-found",
  NoSuchBucket: "not-found",
  NotFound: "not-found",
  NoSuchUpload: "gone",
  PreconditionFailed: "gone",
  BucketAlreadyExists: "exists",
  BucketAlreadyOwnedByYou: "exists",
  QuotaExceeded: "no-space",
  EntityTooLarge: "no-space",
  InsufficientStorage: "no-space",
  AccessDenied: "denied",
  SignatureDoesNotMatch: "denied",
  InvalidAccessKeyId: "denied",
  RequestTimeTooSkewed: "denied",
  SlowDown: "unavailable",
  ServiceUnavailable: "unavailable",
  InternalError: "unavailable",
  RequestTimeout: "unavailable",
  NetworkError: "unavailable",
  Timeout: "unavailable",
};

/** The kind of an S3 error from its code, else from its HTTP status. */
export function kindOf(status: number, code: string): S3ErrorKind {
  const known = BY_CODE[code];
  if (known) return known;
  if (status === 404) return "not-found";
  if (status === 401 || status === 403) return "denied";
  if (status === 412) return "gone";
  if (status === 507) return "no-space";
  if (status === 0 || status >= 500) return "unavailable";
  return "invalid";
}

/** Whether a failed attempt may be sent again: throttling, server errors, no answer at all. */
export function isTransient(err: S3Error): boolean {
  return [0, 500, 502, 503, 504].includes(err.status) || err.code === "SlowDown" ||
    err.code === "RequestTimeout" || err.code === "InternalError";
}
