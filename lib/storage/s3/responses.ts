/** The S3 response bodies and headers the client reads, turned into plain values. */
import { S3Error } from "./errors.ts";
import { children, childText, parseXml, type XmlElement } from "./xml.ts";

/** An object as a listing shows it. `etag` keeps S3's quotes, ready for `If-Match`. */
export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date;
  etag: string;
}

/** One page of ListObjectsV2. */
export interface ListPage {
  objects: ListedObject[];
  /** Common prefixes (the "folders" when listing with a delimiter), each ending in it. */
  prefixes: string[];
  /** Pass to the next call for the next page; absent on the last page. */
  nextToken?: string;
}

/** A multipart upload not yet completed or aborted. */
export interface PendingUpload {
  key: string;
  uploadId: string;
  initiated: Date;
}

/** An object's headers: size, time, ETag (quoted) and user metadata (`x-amz-meta-*`, names lowercase). */
export interface ObjectInfo {
  size: number;
  lastModified: Date;
  etag: string;
  metadata: Record<string, string>;
}

const META = "x-amz-meta-";

function malformed(what: string): S3Error {
  return new S3Error(0, "MalformedResponse", `unexpected S3 response: ${what}`, {
    kind: "unavailable",
  });
}

/** Parses an XML body whose root must be `rootName`. */
export function parseRoot(text: string, rootName: string): XmlElement {
  let doc: XmlElement;
  try {
    doc = parseXml(text);
  } catch (err) {
    throw malformed(`${rootName}: ${err instanceof Error ? err.message : err}`);
  }
  if (doc.name !== rootName) throw malformed(`<${doc.name}> instead of <${rootName}>`);
  return doc;
}

/** A required child's text. */
export function required(el: XmlElement, name: string): string {
  const text = childText(el, name);
  if (text === undefined) throw malformed(`<${el.name}> without <${name}>`);
  return text;
}

function number(text: string, what: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 0) throw malformed(`${what} "${text}"`);
  return n;
}

function date(text: string | null | undefined, what: string): Date {
  const d = new Date(text ?? "");
  if (Number.isNaN(d.getTime())) throw malformed(`${what} "${text}"`);
  return d;
}

/** A ListBucketResult (ListObjectsV2). */
export function parseListPage(text: string): ListPage {
  const doc = parseRoot(text, "ListBucketResult");
  const objects = children(doc, "Contents").map((c) => ({
    key: required(c, "Key"),
    size: number(required(c, "Size"), "Size"),
    lastModified: date(childText(c, "LastModified"), "LastModified"),
    etag: childText(c, "ETag") ?? "",
  }));
  const prefixes = children(doc, "CommonPrefixes").map((p) => required(p, "Prefix"));
  const truncated = childText(doc, "IsTruncated")?.trim() === "true";
  const nextToken = truncated ? required(doc, "NextContinuationToken") : undefined;
  return { objects, prefixes, nextToken };
}

/** One page of ListMultipartUploads. */
export interface UploadsPage {
  uploads: PendingUpload[];
  /** Where the next page starts; absent on the last page. */
  next?: { keyMarker: string; uploadIdMarker: string };
}

/** A ListMultipartUploadsResult. */
export function parseUploads(text: string): UploadsPage {
  const doc = parseRoot(text, "ListMultipartUploadsResult");
  const uploads = children(doc, "Upload").map((u) => ({
    key: required(u, "Key"),
    uploadId: required(u, "UploadId"),
    initiated: date(childText(u, "Initiated"), "Initiated"),
  }));
  if (childText(doc, "IsTruncated")?.trim() !== "true") return { uploads };
  return {
    uploads,
    next: {
      keyMarker: childText(doc, "NextKeyMarker") ?? "",
      uploadIdMarker: childText(doc, "NextUploadIdMarker") ?? "",
    },
  };
}

/** A part of a pending multipart upload, as ListParts shows it. */
export interface UploadedPart {
  partNumber: number;
  size: number;
  lastModified: Date;
}

/** A ListPartsResult: the parts, and the marker of the next page when there is one. */
export function parseParts(text: string): { parts: UploadedPart[]; nextMarker?: string } {
  const doc = parseRoot(text, "ListPartsResult");
  const parts = children(doc, "Part").map((p) => ({
    partNumber: number(required(p, "PartNumber"), "PartNumber"),
    size: number(required(p, "Size"), "Size"),
    lastModified: date(childText(p, "LastModified"), "LastModified"),
  }));
  const truncated = childText(doc, "IsTruncated")?.trim() === "true";
  return truncated ? { parts, nextMarker: required(doc, "NextPartNumberMarker") } : { parts };
}

/** The keys a DeleteObjects request could not delete, with S3's reasons. */
export function parseDeleteErrors(text: string): Array<{ key: string; code: string }> {
  const doc = parseRoot(text, "DeleteResult");
  return children(doc, "Error").map((e) => ({
    key: required(e, "Key"),
    code: childText(e, "Code") ?? "",
  }));
}

/** The ETag of a CopyObjectResult, CopyPartResult or CompleteMultipartUploadResult. */
export function parseEtag(text: string, rootName: string): string {
  return required(parseRoot(text, rootName), "ETag");
}

/** An object's headers as {@link ObjectInfo}; `size` from Content-Range when the body is a range. */
export function objectInfo(headers: Headers): ObjectInfo {
  const metadata: Record<string, string> = {};
  for (const [name, value] of headers) {
    if (name.startsWith(META)) metadata[name.slice(META.length)] = value;
  }
  const range = headers.get("content-range")?.match(/\/(\d+)$/);
  return {
    size: number(range?.[1] ?? headers.get("content-length") ?? "", "Content-Length"),
    lastModified: date(headers.get("last-modified"), "Last-Modified"),
    etag: headers.get("etag") ?? "",
    metadata,
  };
}
