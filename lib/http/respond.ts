/**
 * Building responses: the door's pages with their security headers, plain
 * text for curl, redirects, and failures in the form the client reads.
 */
import type { Call } from "./context.ts";
import type { Failure } from "./errors.ts";
import { errorPage } from "./pages.ts";

/** What a page may load: its own script and style, nothing from elsewhere. */
const PAGE_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * What a served file may do when a browser shows it: nothing. An uploaded HTML
 * file runs in an opaque origin without scripts, so it cannot act as the user.
 */
export const FILE_POLICY = "sandbox; default-src 'none'; img-src 'self' data:; " +
  "media-src 'self'; style-src 'unsafe-inline'";

/** Headers every response of the door carries. */
export function baseHeaders(extra: HeadersInit = {}): Headers {
  const h = new Headers(extra);
  h.set("X-Content-Type-Options", "nosniff");
  h.set("Referrer-Policy", "same-origin");
  return h;
}

/** An HTML page of the door (never cached: it may carry a CSRF token). */
export function htmlResponse(status: number, body: string, extra: HeadersInit = {}): Response {
  const h = baseHeaders(extra);
  h.set("Content-Type", "text/html; charset=utf-8");
  h.set("Content-Security-Policy", PAGE_POLICY);
  h.set("Cache-Control", "no-store");
  return new Response(body, { status, headers: h });
}

/** One line of plain text. */
export function textResponse(status: number, text: string, extra: HeadersInit = {}): Response {
  const h = baseHeaders(extra);
  h.set("Content-Type", "text/plain; charset=utf-8");
  h.set("Cache-Control", "no-store");
  return new Response(`${text}\n`, { status, headers: h });
}

/** A redirect to a path of this server. */
export function redirect(status: 301 | 303, location: string, extra: HeadersInit = {}): Response {
  const h = baseHeaders(extra);
  h.set("Location", location);
  return new Response(null, { status, headers: h });
}

/** A failure as a page for a browser or a line for curl; HEAD gets the status alone. */
export function failureResponse(call: Call, f: Failure, extra: HeadersInit = {}): Response {
  if (call.req.method === "HEAD") {
    return new Response(null, { status: f.status, headers: baseHeaders(extra) });
  }
  return call.html
    ? htmlResponse(f.status, errorPage(f.status, f.message, call.path.path), extra)
    : textResponse(f.status, f.message, extra);
}
