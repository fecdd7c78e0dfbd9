/**
 * The one place where a refusal or an error that reached the HTTP door
 * becomes a status. Refusals of the core and the storage map to their codes;
 * anything else is a bug of ours, logged and answered 500 without host paths
 * or internals.
 */
import { type RefusalKind, refusalOf } from "../core/refusal.ts";
import { StorageError } from "../storage/storage.ts";

/** A status and the one line a client is told. */
export interface Failure {
  status: number;
  message: string;
}

/** The HTTP failure for each refusal. Hidden and malformed names look like missing ones. */
export const REFUSALS: Record<RefusalKind, Failure> = {
  "not-found": { status: 404, message: "Not found." },
  "hidden": { status: 404, message: "Not found." },
  "bad-name": { status: 404, message: "Not found." },
  "denied": { status: 403, message: "Permission denied." },
  "fixed": { status: 403, message: "This folder cannot be changed." },
  "exists": { status: 409, message: "Already exists." },
  "not-empty": { status: 409, message: "Folder not empty." },
  "not-a-folder": { status: 409, message: "Not a folder." },
  "not-a-file": { status: 409, message: "Not a file." },
  "into-itself": { status: 409, message: "A folder cannot move into itself." },
  "gone": { status: 409, message: "The file changed while in use; try again." },
  "quota": { status: 507, message: "Storage limit reached." },
  "no-space": { status: 507, message: "Insufficient storage space." },
  "misconfigured": { status: 500, message: "The storage limit here is misconfigured." },
  "past-end": { status: 416, message: "Range not satisfiable." },
  "unavailable": { status: 503, message: "Storage temporarily unavailable; try again later." },
  "invalid": { status: 400, message: "Name not allowed by this storage." },
};

/** The failure for `err`; `log` gets one line when the error needs an operator's eye. */
export function failureOf(err: unknown, log: (line: string) => void): Failure {
  const kind = refusalOf(err);
  if (kind !== null) {
    // A refusal by Deno's sandbox or by file modes is worth knowing about.
    if (kind === "denied" && err instanceof StorageError) log(err.message);
    return REFUSALS[kind];
  }
  log(err instanceof Error ? err.stack ?? err.message : String(err));
  return { status: 500, message: "Internal error." };
}

/**
 * A response body that broke off after its status was sent (a file that
 * shrank, a folder that could not be archived): already logged with its path.
 */
export class StreamBroke extends Error {}
