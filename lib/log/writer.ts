/**
 * Log output that never holds up the server: lines go into a bounded queue
 * and one async loop writes them out in batches. When the output is slower
 * than the events (a slow disk, a stuck pipe) the queue fills, further lines
 * are dropped and counted, and the count is written once the output catches
 * up. A failing output is reported once, not once per line. On a terminal
 * the writer can also keep one status line at the bottom, redrawn after
 * every batch.
 */

/** Writes all of `bytes` somewhere; rejects when it cannot. */
export type WriteAll = (bytes: Uint8Array) => Promise<void>;

/** A writer's settings. */
export interface LineWriterOptions {
  /** What the output is, for the failure report (`standard output`, `xferlog /var/log/x`). */
  name: string;
  /** Bytes queued at most; lines beyond are dropped and counted. */
  maxQueuedBytes?: number;
  /** Told once when writing starts failing, and once when it works again. */
  report: (message: string) => void;
}

const encoder = new TextEncoder();

/** Erases the terminal line the cursor is on. */
const CLEAR_LINE = "\r\x1b[K";

/** Queues lines and writes them in the background. */
export class LineWriter {
  #queue: string[] = [];
  #queuedBytes = 0;
  #dropped = 0;
  #reportedDrops = 0;
  #lost = 0;
  #failing = false;
  #draining: Promise<void> | null = null;
  #status: string | null = null;
  #statusShown = false;
  #statusChanged = false;
  readonly #max: number;

  constructor(private target: WriteAll, private readonly opts: LineWriterOptions) {
    this.#max = opts.maxQueuedBytes ?? 1 << 20;
  }

  /** Queues one line (without its newline); never waits. */
  line(text: string): void {
    const size = text.length + 1;
    if (this.#queuedBytes + size > this.#max) {
      this.#dropped++;
      return;
    }
    this.#queue.push(text);
    this.#queuedBytes += size;
    this.#kick();
  }

  /** Sets the status line kept below the log lines (a terminal only); null removes it. */
  status(text: string | null): void {
    if (text === this.#status) return;
    this.#status = text;
    this.#statusChanged = true;
    this.#kick();
  }

  /** Writes to a new target from the next batch on (a reopened file). */
  retarget(target: WriteAll): void {
    this.target = target;
  }

  /** Settles when everything queued so far has been written (or given up on). */
  async flush(): Promise<void> {
    while (this.#draining !== null) await this.#draining;
  }

  /** Lines dropped because the output could not keep up, since the start. */
  get dropped(): number {
    return this.#dropped + this.#lost;
  }

  #kick(): void {
    if (this.#draining !== null) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = null;
      // A line queued after the loop's last look, before this ran, must not wait for the next one.
      if (this.#queue.length > 0 || this.#statusChanged) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 || this.#statusChanged) {
      const lines = this.#queue;
      this.#queue = [];
      this.#queuedBytes = 0;
      if (this.#dropped > this.#reportedDrops) {
        const n = this.#dropped - this.#reportedDrops;
        lines.push(`${n} log line${n === 1 ? "" : "s"} dropped: the output could not keep up`);
        this.#reportedDrops = this.#dropped;
      }
      this.#statusChanged = false;
      let chunk = lines.map((l) => `${l}\n`).join("");
      if (this.#statusShown) chunk = CLEAR_LINE + chunk;
      this.#statusShown = this.#status !== null;
      if (this.#status !== null) chunk += this.#status;
      if (chunk === "") continue;
      try {
        await this.target(encoder.encode(chunk));
        if (this.#failing) {
          this.#failing = false;
          this.opts.report(`${this.opts.name} works again; ${this.#lost} line(s) were lost`);
        }
      } catch (err) {
        this.#lost += lines.length;
        if (!this.#failing) {
          this.#failing = true;
          this.opts.report(
            `${this.opts.name} cannot be written (${
              (err as Error).message
            }); lines are dropped until it can`,
          );
        }
      }
    }
  }
}

/** Writes all of `bytes` through a `write` that may take only part of them. */
export function writeAllWith(write: (b: Uint8Array) => Promise<number>): WriteAll {
  return async (bytes) => {
    for (let off = 0; off < bytes.length;) off += await write(bytes.subarray(off));
  };
}
