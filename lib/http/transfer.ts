/**
 * A transfer of the HTTP door: counted in the server's activity while it
 * runs, logged once when it ends (ok, aborted, failed, quota); and the
 * response body of a download, pulled one chunk per read so memory stays
 * flat whatever the size.
 */
import type { Moving } from "../core/activity.ts";
import type { TransferStatus } from "../core/events.ts";
import type { Call } from "./context.ts";
import { StreamBroke } from "./errors.ts";

/** One upload or download, from its start to its one log event. */
export class HttpTransfer implements Moving {
  bytes = 0;
  readonly #startedAt = Date.now();
  readonly #uncount: () => void;
  #ended = false;

  constructor(
    private readonly call: Call,
    private readonly event: "upload" | "download",
    private readonly path: string,
  ) {
    this.#uncount = call.door.core.activity.begin(this);
  }

  /** Ends the transfer (only the first call counts) and logs how. */
  end(status: TransferStatus): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#uncount();
    this.call.emit({
      event: this.event,
      path: this.path,
      bytes: this.bytes,
      duration_ms: Date.now() - this.#startedAt,
      status,
      mode: "binary",
    });
  }
}

/** Where a download's chunks come from. */
export interface ChunkSource {
  /** The next chunk, or null at the end; throws when the source fails. */
  next(): Promise<Uint8Array | null>;
  /** Releases the source (a file handle); called once, however the download ends. */
  close(): void;
}

/**
 * A response body pulled from `source`, one chunk per read. The transfer
 * ends ok at the end, aborted when the client goes away, failed (one log
 * line, then a broken stream the client notices) when the source fails.
 */
export function downloadBody(
  call: Call,
  t: HttpTransfer,
  source: ChunkSource,
): ReadableStream<Uint8Array> {
  let finished = false;
  const finish = (status: TransferStatus) => {
    if (finished) return;
    finished = true;
    source.close();
    t.end(status);
  };
  return new ReadableStream<Uint8Array>({
    async pull(c) {
      let chunk: Uint8Array | null;
      try {
        chunk = await source.next();
      } catch (err) {
        if (finished) return; // cancelled: the source was closed under this read
        call.log(`download of ${call.path.path} failed: ${(err as Error).message}`);
        finish("failed");
        return c.error(new StreamBroke());
      }
      if (finished) return;
      if (chunk === null) {
        finish("ok");
        return c.close();
      }
      t.bytes += chunk.length;
      c.enqueue(chunk);
    },
    cancel: () => finish("aborted"),
  }, { highWaterMark: 0 });
}
