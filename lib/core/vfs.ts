/**
 * The virtual file system: the one place that turns a user's path into a
 * storage path. It joins the path to the current folder, refuses hidden,
 * NUL-bearing and over-long names, never climbs above the user's `/`, maps
 * virtual directories (with their permissions), and checks that the real
 * path, links resolved, stays inside the tree it belongs to. Every door
 * resolves through it.
 */
import { join, relative, sep } from "node:path";
import type { Stat, Storage } from "../storage/storage.ts";
import type { RefusalKind } from "./refusal.ts";
import type { Perms, TreeConfig, VirtualDir } from "./tree_files.ts";

/** Longest accepted name part, in bytes of UTF-8 (as most file systems allow). */
export const MAX_NAME_BYTES = 255;
/** Longest accepted path argument, in characters. */
export const MAX_PATH_CHARS = 4096;

/** A resolved path. */
export interface Target {
  /** Normalised absolute path as the user sees it, e.g. `/upload/a.txt`. */
  path: string;
  /** Where it lives in the storage, links resolved. */
  realPath: string;
  /** Permissions in force inside it (when it is a folder). */
  perms: Perms;
  /** Permissions of the folder that holds it: they govern the entry itself. */
  parentPerms: Perms;
  /** True for the user's `/` and for a virtual directory's mount point: never changed. */
  fixed: boolean;
  /** The folder the real path must stay inside (the user root or a virtual target). */
  base: string;
  /** What is there, or null when nothing is there yet. */
  stat: Stat | null;
}

/** A resolution: a target, or why the path is refused. */
export type Resolution = { ok: true; target: Target } | { ok: false; refusal: RefusalKind };

/**
 * The containment rules, injectable so a test can prove that Deno's sandbox
 * still holds when they are switched off.
 */
export interface Confinement {
  /** Path parts to walk from the user's `/`, or a refusal. */
  split(cwd: string, arg: string): string[] | RefusalKind;
  /** Whether `real` (links resolved) lies inside `base`. */
  contains(base: string, real: string): boolean;
}

const encoder = new TextEncoder();

/** The default, strict rules. */
export const strictConfinement: Confinement = {
  split: splitUserPath,
  contains: isInside,
};

/**
 * Joins `arg` to `cwd` and normalises it into parts: `\` is a separator, `.`
 * and `..` are applied and clamped at `/`, `%2e` is just text.
 */
export function splitUserPath(cwd: string, arg: string): string[] | RefusalKind {
  if (arg.length > MAX_PATH_CHARS) return "bad-name";
  if (arg.includes("\0")) return "bad-name";
  const joined = arg.startsWith("/") || arg.startsWith("\\") ? arg : `${cwd}/${arg}`;
  const parts: string[] = [];
  for (const part of joined.split(/[\/\\]/)) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      parts.pop();
      continue;
    }
    if (part.startsWith(".")) return "hidden";
    if (encoder.encode(part).length > MAX_NAME_BYTES) return "bad-name";
    parts.push(part);
  }
  return parts;
}

/** Whether `real` is `base` or lies below it. */
export function isInside(base: string, real: string): boolean {
  const rel = relative(base, real);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep));
}

/** One user's view of the served tree. */
export class Vfs {
  constructor(
    private readonly tree: TreeConfig,
    /** Real path of the user's folder: their `/`. */
    readonly home: string,
    /** Real paths a virtual directory may point into: the served root and granted paths. */
    private readonly allowed: readonly string[],
    private readonly confinement: Confinement = strictConfinement,
  ) {}

  /** Resolves a path (relative to `cwd`) to a target or a refusal. */
  async resolve(cwd: string, arg: string): Promise<Resolution> {
    const parts = this.confinement.split(cwd, arg);
    if (!Array.isArray(parts)) return { ok: false, refusal: parts };
    let real = this.home;
    let base = this.home;
    let perms = await this.tree.permissions(this.home);
    let parentPerms = perms;
    let fixed = true;
    for (const part of parts) {
      const virtual = (await this.tree.virtuals(real)).find((v) => v.name === part);
      parentPerms = perms;
      if (virtual) {
        const mount = await this.#mount(virtual);
        if (mount === null) return { ok: false, refusal: "not-found" };
        real = base = mount;
        perms = virtual.perms;
        fixed = true;
      } else {
        real = join(real, part);
        fixed = false;
      }
    }
    const { storage } = this.tree;
    const resolved = await storage.realPath(real);
    if (!this.confinement.contains(base, resolved)) return { ok: false, refusal: "not-found" };
    const stat = await storage.stat(resolved);
    const path = "/" + parts.join("/");
    return {
      ok: true,
      target: { path, realPath: resolved, perms, parentPerms, fixed, base, stat },
    };
  }

  /** The storage the tree lives in. */
  get storage(): Storage {
    return this.tree.storage;
  }

  /** The virtual directories shown inside a real folder. */
  virtualsIn(folder: string): Promise<VirtualDir[]> {
    return this.tree.virtuals(folder);
  }

  /** Whether a folder entry that is a link points somewhere this target may show. */
  async linkStaysInside(base: string, linkPath: string): Promise<boolean> {
    try {
      return this.confinement.contains(base, await this.tree.storage.realPath(linkPath));
    } catch {
      return false;
    }
  }

  /** A virtual target's real path, if it exists and lies (links resolved) in an allowed place. */
  async #mount(v: VirtualDir): Promise<string | null> {
    const allowed = (path: string) => this.allowed.some((a) => isInside(a, path));
    if (!allowed(v.target)) {
      this.tree.refuseTarget(v);
      return null;
    }
    const { storage } = this.tree;
    const real = await storage.realPath(v.target).catch(() => null);
    if (real === null || !(await storage.stat(real).catch(() => null))?.isDir) return null;
    if (allowed(real)) return real;
    this.tree.refuseTarget(v);
    return null;
  }
}
