/**
 * A raw control connection for tests that must send what no well-behaved
 * client would (attacks, garbage, exact verbs). It reads whole replies.
 */

/** One reply as read off the wire. */
export interface RawReply {
  code: number;
  text: string;
}

/** A raw FTP control connection. */
export class RawClient {
  #buf = "";
  #decoder = new TextDecoder();
  #encoder = new TextEncoder();

  /** The first reply: 220, or 421 when the server refused the connection. */
  greeting: RawReply = { code: 0, text: "" };

  private constructor(readonly conn: Deno.TcpConn) {}

  /** Connects to the server (at `hostname`) and reads the greeting; `using` closes it. */
  static async open(port: number, hostname = "127.0.0.1"): Promise<RawClient> {
    const c = new RawClient(await Deno.connect({ hostname, port }));
    c.greeting = await c.reply();
    return c;
  }

  /** Reads one complete reply (multi-line aware); code 0 when the server closed. */
  async reply(timeoutMs = 15000): Promise<RawReply> {
    const deadline = Date.now() + timeoutMs;
    const chunk = new Uint8Array(65536);
    for (;;) {
      const parsed = this.#parse();
      if (parsed) return parsed;
      if (Date.now() > deadline) throw new Error(`no reply; have ${JSON.stringify(this.#buf)}`);
      const timer = setTimeout(() => this.conn.close(), Math.max(1, deadline - Date.now()));
      let n: number | null = null;
      try {
        n = await this.conn.read(chunk);
      } catch {
        n = null;
      } finally {
        clearTimeout(timer);
      }
      if (n === null) return { code: 0, text: this.#buf };
      this.#buf += this.#decoder.decode(chunk.subarray(0, n), { stream: true });
    }
  }

  #parse(): RawReply | null {
    const lines = this.#buf.split("\r\n");
    if (lines.length < 2) return null;
    const first = /^(\d{3})([ -])/.exec(lines[0]);
    if (!first) return null;
    for (let i = 0; i < lines.length - 1; i++) {
      if (first[2] === " " || lines[i].startsWith(`${first[1]} `)) {
        const text = lines.slice(0, i + 1).join("\n");
        this.#buf = lines.slice(i + 1).join("\r\n");
        return { code: Number(first[1]), text };
      }
    }
    return null;
  }

  /** Sends raw bytes or a line (CRLF added to strings). */
  async send(line: string | Uint8Array): Promise<void> {
    const bytes = typeof line === "string" ? this.#encoder.encode(line + "\r\n") : line;
    let off = 0;
    while (off < bytes.length) off += await this.conn.write(bytes.subarray(off));
  }

  /** Sends a command and reads its reply. */
  async cmd(line: string): Promise<RawReply> {
    await this.send(line);
    return await this.reply();
  }

  /** Logs in with USER/PASS. */
  async login(user = "anonymous", password = "guest"): Promise<RawReply> {
    await this.cmd(`USER ${user}`);
    return await this.cmd(`PASS ${password}`);
  }

  close(): void {
    try {
      this.conn.close();
    } catch {
      // already closed, by the server or by the test
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Reads a data connection to its end. */
export async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  return new Uint8Array(await new Response(conn.readable).arrayBuffer());
}

/** Opens a passive data connection with EPSV; returns the connected socket. */
export async function epsvConnect(c: RawClient): Promise<Deno.TcpConn> {
  return await Deno.connect({ hostname: "127.0.0.1", port: await epsvPort(c) });
}

/** Sends EPSV and returns the announced port. */
export async function epsvPort(c: RawClient): Promise<number> {
  const r = await c.cmd("EPSV");
  const port = Number(/\(\|\|\|(\d+)\|\)/.exec(r.text)?.[1]);
  if (!port) throw new Error(`EPSV failed: ${r.text}`);
  return port;
}
