/**
 * Starts the server confined by Deno itself: in a Worker whose permissions are
 * exactly read/write on the served root (plus granted paths) and the network;
 * for a tree in an object store, no file system at all and the network to the
 * store and the listen address only.
 *
 * Deno lets a process start a Worker only from code it may read (lib/, the
 * Worker's module and its imports). When this process was started with read
 * access to the root alone (the narrow `deno run --allow-read=ROOT ...` form),
 * it cannot, and its own flags are already the same confinement, so the
 * server runs in this process instead. `make serve` adds read access to lib/
 * so that both hold.
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { ServerStatus } from "./core/activity.ts";
import type { EventSink } from "./core/events.ts";
import { type ServerHandle, type ServerOptions, startServer } from "./server.ts";
import { endpointNetPermission } from "./storage/s3/spec.ts";
import type { FromWorker, ToWorker } from "./worker.ts";

/** Which wall Deno provides for this run. */
export type Confinement = "worker" | "process";

/** A started, confined server. */
export interface Sandboxed extends ServerHandle {
  confinement: Confinement;
}

const WORKER_URL = new URL("./worker.ts", import.meta.url);

/** The Worker loads lib/ (its module and what it imports) with this process's read permission. */
function mayReadWorkerCode(): boolean {
  if (WORKER_URL.protocol !== "file:") return true;
  const lib = dirname(fileURLToPath(WORKER_URL));
  return Deno.permissions.querySync({ name: "read", path: lib }).state === "granted";
}

/** The server Worker's permissions: read/write on `paths`, the network (`net`), nothing else. */
export function workerPermissions(
  paths: string[],
  net: true | string[] = true,
): Deno.PermissionOptionsObject {
  return {
    read: paths.length ? paths : false,
    write: paths.length ? paths : false,
    net,
    env: false,
    run: false,
    ffi: false,
    sys: false,
    import: false,
  };
}

/**
 * The network a server on an object store needs: the store's `host:port`,
 * and every port of the listen address (control and passive listeners; an
 * active-mode data connection to a client there too). Deno cannot name
 * "every local address", so a wildcard listen address needs the whole network.
 */
export function serverNet(host: string, endpoint: string): true | string[] {
  if (host === "0.0.0.0" || host === "::" || host === "[::]") return true;
  const listen = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return [endpointNetPermission(endpoint), listen];
}

/** An error from inside the sandbox, carrying the original error's name. */
export class ServerStartError extends Error {
  constructor(readonly kind: string, message: string) {
    super(message);
  }
}

/** Where the doors of a started server listen. */
type Addresses = Pick<ServerHandle, "addr" | "getAddr" | "httpAddr">;

/** Starts the server, its events to `sink`; rejects with `ServerStartError` when it cannot listen. */
export async function startSandboxed(
  options: ServerOptions,
  sink: EventSink,
): Promise<Sandboxed> {
  if (!mayReadWorkerCode()) {
    try {
      return { ...(await startServer(options, sink)), confinement: "process" };
    } catch (err) {
      throw new ServerStartError((err as Error).name, (err as Error).message);
    }
  }
  const permissions = options.s3
    ? workerPermissions([], serverNet(options.host, options.s3.endpoint))
    : workerPermissions([options.root, ...options.allowOutside]);
  const worker = new Worker(WORKER_URL, { type: "module", deno: { permissions } });
  const post = (m: ToWorker) => worker.postMessage(m);
  let stopped: (() => void) | null = null;
  /** Status requests in flight, answered in order. */
  const asked: ((s: ServerStatus) => void)[] = [];
  const started = new Promise<Addresses>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<FromWorker>) => {
      const m = e.data;
      if (m.type === "events") { for (const e of m.events) sink(e); }
      else if (m.type === "status") asked.shift()?.(m.status);
      else if (m.type === "listening") {
        const at = (port: number): Deno.NetAddr => ({
          transport: "tcp",
          hostname: m.hostname,
          port,
        });
        const maybe = (port: number | null) => port === null ? null : at(port);
        resolve({ addr: at(m.port), getAddr: maybe(m.getPort), httpAddr: maybe(m.httpPort) });
      } else if (m.type === "failed") {
        worker.terminate();
        reject(new ServerStartError(m.name, m.message));
      } else stopped?.();
    };
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      reject(new ServerStartError("WorkerError", e.message));
    };
  });
  post({ type: "start", options });
  const addrs = await started;
  return {
    ...addrs,
    confinement: "worker",
    async stop(graceMs) {
      const done = new Promise<void>((r) => stopped = r);
      post({ type: "stop", graceMs });
      await done;
      worker.terminate();
    },
    status() {
      const { promise, resolve } = Promise.withResolvers<ServerStatus>();
      asked.push(resolve);
      post({ type: "status" });
      return promise;
    },
  };
}
