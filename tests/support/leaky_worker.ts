/**
 * A Worker that runs the real server with the path module's containment
 * switched off (a pass-through handed in through the server's construction),
 * so a test can see what Deno's own permissions stop.
 */
import { type ServerOptions, startServer } from "../../lib/server.ts";
import type { Confinement } from "../../lib/vfs.ts";

/**
 * No containment at all: `..` and hidden names are kept, and an absolute FTP
 * path is taken as a host path (enough `..` to climb from any home to `/`).
 */
const passThrough: Confinement = {
  split: (cwd, arg) => {
    const parts = (arg.startsWith("/") ? arg : `${cwd}/${arg}`).split("/").filter((p) => p !== "");
    return arg.startsWith("/") ? [...new Array(64).fill(".."), ...parts] : parts;
  },
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
