/**
 * The Worker the server runs in. Its Deno permissions are the served root (and
 * granted paths) plus the network, nothing else; it talks to the main thread
 * only through messages.
 */
import { type ServerHandle, type ServerOptions, startServer } from "./server.ts";

/** Messages from the main thread. */
export type ToWorker = { type: "start"; options: ServerOptions } | {
  type: "stop";
  graceMs: number;
};
/** Messages to the main thread. */
export type FromWorker =
  | { type: "log"; line: string }
  | { type: "listening"; hostname: string; port: number; httpPort: number | null }
  | { type: "failed"; name: string; message: string }
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
      server = await startServer(m.options, (line) => post({ type: "log", line }));
      post({
        type: "listening",
        hostname: server.addr.hostname,
        port: server.addr.port,
        httpPort: server.httpAddr?.port ?? null,
      });
    } catch (err) {
      post({ type: "failed", name: (err as Error).name, message: (err as Error).message });
    }
  } else {
    await server?.stop(m.graceMs);
    post({ type: "stopped" });
  }
};
