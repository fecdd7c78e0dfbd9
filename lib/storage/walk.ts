/** Walking a folder tree without following links. */
import { join } from "node:path";

/**
 * Yields the path and name of every regular file below `root` (links not
 * followed; folders for which `enter(name)` is false skipped; unreadable or
 * vanished folders skipped).
 */
export async function* filesBelow(
  root: string,
  enter: (name: string) => boolean = () => true,
): AsyncGenerator<{ path: string; name: string }> {
  const pending = [root];
  for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
    const entries: Deno.DirEntry[] = [];
    try {
      for await (const e of Deno.readDir(dir)) entries.push(e);
    } catch {
      continue;
    }
    for (const e of entries) {
      const path = join(dir, e.name);
      if (e.isDirectory && enter(e.name)) pending.push(path);
      else if (e.isFile) yield { path, name: e.name };
    }
  }
}
