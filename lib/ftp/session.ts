/**
 * One control connection's state: who is logged in, where they are, the
 * pending REST/RNFR, the data channel, and the running transfer, which runs
 * beside the command loop (lib/ftp/control.ts) so ABOR and STAT are answered
 * while data flows.
 */
import { asciiStream } from "./ascii.ts";
import type { ServerContext } from "./context.ts";
import { DataChannel } from "./data_channel.ts";
import { replyForError } from "./errors.ts";
import { LineReader } from "./line_reader.ts";
import { afterMark, formatReply, replies, type Reply, reply } from "./replies.ts";
import { type ByteStream, ConnectionLost } from "../net/stream.ts";
import { plainStream } from "../net/node_socket.ts";
import { secureData, secureStream } from "./tls.ts";
import { Transfer, type TransferWork } from "./transfer.ts";
import type { EventInput, TransferStatus } from "../core/events.ts";
import type { Target, Vfs } from "../core/vfs.ts";

/** How long a closing session waits for its last reply to be taken. */
const LAST_REPLY_MS = 2000;

/** How long a TLS handshake may take. */
const HANDSHAKE_MS = 15_000;

/** Encodes replies; it keeps no state, so one serves every session. */
const encoder = new TextEncoder();

/** The state of one logged-in (or logging-in) client. */
export class Session {
  /** The name given by USER, awaiting PASS. */
  pendingUser: string | null = null;
  /** The logged-in user, and their view of the tree. */
  user: string | null = null;
  vfs: Vfs | null = null;
  cwd = "/";
  /** Set by REST for the one command after it. */
  restOffset = 0;
  renameFrom: Target | null = null;
  /** TYPE I; TYPE A (converting line ends) until the client says otherwise, as RFC 959 wants. */
  binary = false;
  /** The control connection runs over TLS. */
  secure = false;
  /** Data connections run over TLS (PROT P). */
  protectData = false;
  /** Made at the first data command: most sessions idle without one. */
  #data: DataChannel | null = null;
  /** When the connection was accepted. */
  readonly connectedAt = Date.now();
  /** When the login time limit started: at connect, and again when USER ended a login. */
  loginClockFrom = Date.now();
  lastActivity = Date.now();
  transfer: Transfer | null = null;
  /** Commands received while not logged in (the pre-login cap). */
  commandsBeforeLogin = 0;
  #closing = false;
  #closed = false;
  #sending: Promise<void> = Promise.resolve();
  /** Reads command lines; replaced by a TLS one after AUTH TLS. */
  reader: LineReader;

  constructor(
    readonly id: number,
    /** The control connection; replaced by its TLS form after AUTH TLS. */
    public control: ByteStream,
    readonly clientHost: string,
    readonly localHost: string,
    readonly ctx: ServerContext,
  ) {
    this.reader = new LineReader(control);
  }

  /** The session's data-connection state. */
  get data(): DataChannel {
    this.#data ??= new DataChannel(this.clientHost, this.localHost, this.ctx.data);
    return this.#data;
  }

  /** Moves the control connection to TLS (after the 234 reply, or at once for implicit FTPS). */
  async secureControl(): Promise<void> {
    if (this.ctx.tls === null) throw new Error("TLS is not configured");
    this.control = await secureStream(this.control, this.ctx.tls.context, HANDSHAKE_MS);
    this.reader = new LineReader(this.control);
    this.secure = true;
  }

  /**
   * Ends a login (USER after login): commands need a login again, and the
   * login time limit and the pre-login command cap start over, as for a new
   * connection. Not logged in, it changes nothing, so USER cannot stretch
   * either limit. Failed logins count per address (LoginGuard), not here.
   */
  logout(): void {
    if (this.user === null) return;
    this.log("logged out by USER");
    this.user = null;
    this.vfs = null;
    this.cwd = "/";
    this.loginClockFrom = Date.now();
    this.commandsBeforeLogin = 0;
  }

  /** The user's file system; path handlers run only after login, so it is there. */
  get fs(): Vfs {
    if (this.vfs === null) throw new Error("no file system before login");
    return this.vfs;
  }

  /** Logs an event of this session (its number, address, user and protocol filled in). */
  emit(e: EventInput): void {
    const proto = this.secure ? "ftps" : "ftp";
    this.ctx.core.emit({ session: this.id, ip: this.clientHost, user: this.user, proto, ...e });
  }

  /** Logs how a transfer of `path` ended. */
  transferEnded(event: "upload" | "download", path: string, t: Transfer, status: TransferStatus) {
    const mode = this.binary ? "binary" : "ascii";
    const duration = Date.now() - t.startedAt;
    this.emit({ event, path, bytes: t.bytes, duration_ms: duration, status, mode });
  }

  /** Logs a line of free text tagged with this session. */
  log(message: string): void {
    this.emit({ event: "notice", message });
  }

  /** Whether the session has been closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a reply; replies never interleave on the wire. */
  send(r: Reply): Promise<void> {
    const bytes = encoder.encode(formatReply(r));
    this.#sending = this.#sending.then(() => this.control.write(bytes)).catch(() => this.close());
    return this.#sending;
  }

  /**
   * Sends a last reply (if any) and closes everything the session owns. A
   * client that does not read gets `LAST_REPLY_MS` for that reply, no more.
   */
  async close(last?: Reply): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (last) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const gaveUp = new Promise<void>((r) => timer = setTimeout(r, LAST_REPLY_MS));
      await Promise.race([this.send(last), gaveUp]);
      clearTimeout(timer);
    }
    this.#closed = true;
    this.transfer?.abort.abort();
    this.#data?.end();
    this.control.close();
  }

  /**
   * Starts a transfer beside the command loop: 150, the data connection, the
   * work, then its reply. Returns at once; ABOR stops it through the signal.
   * `bytes`, when known, lets a small transfer take a small buffer.
   */
  startTransfer(
    what: string,
    direction: "send" | "receive",
    work: TransferWork,
    bytes?: number,
  ): void {
    if (this.ctx.tls?.required && !this.protectData) {
      void this.send(reply(521, "Data connections must be protected: send PBSZ 0 and PROT P."));
      return;
    }
    const t = new Transfer(what);
    const counted = this.ctx.core.activity.begin(t);
    const { abort } = t;
    t.done = (async () => {
      await this.send(
        reply(150, `Opening ${this.binary ? "BINARY" : "ASCII"} mode data connection for ${what}.`),
      );
      const data = await this.#openData(abort.signal, direction).catch((err) =>
        replyForError(err, (line) => this.log(`${what}: ${line}`))
      );
      if ("code" in data) {
        await this.send(afterMark(data));
        return;
      }
      t.startedAt = Date.now();
      const onAbort = () => data.close();
      abort.signal.addEventListener("abort", onAbort);
      if (abort.signal.aborted) data.close(); // stopped while the data connection was opening
      let result: Reply;
      const buffer = this.ctx.buffers.take(bytes);
      try {
        const stream = this.binary ? data : asciiStream(data);
        result = await work({ data: stream, signal: abort.signal, buffer, transfer: t });
      } catch (err) {
        result = abort.signal.aborted
          ? replies.aborted
          : replyForError(err, (line) => this.log(`${what}: ${line}`));
      } finally {
        abort.signal.removeEventListener("abort", onAbort);
        data.close();
        this.ctx.buffers.give(buffer);
      }
      if (abort.signal.aborted) this.log(`${what}: aborted after ${t.bytes} bytes`);
      if (!this.#closed) {
        await this.send(abort.signal.aborted ? replies.aborted : afterMark(result));
      }
    })().finally(() => {
      counted();
      if (this.transfer === t) this.transfer = null;
      this.lastActivity = Date.now();
    });
    this.transfer = t;
  }

  /** Whether data connections go in TLS (PROT P, with TLS configured). */
  get dataInTls(): boolean {
    return this.protectData && this.ctx.tls !== null;
  }

  /** The data connection, in TLS when PROT P is in force (see `secureData`). */
  async #openData(
    signal: AbortSignal,
    direction: "send" | "receive",
  ): Promise<ByteStream | Reply> {
    const opened = await this.data.open(signal);
    if ("code" in opened) return opened;
    const tls = this.protectData ? this.ctx.tls : null;
    if (tls === null) return plainStream(opened);
    try {
      return await secureData(opened, tls.dataContext, direction === "send", HANDSHAKE_MS);
    } catch (err) {
      if (err instanceof ConnectionLost) throw err; // gone before its handshake: 426, as in clear text
      this.emit({ event: "tls", channel: "data", message: (err as Error).message });
      return reply(425, "Can't open data connection: TLS negotiation failed.");
    }
  }
}
