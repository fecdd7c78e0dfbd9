/**
 * AWS Signature Version 4 (header form) for S3: pure functions from a request description and
 * credentials to the `authorization` header. Opens no socket and keeps no state, so the published
 * AWS test vectors prove it without a server.
 */
import { createHash, createHmac } from "node:crypto";

/** The payload hash that tells S3 the body is not covered by the signature. */
export const UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD";

/** SHA-256 of zero bytes, the payload hash of every request without a body. */
export const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/** Who signs and for which region and service (`s3` for S3). */
export interface SigningKeyInfo {
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  service: string;
}

/** A request as SigV4 sees it. */
export interface RequestToSign {
  method: string;
  /** The path exactly as it goes on the wire, already percent-encoded (see {@link uriEncode}). */
  path: string;
  /** Query parameters, not encoded; their order does not matter. */
  query: ReadonlyArray<readonly [string, string]>;
  /** Every header to sign, `host` included; names in any case, no duplicates. */
  headers: Readonly<Record<string, string>>;
  /** Hex SHA-256 of the body, or {@link UNSIGNED_PAYLOAD}. */
  payloadHash: string;
}

/** The signature and the intermediate strings (a mismatch is found by comparing these). */
export interface Signed {
  canonicalRequest: string;
  stringToSign: string;
  signature: string;
  /** Headers to add to the request: `authorization` and `x-amz-date`. */
  headers: { authorization: string; "x-amz-date": string };
}

const encoder = new TextEncoder();
const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).toUpperCase().padStart(2, "0"));

function unreserved(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) ||
    b === 0x2d || b === 0x2e || b === 0x5f || b === 0x7e;
}

/**
 * Percent-encodes the UTF-8 bytes of `text` as SigV4 wants: everything but `A-Za-z0-9-._~`
 * (and `/` when `keepSlash`), uppercase hex, a space as `%20`.
 *
 * @example uriEncode("a b/ü", true) === "a%20b/%C3%BC"
 */
export function uriEncode(text: string, keepSlash = false): string {
  let out = "";
  for (const b of encoder.encode(text)) {
    out += unreserved(b) || (keepSlash && b === 0x2f) ? String.fromCharCode(b) : "%" + HEX[b];
  }
  return out;
}

/** `20150830T123600Z` for a time. */
export function amzDate(time: Date): string {
  return time.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");
}

/** Hex SHA-256 of a body. */
export function sha256Hex(data: Uint8Array | string): string {
  return createHash("sha256").update(data).digest("hex");
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function canonicalQuery(query: RequestToSign["query"]): string {
  return query
    .map(([k, v]) => [uriEncode(k), uriEncode(v)])
    .sort((a, b) => compare(a[0], b[0]) || compare(a[1], b[1]))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

/** The canonical request and the `SignedHeaders` list of `req`, with `x-amz-date` added. */
export function canonicalRequest(
  req: RequestToSign,
  date: string,
): { text: string; signedHeaders: string } {
  const headers = new Map<string, string>();
  for (const [name, value] of Object.entries(req.headers)) {
    headers.set(name.toLowerCase(), value.trim().replace(/\s+/g, " "));
  }
  headers.set("x-amz-date", date);
  const names = [...headers.keys()].sort(compare);
  const signedHeaders = names.join(";");
  const text = [
    req.method,
    req.path,
    canonicalQuery(req.query),
    ...names.map((n) => `${n}:${headers.get(n)}`),
    "",
    signedHeaders,
    req.payloadHash,
  ].join("\n");
  return { text, signedHeaders };
}

function hmac(key: Uint8Array | string, data: string): Uint8Array {
  return createHmac("sha256", key).update(data).digest();
}

/** Signs `req` at `time`; the result's headers go on the request as they are. */
export function sign(req: RequestToSign, key: SigningKeyInfo, time: Date): Signed {
  const date = amzDate(time);
  const day = date.slice(0, 8);
  const scope = `${day}/${key.region}/${key.service}/aws4_request`;
  const canonical = canonicalRequest(req, date);
  const stringToSign = ["AWS4-HMAC-SHA256", date, scope, sha256Hex(canonical.text)].join("\n");
  let signingKey = hmac("AWS4" + key.secretAccessKey, day);
  for (const part of [key.region, key.service, "aws4_request"]) signingKey = hmac(signingKey, part);
  const signature = createHmac("sha256", signingKey).update(stringToSign).digest("hex");
  return {
    canonicalRequest: canonical.text,
    stringToSign,
    signature,
    headers: {
      authorization: `AWS4-HMAC-SHA256 Credential=${key.accessKeyId}/${scope}, ` +
        `SignedHeaders=${canonical.signedHeaders}, Signature=${signature}`,
      "x-amz-date": date,
    },
  };
}
