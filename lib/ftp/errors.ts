/**
 * The one place where a refusal or an error that reached the FTP door
 * becomes a reply. Refusals of the core and the storage map to their codes,
 * a lost connection to 426 with one log line; anything else is a bug of
 * ours, logged with its stack and answered 451 without host paths or internals.
 */
import { type RefusalKind, refusalOf } from "../core/refusal.ts";
import { StorageError } from "../storage/storage.ts";
import { replies, type Reply, reply } from "./replies.ts";
import { isNetworkError } from "../net/stream.ts";

/** The FTP reply for each refusal. */
export const REFUSALS: Record<RefusalKind, Reply> = {
  "not-found": replies.notFound,
  "exists": reply(550, "Already exists."),
  "not-empty": reply(550, "Directory not empty."),
  "no-space": reply(452, "Insufficient storage space."),
  "denied": replies.denied,
  "not-a-folder": replies.notADir,
  "not-a-file": replies.notAFile,
  "gone": reply(450, "The file changed while in use; try again."),
  // 451, not 421: the session goes on (421 tells the client the connection is closing).
  "unavailable": reply(451, "Storage temporarily unavailable; try again later."),
  "invalid": reply(553, "File name not allowed by this storage (too long?)."),
  "hidden": replies.hidden,
  "bad-name": replies.badName,
  "fixed": replies.virtualFixed,
  "quota": replies.quota,
  "misconfigured": reply(552, "Refused: the storage limit here is misconfigured."),
  "into-itself": reply(553, "A folder cannot move into itself."),
  "past-end": reply(554, "Restart offset is past the end of the file."),
};

/** The reply for `err`; `log` gets one line when the error needs an operator's eye. */
export function replyForError(err: unknown, log: (line: string) => void): Reply {
  if (isNetworkError(err)) {
    log(`connection lost: ${err instanceof Error ? err.message : String(err)}`);
    return replies.aborted;
  }
  const kind = refusalOf(err);
  if (kind !== null) {
    // A refusal by Deno's sandbox or by file modes, or a store failing, is worth knowing about.
    const noted: RefusalKind[] = ["denied", "unavailable", "invalid"];
    if (noted.includes(kind) && err instanceof StorageError) log(err.message);
    return REFUSALS[kind];
  }
  log(err instanceof Error ? err.stack ?? err.message : String(err));
  return replies.local;
}
