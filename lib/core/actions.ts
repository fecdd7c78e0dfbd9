/**
 * The changes a user can make to the tree, with the same rules on every
 * door: the path was resolved and its need checked by the caller; these keep
 * the storage limits current and refuse what the tree forbids. Each throws a
 * `Refused` or `StorageError` when it cannot be done.
 */
import { Refused } from "./refusal.ts";
import type { Core } from "./core.ts";
import { isInside, type Target } from "./vfs.ts";

function existing(t: Target) {
  if (t.stat === null) throw new Refused("not-found");
  return t.stat;
}

/** Makes a folder that does not exist yet. */
export async function makeFolder(core: Core, t: Target): Promise<void> {
  if (t.stat !== null) throw new Refused("exists");
  await core.storage.mkdir(t.realPath);
}

/** Removes an empty folder (hidden entries count: they are there). */
export async function removeFolder(core: Core, t: Target): Promise<void> {
  if (!existing(t).isDir) throw new Refused("not-a-folder");
  await core.storage.rmdir(t.realPath);
}

/** Deletes a file; its bytes leave the usage of every limited folder above it. */
export async function deleteFile(core: Core, t: Target): Promise<void> {
  const stat = existing(t);
  if (stat.isDir) throw new Refused("not-a-file");
  await core.storage.remove(t.realPath);
  await core.quota.adjust(core.quota.foldersOf(t.realPath), -stat.size);
}

/** Moves a file or folder; a move into a limited folder must fit in it, like an upload. */
export async function rename(core: Core, from: Target, to: Target): Promise<void> {
  const stat = existing(from);
  if (to.stat?.isDir) throw new Refused("exists", "a folder of that name exists");
  if (stat.isDir && isInside(from.realPath, to.realPath)) throw new Refused("into-itself");
  const { quota } = core;
  const fromFolders = quota.foldersOf(from.realPath);
  const toFolders = quota.foldersOf(to.realPath);
  const leaving = fromFolders.filter((f) => !toFolders.includes(f));
  const arriving = toFolders.filter((f) => !fromFolders.includes(f));
  // A folder is walked only when its bytes change which limits they count against.
  const crossing = leaving.length + arriving.length > 0;
  let moving = stat.size;
  if (stat.isDir) moving = crossing ? await quota.folderSize(from.realPath) : 0;
  const room = await quota.reserve(arriving, to.stat?.size ?? 0);
  if (!await room.take(moving)) {
    await room.settle(0);
    throw new Refused("quota");
  }
  try {
    await core.storage.rename(from.realPath, to.realPath);
  } catch (err) {
    await room.settle(0);
    throw err;
  }
  await room.settle(moving);
  await quota.adjust(leaving, -moving);
  if (to.stat) await quota.adjust(toFolders, -to.stat.size);
}

/** Sets a file's modification time. */
export async function setTime(core: Core, t: Target, when: Date): Promise<void> {
  if (!existing(t).isFile) throw new Refused("not-a-file");
  await core.storage.setTime(t.realPath, when);
}

/** Sets permission bits of a file or folder; set-id and sticky bits are never set. */
export async function changeMode(core: Core, t: Target, mode: number): Promise<void> {
  existing(t);
  if (!core.storage.capabilities.chmod) throw new Refused("denied", "this storage has no modes");
  await core.storage.chmod(t.realPath, mode & 0o777);
}
