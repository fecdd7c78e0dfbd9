/**
 * Request paths in and links out. A URL path is decoded exactly once, segment
 * by segment; a segment that decodes to a separator, a backslash, NUL, `.` or
 * `..` is refused here, so no spelling of them reaches the vfs, which decides
 * everything else (hidden names, length, containment).
 */

/** A decoded request path. */
export interface RequestPath {
  /** The user path, `/`-separated and decoded, e.g. `/docs/a b.txt` (`/` for the root). */
  path: string;
  /** The URL path ended with `/` (a folder's own address). */
  slash: boolean;
  /** The raw query, without `?` (empty when there is none). */
  query: string;
}

/** The raw path and query of a request URL as Deno gives it (`http://host/raw?query`). */
function rawTarget(url: string): { path: string; query: string } | null {
  const scheme = url.indexOf("://");
  const start = url.indexOf("/", scheme < 0 ? 0 : scheme + 3);
  if (start < 0) return null;
  const q = url.indexOf("?", start);
  return q < 0
    ? { path: url.slice(start), query: "" }
    : { path: url.slice(start, q), query: url.slice(q + 1) };
}

/**
 * Decodes the path of `url` (a request's full URL or an absolute path), or
 * null when it is malformed or spells a separator, NUL or a dot segment.
 */
export function decodeRequestPath(url: string): RequestPath | null {
  const target = url.startsWith("/") ? rawTarget(`x://h${url}`) : rawTarget(url);
  if (target === null || target.path.includes("\\")) return null;
  const parts: string[] = [];
  for (const raw of target.path.split("/")) {
    if (raw === "") continue;
    let part: string;
    try {
      part = decodeURIComponent(raw);
    } catch {
      return null;
    }
    if (/[\/\\\0]/.test(part) || part === "." || part === "..") return null;
    parts.push(part);
  }
  const slash = target.path.endsWith("/");
  return { path: "/" + parts.join("/"), slash, query: target.query };
}

/** The URL path of a user path: each name percent-encoded, a folder ending in `/`. */
export function encodePath(path: string, folder = false): string {
  const parts = path.split("/").filter((p) => p !== "").map(encodeURIComponent);
  const joined = "/" + parts.join("/");
  return folder && parts.length > 0 ? joined + "/" : joined;
}

/** Whether the query holds `name` as a bare word or a `name=...` pair. */
export function hasQueryFlag(query: string, name: string): boolean {
  return query.split("&").some((p) => p === name || p.startsWith(`${name}=`));
}
