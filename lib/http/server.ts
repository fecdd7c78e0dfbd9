/**
 * The HTTP door: a `Deno.serve` on loopback behind the front (front.ts), and
 * the routing of each request: decode the path once, identify the sender,
 * refuse cross-site changes, resolve the path through the user's vfs, check
 * what the method needs of it, and hand it to the module that answers.
 */
import { checkNeed, type Need } from "../core/access.ts";
import type { Core } from "../core/core.ts";
import type { EventInput } from "../core/events.ts";
import type { DoorHandle } from "../net/door.ts";
import type { Target } from "../core/vfs.ts";
import { sendFolderZip } from "./archive.ts";
import { SCRIPT, STYLE } from "./assets.ts";
import { csrfRefusal, identify, loginForm, loginFormPage, logout } from "./auth.ts";
import { deleteCall, makeFolderCall, moveCall } from "./changes.ts";
import type { Call, DoorContext, UserCall } from "./context.ts";
import { sendFile } from "./download.ts";
import { failureOf, REFUSALS, StreamBroke } from "./errors.ts";
import { type Front, type FrontOptions, type Relay, startFront } from "./front.ts";
import { sendListing } from "./listing.ts";
import { decodeRequestPath, encodePath, hasQueryFlag, type RequestPath } from "./paths.ts";
import { baseHeaders, failureResponse, redirect, textResponse } from "./respond.ts";
import { SessionStore } from "./sessions.ts";
import { putFile } from "./upload.ts";

/** The HTTP door's own settings. */
export type HttpOptions = FrontOptions;

/** Methods the door answers on a path of the tree. */
const ALLOW = "GET, HEAD, PUT, DELETE, MKCOL, MOVE, OPTIONS";

/** The door's own files, under a name no tree entry can have (it starts with a dot). */
const ASSETS: Record<string, [string, string]> = {
  "/.assets/style.css": ["text/css; charset=utf-8", STYLE],
  "/.assets/app.js": ["text/javascript; charset=utf-8", SCRIPT],
};

function asset(call: Call, [type, text]: [string, string]): Response {
  if (call.req.method !== "GET" && call.req.method !== "HEAD") return notAllowed("GET, HEAD");
  const headers = baseHeaders({ "Content-Type": type, "Cache-Control": "no-cache" });
  return new Response(call.req.method === "HEAD" ? null : text, { headers });
}

function notAllowed(allow: string): Response {
  return textResponse(405, "Method not allowed.", { Allow: allow });
}

/** GET or HEAD of a path of the tree. */
function get(call: UserCall, t: Target): Promise<Response> | Response {
  const stat = t.stat;
  if (stat === null) return failureResponse(call, REFUSALS["not-found"]);
  if (stat.isDir) {
    if (!call.path.slash) {
      const query = call.path.query === "" ? "" : `?${call.path.query}`;
      return redirect(301, encodePath(t.path, true) + query);
    }
    const refusal = checkNeed("list", t);
    if (refusal !== null) return failureResponse(call, REFUSALS[refusal]);
    return hasQueryFlag(call.path.query, "zip") ? sendFolderZip(call, t) : sendListing(call, t);
  }
  if (!stat.isFile || call.path.slash) return failureResponse(call, REFUSALS["not-found"]);
  const refusal = checkNeed("read", t);
  if (refusal !== null) return failureResponse(call, REFUSALS[refusal]);
  return sendFile(call, { ...t, stat });
}

/** A change, after what it needs of its path was checked. */
function change(
  call: UserCall,
  t: Target,
  need: Need,
  run: (call: UserCall, t: Target) => Promise<Response>,
): Promise<Response> | Response {
  const refusal = checkNeed(need, t);
  return refusal === null ? run(call, t) : failureResponse(call, REFUSALS[refusal]);
}

/** Answers one request whose path decoded; `relay` is its connection. */
async function dispatch(
  call: Call,
  user: { name: string | null },
  relay: Relay,
): Promise<Response> {
  const { req, path, door } = call;
  const own = ASSETS[path.path];
  if (own) return asset(call, own);
  if (path.path === "/.login") {
    if (req.method === "POST") return loginForm(call);
    return req.method === "GET" || req.method === "HEAD"
      ? loginFormPage(call)
      : notAllowed("GET, POST");
  }
  const who = await identify(call);
  if (who instanceof Response) return who;
  user.name = who.user;
  // A Basic login is checked on every request; it is logged once per connection.
  if (who.via === "basic" && relay.user !== who.user) call.emit({ event: "login" });
  relay.user = who.user;
  if (path.path === "/.logout") {
    return req.method === "POST" ? logout(call, who) : notAllowed("POST");
  }
  const refusal = csrfRefusal(call, who);
  if (refusal !== null) return textResponse(403, refusal);
  const vfs = door.core.viewOf(who.home);
  const r = await vfs.resolve("/", path.path);
  if (!r.ok) return failureResponse(call, REFUSALS[r.refusal]);
  const uc: UserCall = { ...call, who, vfs };
  const t = r.target;
  switch (req.method) {
    case "GET":
    case "HEAD":
      return get(uc, t);
    case "PUT":
      return change(uc, t, "create", putFile);
    case "DELETE":
      return change(uc, t, "modify", deleteCall);
    case "MKCOL":
      return change(uc, t, "modify", makeFolderCall);
    case "MOVE":
      return change(uc, t, "modify", moveCall);
    case "OPTIONS":
      return new Response(null, { status: 204, headers: baseHeaders({ Allow: ALLOW }) });
    default:
      return notAllowed(ALLOW);
  }
}

const NO_PATH: RequestPath = { path: "/", slash: true, query: "" };

/** Answers one request that came through `relay`; an error becomes a status here, never a crash. */
async function handle(door: DoorContext, req: Request, relay: Relay): Promise<Response> {
  const user: { name: string | null } = { name: null };
  const path = decodeRequestPath(req.url);
  const emit = (e: EventInput) => relay.emit({ user: user.name, ...e });
  const call: Call = {
    door,
    req,
    client: relay.address,
    path: path ?? NO_PATH,
    html: (req.headers.get("accept") ?? "").includes("text/html"),
    emit,
    log: (message) => emit({ event: "notice", message }),
  };
  if (path === null) return textResponse(400, "Malformed path.");
  try {
    return await dispatch(call, user, relay);
  } catch (err) {
    return failureResponse(
      call,
      failureOf(err, (line) => call.log(`${req.method} ${path.path}: ${line}`)),
    );
  }
}

/** How often expired browser sessions are forgotten. */
const PRUNE_MS = 60_000;

/** Starts the HTTP door; throws (e.g. `AddrInUse`) when its port cannot be opened. */
export function startHttpDoor(core: Core, opts: HttpOptions): DoorHandle {
  const door: DoorContext = { core, sessions: new SessionStore(), secure: opts.tls !== null };
  let front: Front | null = null;
  const inner = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    onListen() {},
    onError(err) {
      // A body stream that broke off was logged where it broke, with its path.
      if (!(err instanceof StreamBroke)) {
        core.emit({ event: "notice", proto: "http", message: `response failed: ${err}` });
      }
      return new Response(null, { status: 500 });
    },
  }, (req, info) => {
    const relay = front?.relayOf(info.remoteAddr);
    if (relay === undefined) return new Response(null, { status: 403 }); // not through the front
    relay.begin();
    const end = () => relay.end();
    info.completed.then(end, end);
    return handle(door, req, relay);
  });
  let started: Front;
  try {
    started = front = startFront(core, opts, inner.addr.port);
  } catch (err) {
    void inner.shutdown();
    throw err;
  }
  const prune = setInterval(() => door.sessions.prune(), PRUNE_MS);
  return {
    addr: started.addr,
    async stop(graceMs) {
      clearInterval(prune);
      await started.close();
      const deadline = Date.now() + graceMs;
      for (;;) {
        for (const r of started.relays) if (r.idle) r.close();
        if (started.relays.size === 0 || Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      for (const r of started.relays) r.close();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([inner.shutdown(), new Promise((r) => timer = setTimeout(r, 1000))]);
      clearTimeout(timer);
    },
  };
}
