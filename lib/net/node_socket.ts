/**
 * node:net listeners and sockets, for TLS data connections only. Deno's
 * node:tls encrypts straight into a node:net socket in native code, with
 * about 40% less CPU per byte than through a stream of ours; a Deno.Conn
 * cannot become a node:net socket, so such a connection must be accepted
 * by a node:net server from the start.
 */
import { type AddressInfo, createServer, type Server, type Socket } from "node:net";
import { Inbox, INBOX_LIMIT, lost } from "./inbox.ts";
import type { ByteStream } from "./stream.ts";

/** Connections a NodeListener keeps until they are taken; more are refused. */
const QUEUE_MAX = 8;

/**
 * A node:net server with Deno's listener shape: connections wait, paused,
 * until `accept` takes them (node hands each over as it comes, and one that
 * nobody takes at that moment would be lost).
 */
export class NodeListener {
  #queue: Socket[] = [];
  #waiter: ((socket: Socket | null) => void) | null = null;
  #closed = false;

  constructor(private readonly server: Server) {
    server.on("connection", (socket: Socket) => {
      socket.on("error", () => {}); // until its stream listens: a reset then fails the transfer
      const waiter = this.#waiter;
      this.#waiter = null;
      if (waiter !== null) waiter(socket);
      else if (this.#queue.length < QUEUE_MAX) this.#queue.push(socket);
      else socket.destroy();
    });
    server.on("error", () => {}); // an accept that failed: the transfer waiting times out
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** The next connection; null once closed. */
  accept(): Promise<Socket | null> {
    const socket = this.#queue.shift();
    if (socket !== undefined || this.#closed) return Promise.resolve(socket ?? null);
    return new Promise((resolve) => this.#waiter = resolve);
  }

  /** Stops listening and drops the connections not taken; safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.server.close();
    for (const socket of this.#queue.splice(0)) socket.destroy();
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.(null);
  }
}

/**
 * Listens on `hostname`:`port` (0: any free port). Accepted sockets start
 * paused, so no byte is read before the TLS layer takes them. Rejects with
 * node's error (code EADDRINUSE when the port is taken).
 */
export function listenNode(hostname: string, port: number): Promise<NodeListener> {
  return new Promise((resolve, reject) => {
    const server = createServer({ pauseOnConnect: true });
    server.once("error", reject);
    server.listen({ host: hostname, port, exclusive: true }, () => {
      server.off("error", reject);
      resolve(new NodeListener(server));
    });
  });
}

/**
 * A node:net socket as a plain ByteStream. A FIN ends it (read gives null);
 * a reset or error rejects the reads after the bytes that came before it.
 */
export function socketStream(socket: Socket): ByteStream {
  socket.setNoDelay(true);
  const inbox = new Inbox((waiting) => {
    if (waiting < INBOX_LIMIT && socket.isPaused()) socket.resume();
  });
  socket.on("data", (chunk: Uint8Array) => {
    inbox.push(chunk);
    if (inbox.bytes >= INBOX_LIMIT) socket.pause();
  });
  socket.on("end", () => inbox.finish("ended"));
  socket.on("error", (err) => inbox.finish(lost(err)));
  socket.on("close", () => inbox.finish(lost("connection closed")));
  socket.resume();
  return {
    read: (buf) => inbox.read(buf),
    write(data) {
      if (data.length === 0) return Promise.resolve();
      if (socket.destroyed || inbox.lost) return Promise.reject(lost("connection closed"));
      return new Promise((resolve, reject) =>
        socket.write(data, (err) => err ? reject(lost(err)) : resolve())
      );
    },
    close() {
      socket.destroy();
    },
  };
}
