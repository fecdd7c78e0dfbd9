/**
 * The visible entries of a folder, the same for every door: hidden names
 * and links that leave the tree are left out, and virtual directories are
 * added, shadowing real entries of the same name. Streamed in batches, so a
 * huge folder is never held whole.
 */
import { join } from "node:path";
import type { Stat } from "../storage/storage.ts";
import type { Target, Vfs } from "./vfs.ts";

/** What a listing shows of one entry. */
export interface Entry {
  /** The name as listed (never a path). */
  name: string;
  stat: Stat;
}

/** The last part of a user path (`/` for the root). */
export function baseName(path: string): string {
  return path === "/" ? "/" : path.slice(path.lastIndexOf("/") + 1);
}

/**
 * Batches of the visible entries of a folder target; a file target lists as
 * itself. The target must exist.
 */
export async function* visibleEntries(vfs: Vfs, t: Target): AsyncGenerator<Entry[]> {
  if (t.stat === null) return;
  if (!t.stat.isDir) {
    yield [{ name: baseName(t.path), stat: t.stat }];
    return;
  }
  const virtuals = await vfs.virtualsIn(t.realPath);
  const shadowed = new Set(virtuals.map((v) => v.name));
  const links: string[] = [];
  for await (const batch of vfs.storage.list(t.realPath)) {
    const entries: Entry[] = [];
    for (const e of batch) {
      if (e.name.startsWith(".") || (shadowed.size > 0 && shadowed.has(e.name))) continue;
      if (e.link) links.push(e.name);
      else if (e.stat !== null) entries.push({ name: e.name, stat: e.stat });
    }
    if (entries.length > 0) yield entries;
  }
  const more: Entry[] = [];
  for (const link of links) {
    const path = join(t.realPath, link);
    if (!await vfs.linkStaysInside(t.base, path)) continue;
    const stat = await vfs.storage.stat(path).catch(() => null);
    if (stat) more.push({ name: link, stat });
  }
  for (const v of virtuals) {
    const r = await vfs.resolve(t.path, v.name);
    if (r.ok && r.target.stat?.isDir) more.push({ name: v.name, stat: r.target.stat });
  }
  if (more.length > 0) yield more;
}
