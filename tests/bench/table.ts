/**
 * Results of the bench: values per row and server across rounds, their
 * medians, and the markdown table with each row's best server in bold and
 * xxftp's ratio to the best peer.
 */

/** One figure of the table. */
export interface Row {
  key: string;
  label: string;
  better: "higher" | "lower";
}

/** What a cell holds when it has no number. */
export type Absent = "n/a" | "skipped" | "failed";

/** Values gathered per row and server; a row a server cannot do is marked n/a. */
export class Results {
  #values = new Map<string, number[]>();
  #absent = new Map<string, Absent>();

  /** Adds one round's value. */
  add(row: string, server: string, value: number) {
    const k = `${row}\0${server}`;
    this.#values.set(k, [...this.#values.get(k) ?? [], value]);
  }

  /** Marks a cell as having no value, unless some round produced one. */
  mark(row: string, server: string, why: Absent) {
    this.#absent.set(`${row}\0${server}`, why);
  }

  /** The median of the rounds' values, or why there is none. */
  median(row: string, server: string): number | Absent {
    const k = `${row}\0${server}`;
    const v = [...this.#values.get(k) ?? []].sort((a, b) => a - b);
    if (v.length === 0) return this.#absent.get(k) ?? "failed";
    const mid = Math.floor(v.length / 2);
    return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
  }
}

/** A figure in three significant digits at most, without exponent notation. */
export function figure(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : a >= 1 ? 2 : a >= 0.1 ? 3 : 4;
  return v.toFixed(digits);
}

/** How many times better `ours` is than `best` (above 1: xxftp leads). */
export function ratio(row: Row, ours: number, best: number): number {
  return row.better === "higher" ? ours / best : best / ours;
}

/**
 * The markdown table: a column per server (median of the rounds, the best
 * in bold) and xxftp's ratio to the best peer. A reference column (the Deno
 * floor) is shown, never bold and never the best peer.
 */
export function markdown(
  rows: Row[],
  results: Results,
  servers: { name: string; header: string; reference?: boolean }[],
  ours = "xxftp",
): string {
  const out = [
    `| figure | ${servers.map((s) => s.header).join(" | ")} | xxftp vs best peer |`,
    `|---|${servers.map(() => "---|").join("")}---|`,
  ];
  const compared = new Set(servers.filter((s) => !s.reference).map((s) => s.name));
  for (const row of rows) {
    const cells = servers.map((s) => ({ name: s.name, v: results.median(row.key, s.name) }));
    const numbers = cells.filter((c): c is { name: string; v: number } =>
      typeof c.v === "number" && compared.has(c.name)
    );
    const better = (a: number, b: number) => row.better === "higher" ? a > b : a < b;
    const best = numbers.reduce<number | null>(
      (b, c) => b === null || better(c.v, b) ? c.v : b,
      null,
    );
    const peers = numbers.filter((c) => c.name !== ours);
    const bestPeer = peers.reduce<number | null>(
      (b, c) => b === null || better(c.v, b) ? c.v : b,
      null,
    );
    const mine = numbers.find((c) => c.name === ours)?.v;
    const r = mine === undefined || bestPeer === null ? null : ratio(row, mine, bestPeer);
    const vs = r === null ? "n/a" : `${r >= 0.1 ? r.toFixed(2) : r.toPrecision(2)}x`;
    const shown = cells.map((c) =>
      typeof c.v !== "number"
        ? c.v
        : c.v === best && compared.has(c.name)
        ? `**${figure(c.v)}**`
        : figure(c.v)
    );
    out.push(`| ${row.label} | ${shown.join(" | ")} | ${vs} |`);
  }
  return out.join("\n");
}
