/**
 * The one place where an error that reached the FTP door becomes a reply:
 * storage error kinds map to their codes, a lost connection to 426 with one
 * log line; anything else is a bug of ours, logged with its stack, and
 * answered 451 without host paths or internals.
 */
import { replies, type Reply, reply } from "./replies.ts";
import { isNetworkError } from "./stream.ts";

/** The reply for `err`; `log` gets one line when the error needs an operator's eye. */
export function replyForError(err: unknown, log: (line: string) => void): Reply {
  if (isNetworkError(err)) {
    log(`connection lost: ${err instanceof Error ? err.message : String(err)}`);
    return replies.aborted;
  }
  if (err instanceof Deno.errors.NotCapable || err instanceof Deno.errors.PermissionDenied) {
    const by = err instanceof Deno.errors.NotCapable ? "Deno's sandbox" : "the file system";
    log(`refused by ${by}: ${(err as Error).message}`);
    return replies.denied;
  }
  if (err instanceof Deno.errors.NotFound) return replies.notFound;
  if (err instanceof Deno.errors.FilesystemLoop) return replies.notFound; // a link cycle leads nowhere
  if (err instanceof Deno.errors.AlreadyExists) return reply(550, "Already exists.");
  if (err instanceof Deno.errors.NotADirectory) return replies.notADir;
  if (err instanceof Deno.errors.IsADirectory) return replies.notAFile;
  const code = (err as { code?: string }).code;
  if (code === "ENOTEMPTY") return reply(550, "Directory not empty.");
  if (code === "ENOSPC" || code === "EDQUOT") return reply(452, "Insufficient storage space.");
  log(err instanceof Error ? err.stack ?? err.message : String(err));
  return replies.local;
}
