/**
 * Receiving a file without ever tearing the one it replaces, for every door:
 * the bytes go to a storage upload that becomes visible only on commit. A
 * restart keeps the first N bytes of the old file (APPE keeps all of it), and
 * every byte is reserved against the storage limits as it arrives.
 */
import type { Storage, UploadWriter } from "../storage/storage.ts";
import type { QuotaBook, Reservation } from "./quota.ts";
import { Refused } from "./refusal.ts";

/** How an upload ended. */
export type UploadResult =
  | { kind: "done"; bytes: number }
  | { kind: "quota"; bytes: number }
  | { kind: "aborted"; bytes: number }
  | { kind: "failed"; bytes: number; error: unknown };

/** Where the bytes come from: a data connection, an HTTP body. */
export interface UploadSource {
  /** Reads into `buf`; the count read, or null at the (clean) end. Throws when the sender broke off. */
  read(buf: Uint8Array): Promise<number | null>;
  /** Aborted when the client gave up (ABOR, a closed session). */
  signal: AbortSignal;
  /** Reused for every chunk. */
  buffer: Uint8Array;
  /** Told of every chunk received (progress, stall detection). */
  progress(n: number): void;
  /**
   * Waited for after the last byte, before the file is published: a transport
   * whose clean end looks like a dead client's uses it to look once more.
   */
  settle?(): Promise<void>;
}

/** What an upload writes. */
export interface UploadPlan {
  /** The storage path of the file to create or replace. */
  target: string;
  /** Size of the file there now (0 when there is none). */
  existingSize: number;
  /** Bytes of the old file that stay at the start: 0 (replace), a restart offset, or its size (append). */
  keep: number;
}

/**
 * Streams `src` into `plan.target`. Refuses (throws) a restart past the end
 * and a misconfigured limit before anything is written; settles the quota
 * whichever way the upload ends.
 */
export async function receiveFile(
  storage: Storage,
  quota: QuotaBook,
  src: UploadSource,
  plan: UploadPlan,
): Promise<UploadResult> {
  if (plan.keep > plan.existingSize) throw new Refused("past-end");
  // Only growth beyond the old file counts: it goes when the new one lands.
  const room = await quota.reserve(quota.foldersOf(plan.target), plan.existingSize - plan.keep);
  const moved = { bytes: 0 };
  let result: UploadResult;
  try {
    const writer = await storage.createUpload(plan.target, plan.keep);
    try {
      result = await copy(src, writer, room, moved);
      if (result.kind === "done") {
        await src.settle?.();
        if (src.signal.aborted) result = { kind: "aborted", bytes: moved.bytes };
      }
      if (result.kind === "done") await writer.commit();
    } finally {
      await writer.abort();
    }
  } catch (error) {
    result = src.signal.aborted
      ? { kind: "aborted", bytes: moved.bytes }
      : { kind: "failed", bytes: moved.bytes, error };
  }
  await room.settle(result.kind === "done" ? plan.keep + moved.bytes - plan.existingSize : 0);
  return result;
}

/** Copies `src` into `writer` until its end, taking room for every chunk first. */
async function copy(
  src: UploadSource,
  writer: UploadWriter,
  room: Reservation,
  moved: { bytes: number },
): Promise<UploadResult> {
  const { buffer } = src;
  for (;;) {
    if (src.signal.aborted) return { kind: "aborted", bytes: moved.bytes };
    const n = await src.read(buffer);
    if (n === null) return { kind: "done", bytes: moved.bytes };
    const took = room.take(n); // a promise only when a shared limit must claim more room
    if (took !== true && !(await took)) return { kind: "quota", bytes: moved.bytes };
    await writer.write(n === buffer.length ? buffer : buffer.subarray(0, n));
    moved.bytes += n;
    src.progress(n);
  }
}
