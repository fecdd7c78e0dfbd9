/** What the HTTP door's handlers share: the door's context and one request's. */
import type { Core } from "../core/core.ts";
import type { EventInput } from "../core/events.ts";
import type { Vfs } from "../core/vfs.ts";
import type { RequestPath } from "./paths.ts";
import type { Session, SessionStore } from "./sessions.ts";

/** The door, one per server. */
export interface DoorContext {
  core: Core;
  sessions: SessionStore;
  /** The door speaks HTTPS (cookies are `Secure`). */
  secure: boolean;
}

/** Who a request is from. */
export interface Identity {
  user: string;
  /** Real path of the user's folder. */
  home: string;
  /** How they proved it. */
  via: "session" | "basic" | "anonymous";
  /** The browser session, when `via` is `session`. */
  session: Session | null;
}

/** One request on its way through the door. */
export interface Call {
  door: DoorContext;
  req: Request;
  /** The client's canonical address. */
  client: string;
  path: RequestPath;
  /** The client reads HTML (a browser), not plain text (curl). */
  html: boolean;
  /** Logs an event of this request (its connection, client, user and door filled in). */
  emit(e: EventInput): void;
  /** Logs a line of free text tagged like `emit`. */
  log(message: string): void;
}

/** A request whose sender is known, with their view of the tree. */
export interface UserCall extends Call {
  who: Identity;
  vfs: Vfs;
}
