/** Options for a server started inside a test (no command line): loopback, small limits, no extra doors. */
import type { ServerOptions } from "../../lib/server.ts";

/** A plain FTP server on `root`, listening on `port` (0: any free one). */
export function serverOptions(root: string, port = 0): ServerOptions {
  return {
    root,
    share: false,
    host: "127.0.0.1",
    port,
    passivePorts: null,
    publicHost: null,
    maxConnections: 10,
    maxPerIp: 10,
    idleTimeoutMs: 30000,
    loginTimeoutMs: 30000,
    dataTimeoutMs: 10000,
    maxLoginFailures: 5,
    banSeconds: 60,
    loginFailDelayMs: 10,
    allowOutside: [],
    tls: null,
    readOnly: false,
    getPort: null,
    http: null,
  };
}
