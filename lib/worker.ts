/**
 * The Worker the server runs in. Its Deno permissions are the served root (and
 * granted paths) plus the network, nothing else; it talks to the main thread
 * only through messages, and logs by posting events (main writes them).
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
  | { type: "event"; event: LogEvent }
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
const post = (m: FromWorker) => scope.postMessage(m);
let server: ServerHandle | null = null;

scope.onmessage = async (e) => {
  const m = e.data;
  if (m.type === "start") {
    try {
      server = await startServer(m.options, (event) => post({ type: "event", event }));
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
