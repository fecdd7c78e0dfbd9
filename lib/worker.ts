/**
 * The Worker the server runs in. Its Deno permissions are the served root (and
 * granted paths) plus the network, nothing else; it talks to the main thread
 * only through messages, and logs by posting events in small batches (main
 * writes them).
 */
import type { ServerStatus } from "./core/activity.ts";
import type { LogEvent } from "./core/events.ts";
import { type ServerHandle, type ServerOptions, startServer } from "./server.ts";

/** Messages from the main thread. */
export type ToWorker =
  | { type: "start"; options: ServerOptions }
  | { type: "stop"; graceMs: number }
  | { type: "status" };
/** Messages to the main thread. */
export type FromWorker =
  | { type: "events"; events: LogEvent[] }
  | {
    type: "listening";
    hostname: string;
    port: number;
    getPort: number | null;
    httpPort: number | null;
  }
  | { type: "failed"; name: string; message: string }
  | { type: "status"; status: ServerStatus }
  | { type: "stopped" };

/** The worker's global scope, typed for the messages it handles. */
const scope = self as unknown as {
  postMessage(m: FromWorker): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
};
let server: ServerHandle | null = null;

/** Events not yet posted: a message per event cost the server a fifth of its session rate. */
let pending: LogEvent[] = [];
/**
 * The longest an event waits to be posted. Each post wakes the main thread
 * to format and write: at 2 ms, one session a millisecond cost 540 µs of
 * CPU a session, at 100 ms 290 µs. A log line a tenth of a second late
 * costs nothing.
 */
const EVENT_DELAY_MS = 100;
/** Events posted in one message at most. */
const EVENT_BATCH = 512;
let flushTimer: ReturnType<typeof setTimeout> | null = null;

function flushEvents(): void {
  if (flushTimer !== null) clearTimeout(flushTimer);
  flushTimer = null;
  if (pending.length === 0) return;
  scope.postMessage({ type: "events", events: pending });
  pending = [];
}

function queueEvent(event: LogEvent): void {
  pending.push(event);
  if (pending.length >= EVENT_BATCH) flushEvents();
  else flushTimer ??= setTimeout(flushEvents, EVENT_DELAY_MS);
}

/** Posts a message after every event queued before it. */
function post(m: FromWorker): void {
  flushEvents();
  scope.postMessage(m);
}

scope.onmessage = async (e) => {
  const m = e.data;
  if (m.type === "start") {
    try {
      server = await startServer(m.options, queueEvent);
      const { addr, getAddr, httpAddr } = server;
      post({
        type: "listening",
        hostname: addr.hostname,
        port: addr.port,
        getPort: getAddr?.port ?? null,
        httpPort: httpAddr?.port ?? null,
      });
    } catch (err) {
      post({ type: "failed", name: (err as Error).name, message: (err as Error).message });
    }
  } else if (m.type === "status") {
    const status = await server?.status();
    if (status) post({ type: "status", status });
  } else {
    await server?.stop(m.graceMs);
    post({ type: "stopped" });
  }
};
