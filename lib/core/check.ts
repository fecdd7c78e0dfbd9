/**
 * The tree checker: reads the whole served tree the way the server does and
 * lists every problem the server would meet (settings files it cannot use,
 * virtual folders that lead nowhere, folders nobody can log in to, weak or
 * missing passwords, unfinished uploads), plus a summary of each user. It
 * only reads, and only through `Storage`.
 */
import { join } from "node:path";
import type { Listed, Stat, Storage } from "../storage/storage.ts";
import { StorageError } from "../storage/storage.ts";
import { accountName, USER_NAME } from "./accounts.ts";
import { LEDGER_FILE } from "./ledger.ts";
import { storedKind } from "./passwords.ts";
import {
  ALL_PERMS,
  CONFIG_DIR,
  type FileProblem,
  MAX_TREE_FILE,
  parsePerms,
  parseSize,
  parseVirtual,
  type Perm,
  type SizeLimit,
} from "./tree_files.ts";
import { isInside } from "./vfs.ts";

/** One problem: where (a storage path, and the line when it is one line), and what. */
export interface TreeProblem extends FileProblem {
  path: string;
}

/** A virtual folder as a user sees it. */
export interface VirtualSummary {
  /** The user path of the folder it appears in (`/` for the user's root). */
  at: string;
  name: string;
  /** Where it leads (links resolved when it leads somewhere usable). */
  target: string;
  perms: Perm[];
  /** Whether the server can mount it. */
  usable: boolean;
}

/** How a user logs in. */
export type LoginKind = "any" | "none" | "scrypt" | "md5" | "invalid";

/** What the checker found out about one user. */
export interface UserSummary {
  name: string;
  /** The user's folder, links resolved. */
  home: string;
  login: LoginKind;
  /** Rights at the user's `/`. */
  rights: Perm[];
  /** The limit of the user's own folder. */
  limit: SizeLimit;
  /** Bytes the limit counts now (files below the folder, `.xxftp` not counted). */
  used: number;
  virtuals: VirtualSummary[];
}

/** The checker's findings, problems sorted by path and line. */
export interface CheckReport {
  problems: TreeProblem[];
  users: UserSummary[];
}

/** How to check. */
export interface CheckOptions {
  /** Real paths outside the root that virtual folders may lead into (`--allow-outside`). */
  allowOutside: readonly string[];
  /** Report unfinished uploads (`serve` removes them at start itself, so it passes false). */
  temporaries: boolean;
  /** How a storage path is written in messages (e.g. relative to the root as given). */
  show?: (path: string) => string;
  /** Measure each user's usage for the table (a walk of every home; `serve` logs problems only). */
  usage?: boolean;
}

/** The settings files the server reads. */
const KNOWN_SETTINGS = new Set(["password", "permission", "size", "virtual"]);
/** Files the server writes there itself (the usage ledger of a shared storage). */
const SERVER_FILES = new Set([LEDGER_FILE]);

const ORDER: Perm[] = ["read", "write", "modify"];

/** Permissions in their usual order. */
const permList = (perms: ReadonlySet<Perm>) => ORDER.filter((p) => perms.has(p));

/** What a user's own `.xxftp` folder says. */
interface UserSettings {
  stored: string | null;
  rights: ReadonlySet<Perm>;
  limit: SizeLimit;
}

/** Reads the tree under `root` (a real path) and reports what the server would meet. */
export function checkTree(
  storage: Storage,
  root: string,
  opts: CheckOptions,
): Promise<CheckReport> {
  return new Checker(storage, root, opts).run();
}

class Checker {
  readonly #problems = new Map<string, TreeProblem>();
  readonly #allowed: string[];
  readonly #show: (path: string) => string;
  /** Real folders walked already (a virtual target may be reached more than once). */
  readonly #walked = new Set<string>();
  /** Real paths virtual folders lead to. */
  readonly #targets: string[] = [];

  constructor(
    private readonly storage: Storage,
    private readonly root: string,
    private readonly opts: CheckOptions,
  ) {
    this.#allowed = [root, ...opts.allowOutside];
    this.#show = opts.show ?? ((p) => p);
  }

  async run(): Promise<CheckReport> {
    const users: UserSummary[] = [];
    const others: { name: string; path: string }[] = [];
    for (const e of await this.#entries(this.root)) {
      if (e.name.startsWith(".")) continue;
      const path = join(this.root, e.name);
      if (e.stat?.isDir !== true) continue;
      if (USER_NAME.test(e.name) && accountName(e.name) === e.name) {
        const user = await this.#user(e.name, path, e);
        if (user !== null) users.push(user);
      } else others.push({ name: e.name, path });
    }
    await this.#walk(this.root, null, []);
    for (const o of others) {
      await this.#walk(o.path, null, []);
      if (this.#targets.some((t) => isInside(o.path, t))) continue; // a shared folder
      const why = USER_NAME.test(o.name)
        ? `logging in as "${o.name}" means anonymous, so this folder is never anyone's home`
        : `"${o.name}" is not a user name (letters, digits and _, at most 64): nobody can log in to it`;
      this.#add(o.path, null, why);
    }
    for (let i = 0; i < this.#targets.length; i++) {
      const target = this.#targets[i];
      if (!isInside(this.root, target)) await this.#walk(target, null, []);
    }
    if (this.opts.temporaries) {
      for (const path of await this.storage.findStaleUploads(this.root)) {
        this.#add(
          path,
          null,
          "unfinished upload left by a stopped server (serve removes it at start)",
        );
      }
    }
    const problems = [...this.#problems.values()].sort((a, b) =>
      a.path < b.path ? -1 : a.path > b.path ? 1 : (a.line ?? 0) - (b.line ?? 0)
    );
    users.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
    return { problems, users };
  }

  #add(path: string, line: number | null, message: string): void {
    const p = { path, line, message };
    this.#problems.set(`${path}\n${line}\n${message}`, p);
  }

  /** A folder's entries, or none (reported) when it cannot be listed. */
  async #entries(folder: string): Promise<Listed[]> {
    const all: Listed[] = [];
    for await (const e of this.#each(folder)) all.push(e);
    return all;
  }

  /** A folder's entries one by one, never held whole (a folder may hold 100,000). */
  async *#each(folder: string): AsyncGenerator<Listed> {
    try {
      for await (const batch of this.storage.list(folder)) yield* batch;
    } catch (err) {
      this.#add(folder, null, `cannot be listed (${reason(err)})`);
    }
  }

  /** One user: their settings, their tree, and what that makes of them. */
  async #user(name: string, path: string, entry: Listed): Promise<UserSummary | null> {
    const home = await this.storage.realPath(path).catch(() => path);
    if (entry.link && !this.#allowed.some((a) => isInside(a, home))) {
      this.#add(
        path,
        null,
        `links to ${this.#show(home)}, outside the served root: nobody can log in as ${name}`,
      );
      return null;
    }
    const virtuals: VirtualSummary[] = [];
    const settings = await this.#walk(home, name, virtuals);
    const rights = settings?.rights ?? ALL_PERMS;
    const stored = settings?.stored ?? null;
    const login: LoginKind = name === "anonymous"
      ? "any"
      : stored === null
      ? "none"
      : storedKind(stored);
    const writes = (perms: Iterable<Perm>) => [...perms].some((p) => p !== "read");
    const mayWrite = writes(rights) || virtuals.some((v) => v.usable && writes(v.perms));
    if (login === "none" && mayWrite) {
      this.#add(
        home,
        null,
        `no password, yet ${name} may write: anyone who logs in as ${name} can change files (set one with: xxftp passwd ${name})`,
      );
    }
    const used = this.opts.usage === false
      ? 0
      : await this.storage.usage(home, (n) => n !== CONFIG_DIR).catch(() => 0);
    return {
      name,
      home,
      login,
      rights: permList(rights),
      limit: settings?.limit ?? { kind: "none" },
      used,
      virtuals,
    };
  }

  /**
   * Walks the folders below `top` (links and hidden names skipped), checking
   * each settings folder; `user` is set when `top` is that user's root.
   * Returns what the top folder's settings say (null: it has none).
   */
  async #walk(top: string, user: string | null, virtuals: VirtualSummary[]) {
    let topSettings: UserSettings | null = null;
    const pending = [top];
    for (let folder = pending.pop(); folder !== undefined; folder = pending.pop()) {
      if (this.#walked.has(folder)) continue;
      this.#walked.add(folder);
      for await (const e of this.#each(folder)) {
        if (e.link || e.stat?.isDir !== true) continue;
        if (e.name === CONFIG_DIR) {
          const at = folder === top ? "/" : `/${folder.slice(top.length + 1)}`;
          const found = await this.#settings(folder, folder === top ? user : null, at, virtuals);
          if (folder === top) topSettings = found;
        } else if (!e.name.startsWith(".") && !(folder === this.root && user === null)) {
          pending.push(join(folder, e.name));
        }
      }
    }
    return topSettings;
  }

  /** Checks the `.xxftp` folder of `folder`; `user` is set when it is that user's root. */
  async #settings(
    folder: string,
    user: string | null,
    at: string,
    virtuals: VirtualSummary[],
  ): Promise<UserSettings> {
    const dir = join(folder, CONFIG_DIR);
    const found: UserSettings = { stored: null, rights: ALL_PERMS, limit: { kind: "none" } };
    for (const e of await this.#entries(dir)) {
      if (e.name.startsWith(".")) continue; // a temporary of `xxftp passwd`, or the user's own
      const file = join(dir, e.name);
      if (SERVER_FILES.has(e.name)) continue;
      if (!KNOWN_SETTINGS.has(e.name)) {
        this.#add(
          file,
          null,
          "not a settings file the server reads (password, permission, size, virtual): ignored",
        );
        continue;
      }
      if ((e.name === "password" || e.name === "permission") && user === null) {
        this.#add(file, null, `ignored: only a user's own folder takes a ${e.name} file`);
        continue;
      }
      const text = await this.#read(file);
      if (text === null) continue;
      const problems = (ps: FileProblem[]) => ps.forEach((p) => this.#add(file, p.line, p.message));
      if (e.name === "password" && user !== null) {
        found.stored = text.split(/\r?\n/)[0].trim();
        this.#password(file, user, found.stored, e.stat);
      } else if (e.name === "permission") {
        const parsed = parsePerms(text);
        problems(parsed.problems);
        found.rights = parsed.value;
      } else if (e.name === "size") {
        const parsed = parseSize(text);
        problems(parsed.problems);
        found.limit = parsed.value;
      } else {
        const parsed = parseVirtual(text, this.root, folder);
        problems(parsed.problems);
        for (const v of parsed.value) {
          const target = await this.#mount(file, v.line, v.name, v.target);
          const usable = target !== null;
          const perms = permList(v.perms);
          virtuals.push({ at, name: v.name, target: target ?? v.target, perms, usable });
        }
      }
    }
    return found;
  }

  /** A password file's problems: a form the server does not know, a weak hash, loose mode. */
  #password(file: string, user: string, stored: string, stat: Stat | null): void {
    if (user === "anonymous") {
      this.#add(file, null, "ignored: anonymous logs in with any password");
      return;
    }
    const kind = storedKind(stored);
    if (kind === "invalid") {
      this.#add(
        file,
        1,
        `not a password line the server knows (scrypt from xxftp passwd, or 32 hex digits of MD5): nobody can log in as ${user}`,
      );
    } else if (kind === "md5") {
      this.#add(
        file,
        1,
        `weak: a legacy MD5 hash; set a new password with: xxftp passwd ${user}`,
      );
    }
    if (stat?.mode != null && (stat.mode & 0o044) !== 0) {
      const mode = stat.mode.toString(8).padStart(3, "0");
      this.#add(file, null, `readable by group or others (mode ${mode}): chmod 600 it`);
    }
  }

  /** A virtual folder's target, links resolved, or null (reported) when the server would refuse it. */
  async #mount(file: string, line: number, name: string, target: string): Promise<string | null> {
    const allowed = (p: string) => this.#allowed.some((a) => isInside(a, p));
    const shown = `virtual "${name}" -> ${this.#show(target)}`;
    if (!allowed(target)) {
      this.#add(
        file,
        line,
        `${shown} lies outside the served root: refused (grant it with --allow-outside)`,
      );
      return null;
    }
    let stat: Stat | null = null;
    let real = target;
    try {
      real = await this.storage.realPath(target);
      stat = await this.storage.stat(real);
    } catch (err) {
      this.#add(file, line, `${shown} cannot be read (${reason(err)})`);
      return null;
    }
    if (stat === null) this.#add(file, line, `${shown} does not exist`);
    else if (!stat.isDir) this.#add(file, line, `${shown} is not a folder`);
    else if (!allowed(real)) {
      this.#add(file, line, `${shown} leads through a link outside the served root: refused`);
    } else {
      this.#targets.push(real);
      return real;
    }
    return null;
  }

  /** A settings file's text, or null (reported) when it cannot be read. */
  async #read(file: string): Promise<string | null> {
    try {
      return (await this.storage.readText(file, MAX_TREE_FILE))?.text ?? null;
    } catch (err) {
      this.#add(file, null, `cannot be read (${reason(err)})`);
      return null;
    }
  }
}

/** Why a storage call failed, in words without host details. */
function reason(err: unknown): string {
  if (err instanceof StorageError) {
    return err.kind === "denied" ? "permission denied" : err.kind.replaceAll("-", " ");
  }
  return err instanceof Error ? err.message : String(err);
}
