/**
 * `xxftp share` explains itself: the URLs it can be reached at (one per
 * network address when it listens on all of them), a generated password,
 * and a status line of what is going on.
 */
import type { ServerStatus } from "../core/activity.ts";
import { humanBytes, humanDuration } from "../units.ts";

/** What `share` adds to `serve`. */
export interface ShareFlags {
  /** Make a password for user `share` and refuse anonymous logins. */
  password: boolean;
  /** Stop by itself after this long; null: run until stopped. */
  expireMs: number | null;
  /** Print a QR code of the first URL. */
  qr: boolean;
}

/** The user a generated share password belongs to. */
export const SHARE_USER = "share";

/** Lowercase letters and digits that cannot be mistaken for each other (no i, l, o, 1): 32. */
const ALPHABET = "abcdefghjkmnpqrstuvwxyz023456789";

/** A fresh random password: 16 characters, 80 bits. */
export function randomPassword(length = 16): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  return [...bytes].map((b) => ALPHABET[b & 31]).join(""); // 256 is a multiple of 32: no bias
}

/** `host` as a URL writes it (an IPv6 address in brackets). */
export function urlHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** Whether the listen address means every address of the machine. */
export function isWildcard(host: string): boolean {
  return host === "0.0.0.0" || host === "::" || host === "[::]";
}

/** An interface address as `Deno.networkInterfaces()` gives it. */
export interface InterfaceAddress {
  family: "IPv4" | "IPv6";
  address: string;
}

/**
 * The addresses another machine could reach a wildcard listener at: not
 * loopback, not IPv6 link-local (that needs a zone), IPv6 only when
 * listening on `::`.
 */
export function reachableAddresses(
  host: string,
  interfaces: readonly InterfaceAddress[],
): string[] {
  const v6 = host !== "0.0.0.0";
  const seen = new Set<string>();
  for (const i of interfaces) {
    const a = i.address.toLowerCase();
    if (i.family === "IPv4" ? a.startsWith("127.") : !v6 || a === "::1" || /^fe[89ab]/.test(a)) {
      continue;
    }
    seen.add(i.address);
  }
  return [...seen].sort((a, b) => Number(a.includes(":")) - Number(b.includes(":")));
}

/**
 * This machine's interface addresses, or null when this process may not ask
 * (under `deno run` that takes `--allow-sys=networkInterfaces`; asking is never prompted).
 */
export function machineAddresses(): InterfaceAddress[] | null {
  const asked = { name: "sys", kind: "networkInterfaces" } as const;
  if (Deno.permissions.querySync(asked).state !== "granted") return null;
  try {
    return Deno.networkInterfaces();
  } catch {
    return null;
  }
}

/** The status line: clients, transfers with bytes and rate, and the time left. */
export function statusText(s: ServerStatus, bytesPerSecond: number, leftMs: number | null): string {
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  let text = `${plural(s.clients, "client")} connected, ${plural(s.transfers, "transfer")} running`;
  if (s.transfers > 0) {
    text += ` (${humanBytes(s.running)}, ${humanBytes(bytesPerSecond)}/s)`;
  }
  if (leftMs !== null) text += `; stops in ${humanDuration(leftMs)}`;
  return text;
}

/** What the share's banner says. */
export interface ShareBanner {
  scheme: "ftp" | "ftps";
  /** The listen address (`--host`). */
  host: string;
  port: number;
  /** Interface addresses, or null when they could not be asked for. */
  interfaces: readonly InterfaceAddress[] | null;
  readOnly: boolean;
  /** The generated password, or null for anonymous logins. */
  password: string | null;
  expireMs: number | null;
  now: Date;
}

/** The share's URLs: one per reachable address on a wildcard listener, else the listener's own. */
export function shareUrls(b: ShareBanner): string[] {
  const url = (host: string) => `${b.scheme}://${urlHost(host)}:${b.port}/`;
  if (!isWildcard(b.host)) return [url(b.host)];
  return reachableAddresses(b.host, b.interfaces ?? []).map(url);
}

/** The lines that explain the share: who may log in, where, and until when. */
export function shareLines(b: ShareBanner): string[] {
  const lines: string[] = [];
  const access = b.readOnly ? "read-only" : "writable (--writable)";
  if (b.password === null) {
    lines.push(`  users: anonymous/ftp (any password), this folder as "/", ${access}`);
  } else {
    lines.push(`  users: ${SHARE_USER} (anonymous is refused), this folder as "/", ${access}`);
    lines.push(`  password: ${b.password} (made for this run, kept in memory only)`);
  }
  const urls = shareUrls(b);
  if (isWildcard(b.host)) {
    if (b.interfaces === null) {
      lines.push(
        "  on every address of this machine (to list them here, run deno with --allow-sys=networkInterfaces)",
      );
    } else if (urls.length === 0) {
      lines.push(
        "  on every address of this machine, but it has no network address besides loopback",
      );
    }
    urls.forEach((u, i) =>
      lines.push(`  ${i === 0 ? "on this network:" : "                "} ${u}`)
    );
  }
  if (b.expireMs !== null) {
    const at = new Date(b.now.getTime() + b.expireMs).toISOString().replace(/\.\d+Z$/, "Z");
    lines.push(
      `  expires in ${humanDuration(b.expireMs)} (at ${at}): the share then stops by itself`,
    );
  }
  return lines;
}
