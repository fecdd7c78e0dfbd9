/**
 * node:net listeners and sockets, for TLS data connections only. Deno's
 * node:tls encrypts straight into a node:net socket in native code, with
 * about 40% less CPU per byte than through a stream of ours; a Deno.Conn
 * cannot become a node:net socket, so such a connection must be accepted
 * by a node:net server from the start.
 */
import { type AddressInfo, createServer, type Server, Socket } from "node:net";
import { Inbox, INBOX_LIMIT } from "./inbox.ts";
import { type ByteStream, ConnectionLost, lost } from "./stream.ts";

/** A data connection as it was opened: Deno's stream, or a node socket (paused) from a NodeListener. */
export type DataLink = ByteStream | Socket;

/** `link` as a plain ByteStream. */
export function plainStream(link: DataLink): ByteStream {
  return link instanceof Socket ? socketStream(link) : link;
}

/** What a listener got: the client's connection, or word that one was reset before it was taken. */
type Arrival = Socket | ConnectionLost;

/**
 * A node:net server for one data connection: the first connection from the
 * client's address waits, paused, until `take` (node hands each over as it
 * comes, and one that nobody held would be lost). Any other connection is
 * closed as it comes, so other addresses cannot crowd the client's out.
 */
export class NodeListener {
  /** What arrived and was not yet taken. */
  #arrived: Arrival | null = null;
  #waiter: ((got: Arrival | null) => void) | null = null;
  #closed = false;

  constructor(private readonly server: Server, accepts: (address: string) => boolean) {
    server.on("connection", (socket: Socket) => {
      socket.on("error", () => {}); // until its stream listens: a reset then fails the transfer
      const address = socket.remoteAddress; // none once the peer reset it
      // One connection is all: the transfer closes the listener once it took one.
      const wanted = !this.#closed && this.#arrived === null;
      if (!wanted || (address !== undefined && !accepts(address))) return void socket.destroy();
      if (address === undefined) {
        socket.destroy();
        // As Deno's accept() fails for it: the client connected and reset at once.
        return this.#arrive(new ConnectionLost("data connection reset before the transfer"));
      }
      this.#arrive(socket);
    });
    server.on("error", () => {}); // an accept that failed: the transfer waiting times out
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /**
   * The client's connection, when it comes; null once closed. Rejects with
   * `ConnectionLost` when a connection was reset before it could be taken.
   */
  take(): Promise<Socket | null> {
    const got = this.#arrived;
    if (got !== null) {
      this.#arrived = null;
      return got instanceof ConnectionLost ? Promise.reject(got) : Promise.resolve(got);
    }
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.#waiter = (got) => got instanceof ConnectionLost ? reject(got) : resolve(got);
    });
  }

  /** Stops listening and drops a connection not taken; safe to call more than once. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.server.close();
    if (this.#arrived instanceof Socket) this.#arrived.destroy();
    this.#arrived = null;
    const waiter = this.#waiter;
    this.#waiter = null;
    waiter?.(null);
  }

  #arrive(got: Arrival): void {
    const waiter = this.#waiter;
    this.#waiter = null;
    if (waiter === null) this.#arrived = got;
    else waiter(got);
  }
}

/**
 * Listens on `hostname`:`port` (0: any free port) for a connection from an
 * address `accepts` takes. Accepted sockets start paused, so no byte is read
 * before the TLS layer takes them. Rejects with node's error (code
 * EADDRINUSE when the port is taken).
 */
export function listenNode(
  hostname: string,
  port: number,
  accepts: (address: string) => boolean,
): Promise<NodeListener> {
  return new Promise((resolve, reject) => {
    const server = createServer({ pauseOnConnect: true });
    server.once("error", reject);
    server.listen({ host: hostname, port, exclusive: true }, () => {
      server.off("error", reject);
      resolve(new NodeListener(server, accepts));
    });
  });
}

/**
 * A node:net socket as a plain ByteStream. A FIN ends it (read gives null);
 * a reset or error rejects the reads after the bytes that came before it.
 */
function socketStream(socket: Socket): ByteStream {
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
  /** Writes not yet taken by the socket. */
  let writing = 0;
  return {
    read: (buf) => inbox.read(buf),
    write(data) {
      if (data.length === 0) return Promise.resolve();
      if (socket.destroyed || inbox.lost) return Promise.reject(lost("connection closed"));
      writing++;
      return new Promise((resolve, reject) =>
        socket.write(data, (err) => {
          writing--;
          if (err) reject(lost(err));
          else resolve();
        })
      );
    },
    close: () => endSocket(socket, writing > 0),
  };
}

/** How long a closing socket may take to send what it holds. */
const END_MS = 2000;

/**
 * Closes `socket`: at once when `stopped` (an aborted transfer), otherwise
 * after what it holds was sent and its end (a FIN, or close_notify first over
 * TLS) went out, or after `END_MS`.
 */
export function endSocket(socket: Socket, stopped: boolean): void {
  if (socket.destroyed) return;
  if (stopped) return void socket.destroy();
  const timer = setTimeout(() => socket.destroy(), END_MS);
  socket.end(() => {
    clearTimeout(timer);
    socket.destroy();
  });
}
