/** Sizes and durations as people write and read them. */

/** Bytes as a person reads them: `512 B`, `1.5 KiB`, `10 MiB`. */
export function humanBytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  const text = unit === 0 ? String(Math.round(value)) : value.toFixed(1).replace(/\.0$/, "");
  return `${text} ${units[unit]}`;
}

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `30s`, `30m`, `2h`, `1d` in milliseconds; null when it is not such a duration. */
export function parseDuration(text: string): number | null {
  const m = /^(\d{1,6})([smhd])$/.exec(text.trim());
  if (!m) return null;
  return Number(m[1]) * UNIT_MS[m[2] as keyof typeof UNIT_MS];
}

/** A duration in its two largest units: `1d 2h`, `45m 10s`, `5s`. */
export function humanDuration(ms: number): string {
  let left = Math.max(0, Math.round(ms / 1000));
  const parts: string[] = [];
  for (const [unit, seconds] of [["d", 86400], ["h", 3600], ["m", 60], ["s", 1]] as const) {
    if (left >= seconds || (unit === "s" && parts.length === 0)) {
      parts.push(`${Math.floor(left / seconds)}${unit}`);
      left %= seconds;
    }
  }
  return parts.slice(0, 2).join(" ");
}
