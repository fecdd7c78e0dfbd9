/**
 * The main process's side of logging: events from the server (in its
 * Worker) and from main itself become text lines on standard output or JSON
 * lines on standard error, and transfers also become xferlog lines in a file
 * main opened (it lies outside the sandbox). Every output goes through a
 * `LineWriter`, so no write ever holds up the event loop. `reopenXferlog`
 * is what SIGHUP does after logrotate moved the file.
 */
import { type EventInput, type LogEvent, stamped } from "../core/events.ts";
import { type HostAppendFile, openHostAppend } from "../storage/local.ts";
import { jsonLine, type LogFormat, textLine, xferlogLine } from "./format.ts";
import { LineWriter, writeAllWith } from "./writer.ts";

/** An open xferlog: its path, the open file, and the writer in front of it. */
interface Xferlog {
  path: string;
  file: HostAppendFile;
  writer: LineWriter;
}

/** Formats and writes the events of one run. */
export class EventLog {
  #xferlog: Xferlog | null = null;

  constructor(
    /** `text` on `out`, or `json` on `err`. */
    readonly format: LogFormat,
    /** Standard output: the banner, text log lines and the status line. */
    readonly out: LineWriter,
    /** Standard error: JSON log lines. */
    readonly err: LineWriter,
  ) {}

  /** Whether transfers also go to an xferlog. */
  get hasXferlog(): boolean {
    return this.#xferlog !== null;
  }

  /** Writes one event in the chosen format, and its xferlog line if it is a transfer. */
  emit(e: LogEvent): void {
    if (this.format === "json") this.err.line(jsonLine(e));
    else this.out.line(textLine(e));
    if (this.#xferlog !== null && (e.event === "upload" || e.event === "download")) {
      this.#xferlog.writer.line(xferlogLine({ ...e, event: e.event }));
    }
  }

  /** Stamps and writes an event made by main itself. */
  add(e: EventInput): void {
    this.emit(stamped(e));
  }

  /** Writes a notice. */
  note(message: string): void {
    this.add({ event: "notice", message });
  }

  /** Opens the xferlog for appending; throws a `StorageError` when it cannot. */
  async openXferlog(path: string): Promise<void> {
    const file = await openHostAppend(path);
    const writer = new LineWriter(writeAllWith(file.write), {
      name: `the xferlog ${path}`,
      report: (message) => this.note(message),
    });
    this.#xferlog = { path, file, writer };
  }

  /** Opens the xferlog's path anew (after logrotate moved the file); the old file is closed. */
  async reopenXferlog(): Promise<void> {
    const x = this.#xferlog;
    if (x === null) return;
    let file: HostAppendFile;
    try {
      file = await openHostAppend(x.path);
    } catch (err) {
      this.note(
        `the xferlog ${x.path} could not be reopened (${
          (err as Error).message
        }); still writing to the old file`,
      );
      return;
    }
    const old = x.file;
    x.file = file;
    x.writer.retarget(writeAllWith(file.write));
    await x.writer.flush();
    old.close();
    this.note(`reopened the xferlog ${x.path}`);
  }

  /** Writes out everything queued and closes the xferlog. */
  async close(): Promise<void> {
    if (this.#xferlog !== null) {
      await this.#xferlog.writer.flush();
      this.#xferlog.file.close();
      this.#xferlog = null;
    }
    await Promise.all([this.out.flush(), this.err.flush()]);
  }
}
