/**
 * A Worker that runs the real server with the path module's containment
 * switched off (a pass-through handed in through the server's construction),
 * so a test can see what Deno's own permissions stop.
 */
import { type ServerOptions, startServer } from "../../lib/server.ts";
import type { Confinement } from "../../lib/core/vfs.ts";

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
  onmessage: ((e: MessageEvent<ServerOptions | "stop" | "probe">) => void) | null;
};
let stop: (() => Promise<void>) | null = null;

/** The name of the error `f` throws, or "allowed". */
async function attempt(f: () => unknown): Promise<string> {
  try {
    await f();
    return "allowed";
  } catch (err) {
    return (err as Error).name;
  }
}

/** What this Worker may do beyond its files: read the environment, run programs, ask for more. */
async function probe(): Promise<Record<string, string>> {
  return {
    env: await attempt(() => Deno.env.get("HOME")),
    run: await attempt(() => new Deno.Command("true").output()),
    request: (await Deno.permissions.request({ name: "read" })).state,
    readOutside: await attempt(() => Deno.readTextFile("/etc/hostname")),
  };
}

scope.onmessage = async (e) => {
  if (e.data === "probe") {
    scope.postMessage(await probe());
    return;
  }
  if (e.data === "stop") {
    await stop?.();
    scope.postMessage("stopped");
    return;
  }
  const server = await startServer(e.data, () => {}, passThrough);
  stop = () => server.stop(0);
  scope.postMessage(server.addr.port);
};
