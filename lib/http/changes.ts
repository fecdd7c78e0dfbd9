/**
 * Changes to the tree other than uploads, as WebDAV names them (the page's
 * script sends these too): MKCOL makes a folder, DELETE removes a file or an
 * empty folder, MOVE renames (its `Destination` a path or URL of this
 * server). The core's actions keep the storage limits current.
 */
import { checkNeed } from "../core/access.ts";
import { deleteFile, makeFolder, removeFolder, rename } from "../core/actions.ts";
import type { Target } from "../core/vfs.ts";
import type { UserCall } from "./context.ts";
import { REFUSALS } from "./errors.ts";
import { decodeRequestPath, encodePath } from "./paths.ts";
import { baseHeaders, failureResponse, textResponse } from "./respond.ts";

const noContent = () => new Response(null, { status: 204, headers: baseHeaders() });

/** MKCOL: makes a folder (`modify` was checked); 201. */
export async function makeFolderCall(call: UserCall, t: Target): Promise<Response> {
  await makeFolder(call.door.core, t);
  call.emit({ event: "mkdir", path: t.path });
  return textResponse(201, "Created.", { Location: encodePath(t.path, true) });
}

/** DELETE: removes a file, or a folder that is empty (`modify` was checked); 204. */
export async function deleteCall(call: UserCall, t: Target): Promise<Response> {
  if (t.stat === null) return failureResponse(call, REFUSALS["not-found"]);
  if (t.stat.isDir) await removeFolder(call.door.core, t);
  else await deleteFile(call.door.core, t);
  call.emit({ event: t.stat.isDir ? "rmdir" : "delete", path: t.path });
  return noContent();
}

/** The raw path of a `Destination` header: an absolute path, or a URL naming this host. */
export function destinationPath(value: string, host: string | null): string | null {
  if (value.startsWith("/")) return value.startsWith("//") ? null : value;
  const m = /^https?:\/\/([^/?#]+)(\/[^#]*)?$/i.exec(value);
  if (!m || host === null || m[1].toLowerCase() !== host.toLowerCase()) return null;
  return m[2] ?? "/";
}

/** MOVE: renames `from` (`modify` was checked) to its `Destination`; 201 new, 204 replaced. */
export async function moveCall(call: UserCall, from: Target): Promise<Response> {
  const { req } = call;
  const raw = destinationPath(req.headers.get("destination") ?? "", req.headers.get("host"));
  const dest = raw === null ? null : decodeRequestPath(raw);
  if (dest === null) return textResponse(400, "MOVE needs a Destination on this server.");
  if (from.stat === null) return failureResponse(call, REFUSALS["not-found"]);
  const r = await call.vfs.resolve("/", dest.path);
  if (!r.ok) return failureResponse(call, REFUSALS[r.refusal]);
  const to = r.target;
  const refusal = checkNeed("modify", to);
  if (refusal !== null) return failureResponse(call, REFUSALS[refusal]);
  if (to.stat !== null && req.headers.get("overwrite")?.trim().toUpperCase() === "F") {
    return textResponse(412, "The destination exists.");
  }
  await rename(call.door.core, from, to);
  call.emit({ event: "rename", path: from.path, from: from.path, to: to.path });
  return to.stat === null
    ? textResponse(201, "Created.", { Location: encodePath(to.path, from.stat.isDir) })
    : noContent();
}
