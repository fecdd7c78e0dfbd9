/**
 * The served tree's own files (`.xxftp/*`, `xxftp.welcome`, `xxftp.goodbye`):
 * pure parsers, and a reader that re-parses a file only when its mtime or size
 * changed, so an edit is seen on the next command without a restart.
 */
import { isAbsolute, join, resolve } from "node:path";
import { type BannerFile, type Stat, type Storage, StorageError } from "../storage/storage.ts";

/** A permission a folder grants. */
export type Perm = "read" | "write" | "modify";
/** The permissions in force for a folder. */
export type Perms = ReadonlySet<Perm>;

/** What a folder grants when it says nothing: read, write and modify. */
export const ALL_PERMS: Perms = new Set<Perm>(["read", "write", "modify"]);
/** What a broken permission file grants: nothing. */
export const NO_PERMS: Perms = new Set<Perm>();

/** The folder name that holds configuration; never served. */
export const CONFIG_DIR = ".xxftp";

/** Something wrong in a tree file: its 1-based line, or null when it is the whole file. */
export interface FileProblem {
  line: number | null;
  message: string;
}

/** A parse result: the value, plus problems to log. */
export interface Parsed<T> {
  value: T;
  problems: FileProblem[];
}

/** `file:line: message`, the form editors and `xxftp check` use. */
export function formatProblem(file: string, p: FileProblem): string {
  return `${file}${p.line === null ? "" : `:${p.line}`}: ${p.message}`;
}

/** Parses a comma list such as `read,write`; any unknown word makes the whole list void. */
export function parsePerms(text: string): Parsed<Perms> {
  const words = text.split(",").map((w) => w.trim().toLowerCase()).filter((w) => w !== "");
  const bad = words.filter((w) => w !== "read" && w !== "write" && w !== "modify");
  if (bad.length > 0) {
    return {
      value: NO_PERMS,
      problems: [{ line: 1, message: `unknown permission "${bad[0]}": no permissions granted` }],
    };
  }
  return { value: new Set(words as Perm[]), problems: [] };
}

/** One line of a `.xxftp/virtual` file. */
export interface VirtualDir {
  /** The line of the file it comes from (1-based). */
  line: number;
  name: string;
  /** Absolute host path the name maps to (`$root` already substituted). */
  target: string;
  perms: Perms;
}

/** A valid name for a virtual directory: one path part, not hidden. */
export function isPlainName(name: string): boolean {
  return name !== "" && !name.startsWith(".") && !/[\/\\\0]/.test(name);
}

/**
 * Parses a `.xxftp/virtual` file: `<name> <real-path> <permissions>` per line,
 * `#` comments and blank lines ignored; a bad line is reported and skipped.
 * A relative path is taken relative to `folder`, the folder holding the file.
 */
export function parseVirtual(text: string, root: string, folder: string): Parsed<VirtualDir[]> {
  const value: VirtualDir[] = [];
  const problems: FileProblem[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = i + 1;
    const entry = raw.trim();
    if (entry === "" || entry.startsWith("#")) return;
    const fields = entry.split(/\s+/);
    if (fields.length !== 3) {
      problems.push({ line, message: `expected "<name> <real-path> <permissions>"` });
      return;
    }
    const [name, rawPath, permText] = fields;
    if (!isPlainName(name)) {
      problems.push({ line, message: `"${name}" is not a plain, visible name` });
      return;
    }
    const perms = parsePerms(permText);
    if (perms.problems.length > 0) {
      problems.push({ line, message: perms.problems[0].message });
      return;
    }
    if (value.some((v) => v.name === name)) {
      problems.push({ line, message: `"${name}" is defined twice; the first wins` });
      return;
    }
    const substituted = rawPath.replaceAll("$root", root);
    const target = isAbsolute(substituted) ? resolve(substituted) : resolve(folder, substituted);
    value.push({ line, name, target, perms: perms.value });
  });
  return { value, problems };
}

/** A folder's size limit: none, a byte count, or a file that could not be understood. */
export type SizeLimit = { kind: "none" } | { kind: "limit"; bytes: number } | {
  kind: "broken";
  reason: string;
};

/** Parses a `.xxftp/size` file: a whole number of bytes on the first line; 0 means none. */
export function parseSize(text: string): Parsed<SizeLimit> {
  const first = text.split(/\r?\n/)[0].trim();
  if (!/^\d{1,16}$/.test(first)) {
    const reason = `"${first.slice(0, 40)}" is not a byte count: uploads refused`;
    return { value: { kind: "broken", reason }, problems: [{ line: 1, message: reason }] };
  }
  const bytes = Number(first);
  return { value: bytes === 0 ? { kind: "none" } : { kind: "limit", bytes }, problems: [] };
}

/** Whether an error says the storage cannot be reached now (rather than what a file holds). */
function isUnavailable(err: unknown): boolean {
  return err instanceof StorageError && err.kind === "unavailable";
}

/** The cache stamp of a file that could not even be examined: logged once, not every command. */
const STAT_FAILED = "!stat-failed";

interface CacheEntry {
  stamp: string;
  value: unknown;
}

/** The largest tree file read; a longer one is cut there (and will not parse). */
export const MAX_TREE_FILE = 64 * 1024;

/** Reads the tree's files live, re-parsing only when a file changed. */
export class TreeConfig {
  #cache = new Map<string, CacheEntry>();

  constructor(
    readonly storage: Storage,
    /** The served root, as a real path. */
    readonly root: string,
    private readonly log: (line: string) => void,
    /** The most any file may grant (`--read-only` caps it at `read`). */
    private readonly ceiling: Perms = ALL_PERMS,
  ) {
    this.#granted = this.#capped(ALL_PERMS);
    this.#banners = {
      "xxftp.welcome": join(root, "xxftp.welcome"),
      "xxftp.goodbye": join(root, "xxftp.goodbye"),
    };
  }

  /** What a user root without a permission file grants: everything under the ceiling. */
  readonly #granted: Perms;

  /** The banners' paths, joined once: every session asks for both. */
  readonly #banners: Record<BannerFile, string>;

  /** Parses a permission file, within the ceiling. */
  readonly #parseCapped = (text: string): Parsed<Perms> => {
    const parsed = parsePerms(text);
    return { ...parsed, value: this.#capped(parsed.value) };
  };

  /** The permissions a user root grants (absent file: all three), within the ceiling. */
  permissions(userRoot: string): Promise<Perms> {
    const file = join(userRoot, CONFIG_DIR, "permission");
    return this.#read(file, this.#granted, NO_PERMS, this.#parseCapped);
  }

  /** The virtual directories shown inside `folder`, their permissions within the ceiling. */
  virtuals(folder: string): Promise<VirtualDir[]> {
    return this.#read(join(folder, CONFIG_DIR, "virtual"), [], [], (t) => {
      const parsed = parseVirtual(t, this.root, folder);
      return {
        ...parsed,
        value: parsed.value.map((v) => ({ ...v, perms: this.#capped(v.perms) })),
      };
    });
  }

  #capped(perms: Perms): Perms {
    return new Set([...perms].filter((p) => this.ceiling.has(p)));
  }

  /** The size limit of `folder`. */
  sizeLimit(folder: string): Promise<SizeLimit> {
    const broken: SizeLimit = { kind: "broken", reason: "unreadable" };
    return this.#read(join(folder, CONFIG_DIR, "size"), { kind: "none" }, broken, parseSize);
  }

  /** The password file's first line, or null when there is none. */
  password(userRoot: string): Promise<string | null> {
    return this.#read(
      join(userRoot, CONFIG_DIR, "password"),
      null,
      "!unreadable",
      (t) => ({ value: t.split(/\r?\n/)[0].trim(), problems: [] }),
    );
  }

  /** Text of `xxftp.welcome` or `xxftp.goodbye` in the root, or null (also when it cannot be had now). */
  banner(name: BannerFile): Promise<string | null> {
    return this.#read(
      this.#banners[name],
      null,
      null,
      (t) => ({ value: t.trim() === "" ? null : t, problems: [] }),
    ).catch(() => null);
  }

  /** Logs, once per line, a virtual directory whose target lies outside what was granted. */
  refuseTarget(v: VirtualDir): void {
    const key = `refused:${v.name}:${v.target}`;
    if (this.#cache.has(key)) return;
    this.#cache.set(key, { stamp: "", value: null });
    this.log(
      `config: virtual "${v.name}" -> ${v.target} is outside the served root; refused (grant it with --allow-outside)`,
    );
  }

  /**
   * `absent` when the file is missing; `unreadable` (failing closed) when it
   * cannot be read. A storage that cannot be reached now (`unavailable`)
   * throws: the file may well be there, so neither answer would be true.
   */
  async #read<T>(
    file: string,
    absent: T,
    unreadable: T,
    parse: (text: string) => Parsed<T>,
  ): Promise<T> {
    let info: Stat | null;
    try {
      info = await this.storage.stat(file);
    } catch (err) {
      if (isUnavailable(err)) throw err;
      if (this.#cache.get(file)?.stamp !== STAT_FAILED) {
        this.log(`config ${file}: unreadable (${(err as Error).message})`);
      }
      this.#cache.set(file, { stamp: STAT_FAILED, value: unreadable });
      return unreadable;
    }
    if (info === null) {
      this.#cache.delete(file);
      return absent;
    }
    const hit = this.#cache.get(file);
    if (hit && hit.stamp === info.version) return hit.value as T;
    let parsed: Parsed<T>;
    let stamp = info.version;
    try {
      const read = await this.storage.readText(file, MAX_TREE_FILE);
      if (read === null) return absent; // removed between the two calls
      stamp = read.version;
      parsed = parse(read.text);
    } catch (err) {
      if (isUnavailable(err)) throw err;
      const message = `unreadable (${(err as Error).message})`;
      parsed = { value: unreadable, problems: [{ line: null, message }] };
    }
    for (const p of parsed.problems) this.log(`config ${formatProblem(file, p)}`);
    this.#cache.set(file, { stamp, value: parsed.value });
    return parsed.value;
  }
}
