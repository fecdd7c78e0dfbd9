/**
 * Receiving a file without ever tearing the one it replaces: bytes go to a
 * hidden temporary beside the target, renamed over it only when the transfer
 * completes. APPE copies the existing file into the temporary first, then
 * appends (copy-then-append), so a failed append leaves the original as it was.
 */
import { dirname, join } from "node:path";
import type { Reservation } from "./quota.ts";
import type { TransferIo } from "../ftp/transfer.ts";
import { filesBelow } from "../storage/walk.ts";

const TEMP_PREFIX = ".xxftp-part-";

/** Whether a file name is one of our upload temporaries. */
export function isUploadTemp(name: string): boolean {
  return name.startsWith(TEMP_PREFIX);
}

/** How an upload ended. */
export type UploadResult =
  | { kind: "done"; bytes: number }
  | { kind: "quota" }
  | { kind: "aborted" }
  | { kind: "failed"; error: unknown };

/** What an upload writes and how. */
export interface UploadPlan {
  /** The real path of the file to create or replace. */
  target: string;
  append: boolean;
  /** Size of the file being replaced or appended to (0 when new). */
  existingSize: number;
  quota: Reservation;
}

/** Streams the data connection into `plan.target` through a temporary; settles the quota either way. */
export async function receiveFile(io: TransferIo, plan: UploadPlan): Promise<UploadResult> {
  const temp = join(dirname(plan.target), `${TEMP_PREFIX}${crypto.randomUUID()}`);
  let result = await writeTemp(io, temp, plan).catch((error): UploadResult =>
    io.signal.aborted ? { kind: "aborted" } : { kind: "failed", error }
  );
  if (result.kind === "done") result = await settled(result, io.signal);
  if (result.kind === "done") {
    try {
      Deno.renameSync(temp, plan.target); // metadata only: sync is ~10x cheaper here
    } catch (error) {
      result = { kind: "failed", error };
    }
  }
  if (result.kind !== "done") await Deno.remove(temp).catch(() => {});
  const bytes = result.kind === "done" ? result.bytes : 0;
  plan.quota.settle(result.kind !== "done" ? 0 : plan.append ? bytes : bytes - plan.existingSize);
  return result;
}

/**
 * In stream mode the end of an upload looks the same as a client that died
 * mid-way: both close the data connection. A dead client closes its control
 * connection at the same moment, which aborts the transfer; so wait a moment
 * for that before committing.
 */
const SETTLE_MS = 15;

function settled(done: UploadResult, signal: AbortSignal): Promise<UploadResult> {
  return new Promise((resolve) =>
    setTimeout(() => resolve(signal.aborted ? { kind: "aborted" } : done), SETTLE_MS)
  );
}

async function writeTemp(io: TransferIo, temp: string, plan: UploadPlan): Promise<UploadResult> {
  if (plan.append && plan.existingSize > 0) await Deno.copyFile(plan.target, temp);
  using file = Deno.openSync(temp, { write: true, create: true, append: true });
  const { buffer, transfer } = io;
  const start = transfer.bytes;
  for (;;) {
    if (io.signal.aborted) return { kind: "aborted" };
    const n = await io.data.read(buffer);
    if (n === null) return { kind: "done", bytes: transfer.bytes - start };
    if (!plan.quota.take(n)) return { kind: "quota" };
    let off = await file.write(n === buffer.length ? buffer : buffer.subarray(0, n));
    while (off < n) off += await file.write(buffer.subarray(off, n));
    transfer.bytes += n;
  }
}

/** Removes temporaries a crashed server left behind, anywhere under `root`. */
export async function removeStaleTemps(root: string): Promise<number> {
  let removed = 0;
  for await (const f of filesBelow(root)) {
    if (!isUploadTemp(f.name)) continue;
    await Deno.remove(f.path).catch(() => {});
    removed++;
  }
  return removed;
}
