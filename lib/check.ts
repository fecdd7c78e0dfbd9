/**
 * `xxftp check`: the tree checker's findings as `path:line: message` lines
 * and a table of users, with paths written the way the root was given.
 */
import { relative } from "node:path";
import type { CheckReport, UserSummary } from "./core/check.ts";
import { formatProblem, type SizeLimit } from "./core/tree_files.ts";
import { isInside } from "./core/vfs.ts";
import { humanBytes } from "./units.ts";

/** Writes storage paths under `root` (a real path) as `given` (the root as typed) plus the rest. */
export function showUnder(root: string, given: string): (path: string) => string {
  const base = given.replace(/\/+$/, "") || "/";
  return (path) => {
    if (!isInside(root, path)) return path;
    const rest = relative(root, path);
    if (rest === "") return given;
    return base === "/" ? `/${rest}` : `${base}/${rest}`;
  };
}

/** The problem lines, `path:line: message`, in the report's order. */
export function problemLines(report: CheckReport, show: (path: string) => string): string[] {
  return report.problems.map((p) => formatProblem(show(p.path), p));
}

const LOGIN_TEXT: Record<UserSummary["login"], string> = {
  any: "any password",
  none: "no password",
  scrypt: "password",
  md5: "password (MD5, weak)",
  invalid: "broken password file",
};

function limitText(limit: SizeLimit): string {
  if (limit.kind === "none") return "-";
  return limit.kind === "limit" ? humanBytes(limit.bytes) : "broken";
}

/** The table of users: home, login, rights at `/`, limit, usage, virtual folders. */
export function userTable(report: CheckReport, show: (path: string) => string): string[] {
  const header = ["user", "home", "login", "rights at /", "limit", "used", "virtual folders"];
  const rows = report.users.map((u) => [
    u.name,
    show(u.home),
    LOGIN_TEXT[u.login],
    u.rights.length === 0 ? "none" : u.rights.join(","),
    limitText(u.limit),
    humanBytes(u.used),
    u.virtuals.length === 0 ? "-" : u.virtuals.map((v) => {
      const where = v.at === "/" ? `/${v.name}` : `${v.at}/${v.name}`;
      const perms = v.perms.length === 0 ? "none" : v.perms.join(",");
      return `${where} -> ${show(v.target)} (${v.usable ? perms : "refused"})`;
    }).join(", "),
  ]);
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  return all.map((r) =>
    r.map((cell, i) => i === r.length - 1 ? cell : cell.padEnd(widths[i])).join("  ")
  );
}

/** The whole report as `xxftp check` prints it; `exitCode` 0 when nothing is wrong, else 1. */
export function checkOutput(
  report: CheckReport,
  show: (path: string) => string,
): { lines: string[]; exitCode: number } {
  const n = report.problems.length;
  const lines = [
    ...problemLines(report, show),
    ...(n > 0 ? [""] : []),
    ...(report.users.length > 0
      ? userTable(report, show)
      : ["no users: make a folder ROOT/<user>"]),
    "",
    n === 0 ? "no problems found" : `${n} problem${n === 1 ? "" : "s"} found`,
  ];
  return { lines, exitCode: n === 0 ? 0 : 1 };
}
