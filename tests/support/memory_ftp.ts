/**
 * The FTP door over an in-memory byte stream: a real Session and command
 * loop over a real core and storage, with no socket on the control side, for
 * fast table-driven tests of the door.
 */
import { createCore } from "../../lib/core/core.ts";
import { BufferPool } from "../../lib/net/buffers.ts";
import { runSession } from "../../lib/ftp/control.ts";
import { PassivePorts } from "../../lib/ftp/passive_ports.ts";
import { Session } from "../../lib/ftp/session.ts";
import type { ByteStream } from "../../lib/net/stream.ts";
import { LocalStorage } from "../../lib/storage/local.ts";

/** A control connection held in memory: the test writes lines and reads replies. */
export class MemoryFtp implements AsyncDisposable {
  #toServer: Uint8Array[] = [];
  #wakeServer: (() => void) | null = null;
  #fromServer = "";
  #wakeClient: (() => void) | null = null;
  #closed = false;
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder();
  readonly done: Promise<void>;
  /** What the server logged. */
  readonly log: string[] = [];

  constructor(root: string) {
    const stream: ByteStream = {
      read: async (buf) => {
        while (this.#toServer.length === 0 && !this.#closed) {
          await new Promise<void>((r) => this.#wakeServer = r);
        }
        const chunk = this.#toServer.shift();
        if (chunk === undefined) return null;
        const n = Math.min(buf.length, chunk.length);
        buf.set(chunk.subarray(0, n));
        if (n < chunk.length) this.#toServer.unshift(chunk.subarray(n));
        return n;
      },
      write: (data) => {
        this.#fromServer += this.#decoder.decode(data);
        this.#wakeClient?.();
        return Promise.resolve();
      },
      close: () => {
        this.#closed = true;
        this.#wakeServer?.();
        this.#wakeClient?.();
      },
    };
    const opts = {
      root,
      allowOutside: [],
      share: false,
      readOnly: false,
      maxLoginFailures: 5,
      banSeconds: 60,
      loginFailDelayMs: 0,
      maxConnections: 10,
      maxPerIp: 10,
    };
    const core = createCore(new LocalStorage(), opts, (l) => this.log.push(l));
    const ctx = {
      core,
      data: { timeoutMs: 1000, ports: new PassivePorts(null), publicHost: null },
      buffers: new BufferPool(1 << 16, 1),
      tls: null,
    };
    this.done = runSession(new Session(1, stream, "127.0.0.1", "127.0.0.1", ctx), () => {});
  }

  /** Sends raw bytes, as a client would. */
  sendBytes(bytes: Uint8Array): void {
    this.#toServer.push(bytes);
    this.#wakeServer?.();
  }

  /** The next whole reply (multi-line aware), as `code text`; "closed" when the server closed. */
  async reply(): Promise<string> {
    for (let i = 0; i < 1000; i++) {
      const m = /^(\d{3}) [^\r\n]*\r\n/m.exec(this.#fromServer);
      if (m) {
        const end = m.index + m[0].length;
        const text = this.#fromServer.slice(0, end).trimEnd();
        this.#fromServer = this.#fromServer.slice(end);
        return text;
      }
      if (this.#closed) return "closed";
      await new Promise<void>((r) => this.#wakeClient = r);
    }
    throw new Error("no reply");
  }

  /** Sends a command line and returns its reply. */
  async cmd(line: string): Promise<string> {
    this.sendBytes(this.#encoder.encode(line + "\r\n"));
    return await this.reply();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.#closed = true;
    this.#wakeServer?.();
    await this.done;
  }
}
