/**
 * GET of a folder: its visible entries (lib/core/entries.ts), folders first,
 * as the listing page for a browser or one name per line for curl. At most
 * `MAX_LISTED` entries are gathered, so a huge folder costs bounded memory.
 */
import { visibleEntries } from "../core/entries.ts";
import type { Target } from "../core/vfs.ts";
import type { UserCall } from "./context.ts";
import { type ListedEntry, listingPage } from "./pages.ts";
import { baseHeaders, htmlResponse, textResponse } from "./respond.ts";

/** Most entries a listing shows. */
export const MAX_LISTED = 5000;

const collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });

/** Folders first, then by name as people sort them (`file2` before `file10`). */
export function byFolderThenName(a: ListedEntry, b: ListedEntry): number {
  if (a.dir !== b.dir) return a.dir ? -1 : 1;
  return collator.compare(a.name, b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
}

/** Up to `MAX_LISTED` visible entries of folder `t`, sorted; and whether there were more. */
async function gather(call: UserCall, t: Target) {
  const entries: ListedEntry[] = [];
  let truncated = false;
  outer: for await (const batch of visibleEntries(call.vfs, t)) {
    for (const e of batch) {
      if (entries.length >= MAX_LISTED) {
        truncated = true;
        break outer;
      }
      entries.push({ name: e.name, dir: e.stat.isDir, size: e.stat.size, mtime: e.stat.mtime });
    }
  }
  entries.sort(byFolderThenName);
  return { entries, truncated };
}

/** GET or HEAD of a folder (it exists, `list` was checked). */
export async function sendListing(call: UserCall, t: Target): Promise<Response> {
  if (call.req.method === "HEAD") {
    const type = call.html ? "text/html; charset=utf-8" : "text/plain; charset=utf-8";
    return new Response(null, { headers: baseHeaders({ "Content-Type": type }) });
  }
  const { entries, truncated } = await gather(call, t);
  if (!call.html) {
    const lines = entries.map((e) => e.dir ? `${e.name}/` : e.name);
    if (truncated) lines.push(`(only the first ${MAX_LISTED} entries are listed)`);
    return textResponse(200, lines.join("\n"));
  }
  const { who } = call;
  return htmlResponse(
    200,
    listingPage({
      path: t.path,
      user: who.user,
      via: who.via,
      csrf: who.session?.csrf ?? null,
      entries,
      truncated,
      canWrite: t.perms.has("write"),
      canModify: t.perms.has("modify"),
    }),
  );
}
