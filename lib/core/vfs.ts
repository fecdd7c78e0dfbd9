/**
 * The virtual file system: the one place that turns an FTP path into a real
 * path. It joins the path to the session's current directory, refuses hidden,
 * NUL-bearing and over-long names, never climbs above the user's `/`, maps
 * virtual directories (with their permissions), and checks
 * that the real path, symlinks resolved, stays inside the tree it belongs to.
 */
import { dirname, join, relative, sep } from "node:path";
import { replies, type Reply } from "../ftp/replies.ts";
import type { Perms, TreeConfig, VirtualDir } from "./tree_files.ts";

/** Longest accepted name part, in bytes of UTF-8 (as most file systems allow). */
export const MAX_NAME_BYTES = 255;
/** Longest accepted FTP path argument, in characters. */
export const MAX_PATH_CHARS = 4096;

/** A resolved FTP path. */
export interface Target {
  /** Normalised absolute FTP path, e.g. `/upload/a.txt`. */
  ftpPath: string;
  /** Where it lives on the host. */
  realPath: string;
  /** Permissions in force inside it (when it is a folder). */
  perms: Perms;
  /** Permissions of the folder that holds it: they govern the entry itself. */
  parentPerms: Perms;
  /** True for the user's `/` and for a virtual directory's mount point: never changed by FTP. */
  fixed: boolean;
  /** The folder the real path must stay inside (the user root or a virtual target). */
  base: string;
  /** `Deno.stat` of the real path, or null when nothing is there yet. */
  info: Deno.FileInfo | null;
}

/** A resolution: a target, or the reply that refuses it. */
export type Resolution = { ok: true; target: Target } | { ok: false; reply: Reply };

/**
 * The containment rules, injectable so a test can prove that Deno's sandbox
 * still holds when they are switched off.
 */
export interface Confinement {
  /** FTP path parts to walk from the user's `/`, or a refusal. */
  split(cwd: string, arg: string): string[] | Reply;
  /** Whether `real` (symlinks resolved) lies inside `base`. */
  contains(base: string, real: string): boolean;
}

const encoder = new TextEncoder();

/** The default, strict rules. */
export const strictConfinement: Confinement = {
  split: splitFtpPath,
  contains: isInside,
};

/**
 * Joins `arg` to `cwd` and normalises it into parts: `\` is a separator, `.`
 * and `..` are applied and clamped at `/`, `%2e` is just text.
 */
export function splitFtpPath(cwd: string, arg: string): string[] | Reply {
  if (arg.length > MAX_PATH_CHARS) return replies.badName;
  if (arg.includes("\0")) return replies.badName;
  const joined = arg.startsWith("/") || arg.startsWith("\\") ? arg : `${cwd}/${arg}`;
  const parts: string[] = [];
  for (const part of joined.split(/[\/\\]/)) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      parts.pop();
      continue;
    }
    if (part.startsWith(".")) return replies.hidden;
    if (encoder.encode(part).length > MAX_NAME_BYTES) return replies.badName;
    parts.push(part);
  }
  return parts;
}

/** Whether `real` is `base` or lies below it. */
export function isInside(base: string, real: string): boolean {
  const rel = relative(base, real);
  return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !rel.startsWith(sep));
}

/**
 * The real path of `path`, or of its deepest existing ancestor with the rest appended.
 * Synchronous, like the other metadata calls on the per-command path: on a local disk
 * they take microseconds, where each async fs call costs about 30 µs of thread hand-off.
 */
export function realPathOfNearest(path: string): string {
  let rest = "";
  let current = path;
  for (let depth = 0; depth < 4096; depth++) {
    try {
      const real = Deno.realPathSync(current);
      return rest === "" ? real : join(real, rest);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
      const parent = dirname(current);
      if (parent === current) break;
      rest = rest === ""
        ? current.slice(parent.length + 1)
        : join(current.slice(parent.length + 1), rest);
      current = parent;
    }
  }
  return path;
}

/** One user's view of the served tree. */
export class Vfs {
  constructor(
    private readonly tree: TreeConfig,
    /** Real path of the user's folder: their `/`. */
    private readonly home: string,
    /** Real paths a virtual directory may point into: the served root and granted paths. */
    private readonly allowed: readonly string[],
    private readonly confinement: Confinement = strictConfinement,
  ) {}

  /** Resolves an FTP path (relative to `cwd`) to a target or a refusal. */
  async resolve(cwd: string, arg: string): Promise<Resolution> {
    const parts = this.confinement.split(cwd, arg);
    if (!Array.isArray(parts)) return { ok: false, reply: parts };
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
        if (mount === null) return { ok: false, reply: replies.notFound };
        real = base = mount;
        perms = virtual.perms;
        fixed = true;
      } else {
        real = join(real, part);
        fixed = false;
      }
    }
    const resolved = realPathOfNearest(real);
    if (!this.confinement.contains(base, resolved)) return { ok: false, reply: replies.notFound };
    let info: Deno.FileInfo | null = null;
    try {
      info = Deno.statSync(real);
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound || err instanceof Deno.errors.NotADirectory)) {
        throw err;
      }
    }
    const ftpPath = "/" + parts.join("/");
    return {
      ok: true,
      target: { ftpPath, realPath: real, perms, parentPerms, fixed, base, info },
    };
  }

  /** The virtual directories shown inside a real folder. */
  virtualsIn(folder: string): Promise<VirtualDir[]> {
    return this.tree.virtuals(folder);
  }

  /** Whether a directory entry that is a symlink points somewhere this target may show. */
  async linkStaysInside(base: string, linkPath: string): Promise<boolean> {
    try {
      return this.confinement.contains(base, await Deno.realPath(linkPath));
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
    let real: string;
    try {
      real = await Deno.realPath(v.target);
    } catch {
      return null;
    }
    if (allowed(real)) return real;
    this.tree.refuseTarget(v);
    return null;
  }
}
