/**
 * A folder as a ZIP download: its visible entries (lib/core/entries.ts, so
 * hidden names and links that leave the tree never appear), each resolved
 * through the vfs and checked like a request for it, recursed depth-first
 * and streamed through the ZIP writer in bounded memory. A folder the user
 * may not list or a file they may not read is left out; a link back to a
 * folder being walked is not followed again.
 */
import { checkNeed } from "../core/access.ts";
import { baseName, visibleEntries } from "../core/entries.ts";
import type { Target, Vfs } from "../core/vfs.ts";
import type { UserCall } from "./context.ts";
import { attachment } from "./download.ts";
import { baseHeaders } from "./respond.ts";
import { type ChunkSource, downloadBody, HttpTransfer } from "./transfer.ts";
import { zipChunks, type ZipEntry } from "./zip.ts";

const noFile = () => Promise.reject(new Error("a folder has no content"));

/** The entries below folder `t`, their archive names starting with `prefix`. */
export async function* folderEntries(
  vfs: Vfs,
  t: Target,
  prefix: string,
  walking: ReadonlySet<string> = new Set([t.realPath]),
): AsyncGenerator<ZipEntry> {
  for await (const batch of visibleEntries(vfs, t)) {
    for (const e of batch) {
      const r = await vfs.resolve(t.path, e.name);
      if (!r.ok || r.target.stat === null) continue;
      const child = r.target;
      const stat = r.target.stat;
      const name = prefix === "" ? e.name : `${prefix}/${e.name}`;
      if (stat.isDir) {
        if (checkNeed("list", child) !== null || walking.has(child.realPath)) continue;
        yield { name, dir: true, mtime: stat.mtime, size: 0, open: noFile };
        yield* folderEntries(vfs, child, name, new Set([...walking, child.realPath]));
      } else if (stat.isFile && checkNeed("read", child) === null) {
        const storage = vfs.storage;
        yield {
          name,
          dir: false,
          mtime: stat.mtime,
          size: stat.size,
          open: () => storage.openRead(child.realPath, 0),
        };
      }
    }
  }
}

/** GET of `folder/?zip`: the folder (it exists, `list` was checked) as a streamed archive. */
export function sendFolderZip(call: UserCall, t: Target): Response {
  const top = t.path !== "/"
    ? baseName(t.path)
    : call.who.user === "anonymous"
    ? "files"
    : call.who.user;
  const headers = baseHeaders({
    "Content-Type": "application/zip",
    "Content-Disposition": attachment(`${top}.zip`),
    "Cache-Control": "private, no-store",
  });
  if (call.req.method === "HEAD") return new Response(null, { headers });
  async function* all(): AsyncGenerator<ZipEntry> {
    yield { name: top, dir: true, mtime: t.stat?.mtime ?? new Date(), size: 0, open: noFile };
    yield* folderEntries(call.vfs, t, top);
  }
  const chunks = zipChunks(all());
  const source: ChunkSource = {
    next: async () => {
      const r = await chunks.next();
      return r.done ? null : r.value;
    },
    close: () => void chunks.return(undefined), // closes the file being read, if any
  };
  const transfer = new HttpTransfer(call, "download", t.path);
  return new Response(downloadBody(call, transfer, source), { headers });
}
