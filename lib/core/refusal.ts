/**
 * Why the core refuses something, as a value each door maps to its own
 * reply in one place. The storage's error kinds are among them.
 */
import { StorageError, type StorageErrorKind } from "../storage/storage.ts";

/** Every reason a request can be refused for. */
export type RefusalKind =
  | StorageErrorKind
  /** A name starting with a dot. */
  | "hidden"
  /** A name or path that is too long or holds NUL. */
  | "bad-name"
  /** The user's `/` or a virtual directory's mount point: never changed. */
  | "fixed"
  /** A storage limit would be passed. */
  | "quota"
  /** A tree file needed here cannot be understood (fails closed). */
  | "misconfigured"
  /** A folder cannot move into itself. */
  | "into-itself"
  /** A restart offset lies past the end of the file. */
  | "past-end";

/** A refusal thrown across the core's boundary. */
export class Refused extends Error {
  constructor(readonly kind: RefusalKind, message: string = kind) {
    super(message);
    this.name = "Refused";
  }
}

/** The refusal kind of an error, or null when it is not one (a bug, or a network error). */
export function refusalOf(err: unknown): RefusalKind | null {
  if (err instanceof Refused || err instanceof StorageError) return err.kind;
  return null;
}
