/**
 * The command loop of one control connection: the greeting, bounded lines,
 * the pre-login cap, and each command through the table. Commands other than
 * ABOR, STAT, NOOP and QUIT wait for a running transfer to end.
 */
import { dispatch } from "./commands.ts";
import { replyForError } from "./errors.ts";
import { type LineResult, stripTelnet } from "./line_reader.ts";
import { replies, reply } from "./replies.ts";
import type { Session } from "./session.ts";

/** Verbs answered at once while a transfer runs; others wait for it to end. */
const DURING_TRANSFER = new Set(["ABOR", "STAT", "NOOP", "QUIT"]);

/** The 220 greeting when there is no `xxftp.welcome`; it names no version. */
const GREETING = "xxftp ready.";

/** Commands a client may send before it has logged in. */
const MAX_COMMANDS_BEFORE_LOGIN = 30;

/** Decodes whole command lines (no state kept between calls, so one serves every session). */
const decoder = new TextDecoder("utf-8", { fatal: true });

/** Whether a command line holds control characters other than TAB (NUL, lone CR, ...). */
function hasControlChars(line: string): boolean {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if ((c < 32 && c !== 9) || c === 127) return true;
  }
  return false;
}

/**
 * Runs the session until the client leaves or is closed, then calls `ended`.
 * It never rejects, and the loop is in this one frame: an idle session holds
 * this call and its pending read, nothing else.
 */
export async function runSession(s: Session, ended: () => void): Promise<void> {
  try {
    if (!await greet(s)) return void await s.close();
    while (!s.closed) {
      let next: LineResult;
      try {
        next = await s.reader.next();
      } catch {
        break; // the connection was lost: as good as its end
      }
      if (next.kind === "end") break;
      if (next.kind === "too-long") {
        await s.close(replies.tooLong);
        break;
      }
      s.lastActivity = Date.now();
      let line: string;
      try {
        line = decoder.decode(stripTelnet(next.bytes));
      } catch {
        await s.send(reply(501, "Command is not valid UTF-8."));
        continue;
      }
      await handle(s, line);
    }
    await s.close();
    await s.transfer?.done;
  } catch (err) {
    s.log(`session error: ${err}`);
  } finally {
    ended();
  }
}

/** Implicit FTPS's handshake, then the greeting; false when the handshake failed. */
async function greet(s: Session): Promise<boolean> {
  if (s.ctx.tls?.implicit) {
    s.protectData = true;
    const ok = await s.secureControl().then(() => true, (err) => {
      s.emit({ event: "tls", channel: "control", message: err.message });
      return false;
    });
    if (!ok) return false;
  }
  const welcome = await s.ctx.core.tree.banner("xxftp.welcome");
  await s.send(reply(220, welcome ?? GREETING));
  return true;
}

async function handle(s: Session, line: string): Promise<void> {
  if (hasControlChars(line)) {
    await s.send(reply(501, "Control characters are not allowed in commands."));
    return;
  }
  const space = line.indexOf(" ");
  const verb = (space < 0 ? line : line.slice(0, space)).toUpperCase();
  const arg = space < 0 ? "" : line.slice(space + 1);
  if (s.user === null && ++s.commandsBeforeLogin > MAX_COMMANDS_BEFORE_LOGIN) {
    await s.close(reply(421, "Too many commands before login."));
    return;
  }
  if (s.transfer && !DURING_TRANSFER.has(verb)) await s.transfer.done;
  try {
    const r = await dispatch(s, verb, arg);
    if (r) await s.send(r);
  } catch (err) {
    await s.send(replyForError(err, (l) => s.log(`${verb}: ${l}`)));
  } finally {
    if (verb !== "REST") s.restOffset = 0;
  }
}
