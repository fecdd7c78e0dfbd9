/**
 * What a request needs of a resolved path, checked the same way by every
 * door before it acts (the FTP command table names a need per verb).
 */
import type { RefusalKind } from "./refusal.ts";
import type { Target } from "./vfs.ts";

/**
 * What a path needs:
 * - `list`: read permission inside the folder itself (listing it, entering it);
 * - `read`: read permission where the entry lives;
 * - `create`: write where it lives, plus modify when something is already there;
 * - `modify`: modify where it lives, and the entry must not be fixed (`/`, a virtual directory).
 */
export type Need = "list" | "read" | "create" | "modify";

/** Null when `t` may be used for `need`; otherwise why not. */
export function checkNeed(need: Need, t: Target): RefusalKind | null {
  switch (need) {
    case "list":
      return t.perms.has("read") ? null : "denied";
    case "read":
      return t.parentPerms.has("read") ? null : "denied";
    case "create":
      if (t.fixed) return "fixed";
      if (!t.parentPerms.has("write")) return "denied";
      return t.stat !== null && !t.parentPerms.has("modify") ? "denied" : null;
    case "modify":
      if (t.fixed) return "fixed";
      return t.parentPerms.has("modify") ? null : "denied";
  }
}
