/** Login, logout and TLS: USER, PASS, QUIT, AUTH, PBSZ, PROT. */
import { accountName } from "../../core/accounts.ts";
import { replies, type Reply, reply } from "../replies.ts";
import type { Session } from "../session.ts";

/** USER: remembers the name; the answer never tells whether the user exists. */
export function user(s: Session, arg: string): Reply {
  if (s.ctx.tls?.required && !s.secure) return reply(530, "TLS required: send AUTH TLS first.");
  const name = accountName(arg);
  if (name === null) return reply(530, "Invalid user name.");
  s.logout();
  s.pendingUser = name;
  return name === "anonymous"
    ? reply(331, "Anonymous login ok, send your e-mail address as password.")
    : reply(331, `Password required for ${name}.`);
}

/**
 * PASS: the core checks the password through the address's throttle;
 * failures are answered after a growing delay and, repeated, hold the address off.
 */
export async function pass(s: Session, arg: string): Promise<Reply | void> {
  const name = s.pendingUser;
  if (name === null) return replies.badSequence;
  s.pendingUser = null;
  const result = await s.ctx.core.accounts.login(name, arg, s.clientHost);
  if (result.kind === "banned") return void await s.close(replies.banned);
  if (result.kind === "failed") {
    s.emit({ event: "login_failed", user: name });
    await new Promise((r) => setTimeout(r, result.delayMs));
    if (result.banned) {
      s.emit({ event: "ban", user: name, seconds: s.ctx.core.accounts.guard.banSeconds });
      return void await s.close(replies.banned);
    }
    return reply(530, "Login incorrect.");
  }
  s.user = name;
  s.vfs = s.ctx.core.viewOf(result.home);
  s.cwd = "/";
  s.emit({ event: "login" });
  return reply(230, `User ${name} logged in.`);
}

/** QUIT: the goodbye banner, then the session ends (after a running transfer is aborted). */
export async function quit(s: Session): Promise<void> {
  s.transfer?.abort.abort();
  await s.transfer?.done;
  const goodbye = await s.ctx.core.tree.banner("xxftp.goodbye");
  await s.close(reply(221, goodbye ?? "Goodbye."));
}

/** AUTH TLS (RFC 4217): 234, then the TLS handshake on the control connection. */
export async function auth(s: Session, arg: string): Promise<Reply | void> {
  if (s.ctx.tls === null) return reply(502, "TLS is not configured on this server.");
  if (!["TLS", "TLS-C", "SSL", "TLS-P"].includes(arg.trim().toUpperCase())) {
    return reply(504, "Only AUTH TLS is supported.");
  }
  if (s.secure) return reply(503, "Already using TLS.");
  await s.send(reply(234, "AUTH TLS successful."));
  try {
    await s.secureControl();
  } catch (err) {
    s.emit({ event: "tls", channel: "control", message: (err as Error).message });
    await s.close();
  }
}

/** PBSZ: stream mode needs no buffer, so 0 is the only size. */
export function pbsz(s: Session, arg: string): Reply {
  if (!s.secure) return reply(503, "PBSZ needs AUTH TLS first.");
  if (!/^\d+$/.test(arg.trim())) return reply(501, "PBSZ needs a number.");
  return reply(200, "PBSZ=0");
}

/** PROT: C (clear) or P (private) data connections. */
export function prot(s: Session, arg: string): Reply {
  if (!s.secure) return reply(503, "PROT needs AUTH TLS first.");
  switch (arg.trim().toUpperCase()) {
    case "C":
      if (s.ctx.tls?.required) return reply(534, "Data connections must be protected here.");
      s.protectData = false;
      return reply(200, "Data connections in clear text.");
    case "P":
      s.protectData = true;
      return reply(200, "Data connections protected by TLS.");
    case "S":
    case "E":
      return reply(536, "Only PROT C and P are supported.");
    default:
      return reply(504, "PROT takes C or P.");
  }
}
