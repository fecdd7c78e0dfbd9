/**
 * Who a request is from, and whether it may change anything. HTTP Basic (for
 * curl), the login form and its session cookie (for browsers), or nobody:
 * the anonymous user where `ROOT/anonymous/` exists. Every password check is
 * `core.accounts.login`, so failures meet the same throttle and hold-off as
 * FTP logins from that address.
 */
import { concatBytes } from "../storage/bytes.ts";
import { accountName } from "../core/accounts.ts";
import type { Call, Identity } from "./context.ts";
import { encodePath } from "./paths.ts";
import { loginPage } from "./pages.ts";
import { baseHeaders, htmlResponse, redirect, textResponse } from "./respond.ts";
import {
  clearedCookie,
  cookieValue,
  sameToken,
  SESSION_COOKIE,
  sessionCookie,
} from "./sessions.ts";

/** User name and password of an `Authorization: Basic` header. */
export interface BasicCredentials {
  user: string;
  password: string;
}

/** The credentials of a Basic header; null when it is not one or is malformed. */
export function parseBasic(header: string): BasicCredentials | null {
  const m = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i.exec(header);
  if (!m) return null;
  let text: string;
  try {
    const bytes = Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0));
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
  const colon = text.indexOf(":");
  if (colon < 0) return null;
  return { user: text.slice(0, colon), password: text.slice(colon + 1) };
}

/** The challenge curl answers; a browser gets the form instead (a Basic challenge would pop up its own dialog). */
const BASIC_CHALLENGE = 'Basic realm="xxftp", charset="UTF-8"';
const FORM_CHALLENGE = 'Form realm="xxftp"';

/** What the login form is refilled with after a failed attempt. */
interface Retry {
  next: string;
  user: string;
}

/**
 * A 401: the login page for a browser (it returns to the requested path, or
 * to where the failed form was going), a Basic challenge for anything else.
 */
export async function needLogin(
  call: Call,
  error: string | null,
  retry?: Retry,
): Promise<Response> {
  const anonymous = await call.door.core.accounts.homeOf("anonymous") !== null;
  if (call.html) {
    const next = retry?.next ?? encodePath(call.path.path, call.path.slash);
    const user = retry?.user ?? "";
    return htmlResponse(401, loginPage({ next, user, error, anonymous }), {
      "WWW-Authenticate": FORM_CHALLENGE,
    });
  }
  const headers = { "WWW-Authenticate": BASIC_CHALLENGE };
  if (call.req.method === "HEAD") {
    return new Response(null, { status: 401, headers: baseHeaders(headers) });
  }
  return textResponse(401, error ?? "Log in: HTTP Basic (curl -u USER:PASSWORD).", headers);
}

/** The answer to an address that failed too often. */
function heldOff(): Response {
  return textResponse(429, "Too many failed logins; try again later.", { "Retry-After": "60" });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Checks a user name and password through the core; an identity or the failure's answer. */
async function check(
  call: Call,
  given: string,
  password: string,
  retry?: Retry,
): Promise<{ user: string; home: string } | Response> {
  const name = accountName(given);
  if (name === null) return needLogin(call, "Login incorrect.", retry);
  const { accounts } = call.door.core;
  const result = await accounts.login(name, password, call.client);
  if (result.kind === "banned") return heldOff();
  if (result.kind === "failed") {
    call.emit({ event: "login_failed", user: name });
    await sleep(result.delayMs);
    if (!result.banned) return needLogin(call, "Login incorrect.", retry);
    call.emit({ event: "ban", user: name, seconds: accounts.guard.banSeconds });
    return heldOff();
  }
  return { user: result.user, home: result.home };
}

/**
 * Who sent `call`: Basic credentials when given (checked every time, cheap once
 * cached), else the session cookie, else anonymous; otherwise the response
 * that asks for a login.
 */
export async function identify(call: Call): Promise<Identity | Response> {
  const { door, req } = call;
  const authorization = req.headers.get("authorization");
  if (authorization !== null) {
    const creds = parseBasic(authorization);
    if (creds === null) return needLogin(call, "Malformed Authorization header.");
    const ok = await check(call, creds.user, creds.password);
    return ok instanceof Response ? ok : { ...ok, via: "basic", session: null };
  }
  const id = cookieValue(req.headers.get("cookie"), SESSION_COOKIE);
  const session = id === null ? null : door.sessions.use(id);
  if (session !== null) {
    return { user: session.user, home: session.home, via: "session", session };
  }
  const home = await door.core.accounts.homeOf("anonymous");
  if (home !== null) return { user: "anonymous", home, via: "anonymous", session: null };
  return needLogin(call, null);
}

/** This server's origin as the client addressed it. */
function ownOrigin(call: Call): string {
  return `${call.door.secure ? "https" : "http"}://${call.req.headers.get("host") ?? ""}`;
}

/**
 * Why a state-changing request is refused, or null. It must come from this
 * server's own pages (no foreign `Origin`, not `cross-site`); one that rides
 * on a session cookie must carry the session's token as well (`token`, or the
 * `X-CSRF-Token` header). A request by Basic or anonymous uses a method no
 * cross-site form can send (PUT, DELETE, MKCOL, MOVE): a page elsewhere would
 * need a CORS preflight, which this server never grants.
 */
export function csrfRefusal(call: Call, who: Identity | null, token?: string): string | null {
  const { req } = call;
  if (req.method === "GET" || req.method === "HEAD" || req.method === "OPTIONS") return null;
  const origin = req.headers.get("origin");
  if (origin !== null && origin !== ownOrigin(call)) return "Cross-origin request refused.";
  if (req.headers.get("sec-fetch-site") === "cross-site") return "Cross-site request refused.";
  if (who?.session) {
    const given = token ?? req.headers.get("x-csrf-token");
    if (given === null || !sameToken(given, who.session.csrf)) {
      return "Missing or stale page token.";
    }
  }
  return null;
}

/** Largest login or logout form accepted. */
const MAX_FORM = 8192;

/** A small url-encoded form body; null when it is larger than `MAX_FORM`. */
async function readForm(req: Request): Promise<URLSearchParams | null> {
  if (Number(req.headers.get("content-length") ?? 0) > MAX_FORM) return null;
  if (req.body === null) return new URLSearchParams();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of req.body) {
    total += chunk.length;
    if (total > MAX_FORM) return null;
    chunks.push(chunk);
  }
  const all = concatBytes(chunks);
  return new URLSearchParams(new TextDecoder().decode(all));
}

/** Where to go after logging in: a percent-encoded path of this server, else `/`. */
export function safeNext(next: string | null): string {
  if (next === null || next.length > 8192 || next.startsWith("//")) return "/";
  return /^\/[A-Za-z0-9\-._~%!$&'()*+,;=:@\/?]*$/.test(next) ? next : "/";
}

/** POST /.login: the form's user and password; a session and a redirect, or the form again. */
export async function loginForm(call: Call): Promise<Response> {
  const refusal = csrfRefusal(call, null);
  if (refusal !== null) return textResponse(403, refusal);
  const form = await readForm(call.req);
  if (form === null) return textResponse(413, "Form too large.");
  const user = form.get("user") ?? "";
  const next = safeNext(form.get("next"));
  const ok = await check(call, user, form.get("password") ?? "", { next, user });
  if (ok instanceof Response) return ok;
  const session = call.door.sessions.create(ok.user, ok.home);
  call.emit({ event: "login", user: ok.user });
  return redirect(303, next, {
    "Set-Cookie": sessionCookie(session.id, call.door.secure),
  });
}

/** GET /.login: the form. */
export async function loginFormPage(call: Call): Promise<Response> {
  const anonymous = await call.door.core.accounts.homeOf("anonymous") !== null;
  const next = safeNext(new URLSearchParams(call.path.query).get("next"));
  return htmlResponse(200, loginPage({ next, user: "", error: null, anonymous }));
}

/** POST /.logout: ends the session (its token must come with the form). */
export async function logout(call: Call, who: Identity): Promise<Response> {
  const form = await readForm(call.req);
  if (form === null) return textResponse(413, "Form too large.");
  const refusal = csrfRefusal(call, who, form.get("csrf") ?? "");
  if (refusal !== null) return textResponse(403, refusal);
  if (who.session) call.door.sessions.drop(who.session.id);
  call.log("logged out");
  return redirect(303, "/", { "Set-Cookie": clearedCookie(call.door.secure) });
}
