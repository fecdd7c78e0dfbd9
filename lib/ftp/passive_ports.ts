/**
 * Picks the port of each passive listener. Asking the kernel for "any free
 * port" (port 0) is slow under load: with the SO_REUSEADDR that Deno sets,
 * Linux walks ports holding TIME_WAIT connections, and after a few thousand
 * sessions one bind took 1.6 ms here against 37 µs for a named port (it was
 * 40% of the server's CPU in a session storm). So the door names ports
 * itself, moving a cursor through the range so that consecutive sessions
 * spread their TIME_WAIT over many ports.
 */

import { listenNode, type NodeListener } from "../net/node_socket.ts";

/**
 * Where ports come from without `--passive-ports`: above Linux's default
 * ephemeral range (32768-60999), where this host's own client connections
 * hold ports: there a fifth of the binds failed in a session storm on
 * loopback, each failure an exception and a system call.
 */
export const DEFAULT_PASSIVE_RANGE: readonly [number, number] = [61000, 65535];

/** Named ports tried before asking the kernel, without a configured range. */
const TRIES_BEFORE_ANY = 32;

/** A cursor over a port range, shared by every session of a door. */
export class PassivePorts {
  readonly #low: number;
  readonly #span: number;
  #next: number;

  constructor(
    range: readonly [number, number] | null,
    /** Only ports of the range (`--passive-ports` was given), never the kernel's choice. */
    readonly strict = range !== null,
  ) {
    const [low, high] = range ?? DEFAULT_PASSIVE_RANGE;
    this.#low = low;
    this.#span = high - low + 1;
    this.#next = Math.floor(Math.random() * this.#span);
  }

  /**
   * Opens a listener on `hostname`: the next free port of the range, or (no
   * range configured) any port when the first tries are taken; null when a
   * configured range is full.
   */
  listen(hostname: string): Deno.TcpListener | null {
    for (const port of this.#ports()) {
      try {
        return Deno.listen({ hostname, port });
      } catch (err) {
        if (!(err instanceof Deno.errors.AddrInUse)) throw err;
      }
    }
    return null;
  }

  /** The same, as a node:net server taking what `accepts` (TLS data, see node_socket.ts). */
  async listenNode(
    hostname: string,
    accepts: (address: string) => boolean,
  ): Promise<NodeListener | null> {
    for (const port of this.#ports()) {
      try {
        return await listenNode(hostname, port, accepts);
      } catch (err) {
        if ((err as { code?: unknown }).code !== "EADDRINUSE") throw err;
      }
    }
    return null;
  }

  /** The ports to try in turn: the cursor's, then 0 (any) when no range was configured. */
  *#ports(): Generator<number> {
    const tries = this.strict ? this.#span : Math.min(TRIES_BEFORE_ANY, this.#span);
    for (let i = 0; i < tries; i++) {
      const port = this.#low + this.#next;
      this.#next = (this.#next + 1) % this.#span; // before the yield: a taken port ends the walk
      yield port;
    }
    if (!this.strict) yield 0;
  }
}
