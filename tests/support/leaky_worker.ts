/**
 * A Worker that runs the real server with the path module's containment
 * switched off (a pass-through handed in through the server's construction),
 * so a test can see what Deno's own permissions stop.
 */
import { type ServerOptions, startServer } from "../../lib/server.ts";
import type { Confinement } from "../../lib/vfs.ts";

/** Joins paths naively, keeping `..` and hidden names: no containment at all. */
const passThrough: Confinement = {
  split: (cwd, arg) =>
    (arg.startsWith("/") ? arg : `${cwd}/${arg}`).split("/").filter((p) => p !== ""),
  contains: () => true,
};

const scope = self as unknown as {
  postMessage(m: unknown): void;
  onmessage: ((e: MessageEvent<ServerOptions | "stop">) => void) | null;
};
let stop: (() => Promise<void>) | null = null;

scope.onmessage = async (e) => {
  if (e.data === "stop") {
    await stop?.();
    scope.postMessage("stopped");
    return;
  }
  const server = await startServer(e.data, () => {}, passThrough);
  stop = () => server.stop(0);
  scope.postMessage(server.addr.port);
};
