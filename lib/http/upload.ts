/**
 * PUT of a file, streamed through the core's `receiveFile`: never held whole,
 * published only when the whole body has arrived (a body that ends short of
 * its length, or a connection reset, publishes nothing and leaves the old
 * file as it was), and reserved against the storage limits as it arrives.
 */
import type { TransferStatus } from "../core/events.ts";
import { receiveFile, type UploadResult, type UploadSource } from "../core/upload.ts";
import type { Target } from "../core/vfs.ts";
import type { UserCall } from "./context.ts";
import { REFUSALS } from "./errors.ts";
import { encodePath } from "./paths.ts";
import { baseHeaders, failureResponse, textResponse } from "./respond.ts";
import { HttpTransfer } from "./transfer.ts";

/** Bytes handed to the storage per write. */
const BUFFER = 64 * 1024;

/**
 * An upload source over a request body. A body that breaks off (the client
 * reset, or closed before its `Content-Length`) aborts the source, so the core
 * counts it as an abandoned upload rather than an error of ours.
 */
export function bodySource(
  body: ReadableStream<Uint8Array> | null,
  progress: (n: number) => void,
): UploadSource {
  const gaveUp = new AbortController();
  const reader = body?.getReader() ?? null;
  let pending: Uint8Array = new Uint8Array(0);
  return {
    signal: gaveUp.signal,
    buffer: new Uint8Array(BUFFER),
    progress,
    async read(buf) {
      if (reader === null) return null;
      while (pending.length === 0) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (err) {
          gaveUp.abort();
          throw err;
        }
        if (next.done) return null;
        pending = next.value;
      }
      const n = Math.min(buf.length, pending.length);
      buf.set(pending.subarray(0, n));
      pending = pending.subarray(n);
      return n;
    },
  };
}

/** How each end of an upload is logged. */
const STATUS: Record<UploadResult["kind"], TransferStatus> = {
  done: "ok",
  quota: "quota",
  aborted: "aborted",
  failed: "failed",
};

/** The declared body length, or null when there is none (chunked) or it is malformed. */
function declaredLength(req: Request): number | null {
  const value = req.headers.get("content-length");
  return value !== null && /^\d{1,15}$/.test(value) ? Number(value) : null;
}

/** PUT of a file (`create` was checked): 201 new, 204 replaced, 413/507 past a limit. */
export async function putFile(call: UserCall, t: Target): Promise<Response> {
  const { core } = call.door;
  if (call.path.slash || t.path === "/") return textResponse(400, "PUT needs a file name.");
  if (t.stat !== null && !t.stat.isFile) return failureResponse(call, REFUSALS["not-a-file"]);
  const parent = await call.vfs.resolve(t.path, "..");
  if (!parent.ok || !parent.target.stat?.isDir) {
    return textResponse(409, "The folder to put it in does not exist.");
  }
  const existingSize = t.stat?.size ?? 0;
  const folders = core.quota.foldersOf(t.realPath);
  const length = declaredLength(call.req);
  if (length !== null) {
    // Refused before a byte is read when the declared length alone cannot fit.
    const room = await core.quota.reserve(folders, existingSize);
    const fits = room.take(length);
    room.settle(0);
    if (!fits) return textResponse(413, "Too large for the storage limit here.");
  }
  const transfer = new HttpTransfer(call, "upload", t.path);
  const source = bodySource(call.req.body, (n) => transfer.bytes += n);
  const plan = { target: t.realPath, existingSize, keep: 0 };
  const result = await receiveFile(core.storage, core.quota, source, plan);
  transfer.end(STATUS[result.kind]);
  switch (result.kind) {
    case "done":
      if (t.stat !== null) return new Response(null, { status: 204, headers: baseHeaders() });
      return textResponse(201, "Created.", { Location: encodePath(t.path) });
    case "quota":
      return failureResponse(call, REFUSALS.quota, { Connection: "close" });
    case "aborted":
      return textResponse(400, "The upload broke off; nothing was stored.", {
        Connection: "close",
      });
    case "failed":
      throw result.error;
  }
}
