/**
 * TLS for control and data connections (RFC 4217): any ByteStream can be
 * wrapped in a server-side TLS session. Deno's own `startTls` is client-only,
 * so this goes through `node:tls` over a `node:stream` Duplex.
 */
import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import { Duplex } from "node:stream";
import { Socket } from "node:net";
import { createSecureContext, type SecureContext, TLSSocket } from "node:tls";
import { Inbox, INBOX_LIMIT } from "../net/inbox.ts";
import { type DataLink, endSocket, plainStream } from "../net/node_socket.ts";
import { type ByteStream, ConnectionLost, lost } from "../net/stream.ts";

/** TLS settings: the PEM texts (read by the main thread, which may read them) and the policy. */
export interface TlsOptions {
  cert: string;
  key: string;
  /** Logins and transfers need TLS (AUTH TLS, PROT P). */
  required: boolean;
  /** The control port speaks TLS from the first byte (implicit FTPS). */
  implicit: boolean;
}

/**
 * Builds a context once; every session shares it (and its session tickets).
 * Data connections (`forData`) stay at TLS 1.2: in TLS 1.3 the server sends
 * session tickets after the handshake, and a client that uploads without
 * ever reading them (rclone) closes with unread bytes, so its kernel resets
 * the connection and the end of the upload is lost. Throws, with a reason,
 * when the certificate or key is unusable or they do not match.
 */
export function tlsContext(opts: TlsOptions, forData = false): SecureContext {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(opts.cert);
  } catch {
    throw new Error("the certificate is not a PEM X.509 certificate");
  }
  let key: KeyObject;
  try {
    key = createPrivateKey(opts.key);
  } catch {
    throw new Error("the key is not a PEM private key");
  }
  if (!cert.checkPrivateKey(key)) throw new Error("the key does not belong to the certificate");
  const maxVersion = forData ? "TLSv1.2" : "TLSv1.3";
  return createSecureContext({ cert: opts.cert, key: opts.key, minVersion: "TLSv1.2", maxVersion });
}

/**
 * Backpressure between the raw connection and the reader of decrypted bytes:
 * the raw connection is not read while the inbox holds `INBOX_LIMIT` bytes.
 * (Pausing the TLS socket instead stalls it in Deno's node:tls.)
 */
class Backlog {
  #waiting: (() => void)[] = [];
  readonly inbox = new Inbox((waiting) => {
    if (waiting < INBOX_LIMIT) { for (const wake of this.#waiting.splice(0)) wake(); }
  });

  async room(): Promise<void> {
    while (this.inbox.bytes >= INBOX_LIMIT) {
      await new Promise<void>((r) => this.#waiting.push(r));
    }
  }
}

/** A Duplex whose bytes come from and go to a ByteStream. */
function duplexOver(stream: ByteStream, backlog: Backlog): Duplex {
  const buf = new Uint8Array(64 * 1024);
  /** Where batched records are joined; one write at a time uses it. */
  let out = new Uint8Array(64 * 1024);
  return new Duplex({
    read() {
      backlog.room().then(() => stream.read(buf)).then(
        (n) => this.push(n === null ? null : buf.slice(0, n)),
        (err) => this.destroy(err),
      );
    },
    write(chunk: Uint8Array, _encoding, done) {
      stream.write(chunk).then(() => done(), done);
    },
    // TLS hands over a record at a time (16 KiB): what piled up during one
    // write goes out in the next as one, not as a system call per record.
    writev(chunks: { chunk: Uint8Array }[], done) {
      let size = 0;
      for (const c of chunks) size += c.chunk.length;
      if (out.length < size) out = new Uint8Array(Math.max(size, out.length * 2));
      let at = 0;
      for (const c of chunks) {
        out.set(c.chunk, at);
        at += c.chunk.length;
      }
      stream.write(out.subarray(0, size)).then(() => done(), done);
    },
    destroy(err, done) {
      stream.close();
      done(err);
    },
  });
}

/**
 * A ByteStream of a TLS socket over `raw`. With an inbox, read() returns
 * decrypted bytes, and null only after the peer's close_notify; every other
 * end rejects. Without one the stream only sends: what the peer sends is dropped.
 */
function streamOver(socket: TLSSocket, raw: Duplex, inbox: Inbox | null): ByteStream {
  let rawError: unknown = null;
  /** Writes not yet taken by the TLS socket. */
  let writing = 0;
  /** The TLS socket failed or closed. */
  let failed = false;
  raw.on("error", (err) => rawError ??= err);
  /** The peer can no longer take what is written. */
  const gone = () => socket.destroyed || rawError !== null || failed || inbox?.lost === true;
  if (inbox === null) socket.on("data", () => {});
  else socket.on("data", (chunk: Uint8Array) => inbox.push(chunk));
  // Deno's node:tls says "end" both for close_notify and for a raw connection that
  // just ended. It decrypts each record as it arrives, so a close_notify ends the
  // TLS stream while the raw one is still open; after a bare FIN the raw side ended first.
  socket.on("end", () => {
    inbox?.finish(
      raw.readableEnded ? new ConnectionLost("TLS stream ended without close_notify") : "ended",
    );
  });
  const fail = (why: ConnectionLost) => {
    failed = true;
    inbox?.finish(why);
  };
  socket.on("error", (err) => fail(lost(err)));
  // A reset raw connection closes the TLS socket with neither "end" nor "error".
  socket.on("close", () => fail(lost(rawError ?? "connection closed without close_notify")));
  return {
    read(buf) {
      if (inbox === null) return Promise.reject(new Error("this TLS stream only sends"));
      return inbox.read(buf);
    },
    write(data) {
      // Deno's node:tls fails a zero-length write (EPERM); there is nothing to send anyway.
      if (data.length === 0) return Promise.resolve();
      if (gone()) return Promise.reject(lost(rawError ?? "connection closed"));
      // No copy: node is done with the chunk when it calls back, and callers wait for that.
      writing++;
      return new Promise((resolve, reject) =>
        socket.write(data, (err) => {
          writing--;
          // Deno's node:tls reports success for writes after the connection was lost.
          if (err || gone()) reject(lost(err ?? rawError ?? "connection closed"));
          else resolve();
        })
      );
    },
    // Bytes still on their way mean the transfer was stopped (ABOR): cut it at
    // once; otherwise close_notify first, so the peer knows the data is complete.
    close: () => endSocket(socket, writing > 0),
  };
}

/** Settles when `socket`'s handshake is done; rejects on failure or timeout. */
function handshake(socket: TLSSocket, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (err: Error | null) => {
      clearTimeout(timer);
      socket.off("secure", secure).off("error", settle).off("end", ended).off("close", closed);
      if (err === null) return resolve();
      socket.destroy();
      reject(err);
    };
    const timer = setTimeout(() => settle(new Error("TLS handshake timed out")), timeoutMs);
    const secure = () => settle(null);
    // A connection reset before its handshake began ends, natively wrapped, with neither.
    const ended = () => settle(new ConnectionLost("connection ended during the TLS handshake"));
    const closed = () => settle(new ConnectionLost("connection closed during the TLS handshake"));
    socket.on("secure", secure).on("error", settle).on("end", ended).on("close", closed);
  });
}

/** Runs the server side of a TLS handshake over `stream`; rejects on failure or timeout. */
export async function secureStream(
  stream: ByteStream,
  context: SecureContext,
  timeoutMs: number,
): Promise<ByteStream> {
  const backlog = new Backlog();
  const raw = duplexOver(stream, backlog);
  raw.on("error", () => {}); // the TLS socket reports the failure
  const socket = new TLSSocket(raw, { isServer: true, secureContext: context });
  await handshake(socket, timeoutMs);
  return streamOver(socket, raw, backlog.inbox);
}

/**
 * A data connection in TLS, closed when the handshake fails. A node socket
 * that only sends (RETR, LIST) is wrapped natively (`secureSending`); all
 * else goes through the stream wrap, the one that tells a complete upload
 * from one cut short.
 */
export async function secureData(
  link: DataLink,
  context: SecureContext,
  sending: boolean,
  timeoutMs: number,
): Promise<ByteStream> {
  try {
    if (sending && link instanceof Socket) return await secureSending(link, context, timeoutMs);
    return await secureStream(plainStream(link), context, timeoutMs);
  } catch (err) {
    if (link instanceof Socket) link.destroy();
    else link.close();
    throw err;
  }
}

/**
 * The TLS wrap over a node:net socket, for a connection that only sends:
 * Deno then encrypts into the socket in native code, with much less CPU per
 * byte. It cannot tell the peer's close_notify from a bare FIN, so it never
 * reads.
 */
async function secureSending(
  raw: Socket,
  context: SecureContext,
  timeoutMs: number,
): Promise<ByteStream> {
  raw.setNoDelay(true);
  const socket = new TLSSocket(raw, { isServer: true, secureContext: context });
  raw.resume(); // accepted paused (node_socket.ts): the TLS layer now takes what it reads
  socket.once("close", () => raw.destroy());
  await handshake(socket, timeoutMs);
  return streamOver(socket, raw, null);
}
