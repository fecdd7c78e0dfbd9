/**
 * A door's accept loop. A connection its client reset before the server took
 * it fails inside accept (Deno cannot read its address: NotConnected); that
 * costs that connection only. So does a moment without a free file
 * descriptor. Only closing the listener ends the loop: one client must never
 * stop a door from accepting the next.
 */
import { isNetworkError } from "./stream.ts";

/** Pause after an accept that failed for a reason other than its own connection (EMFILE). */
const RETRY_MS = 100;

/**
 * Accepts until the listener is closed (`stopping()` says it was on purpose),
 * giving each connection to `take`; other failures are told to `report`, a
 * failure repeated in a row once.
 */
export async function acceptLoop<C extends Deno.Conn>(
  listener: Deno.Listener<C>,
  take: (conn: C) => void,
  stopping: () => boolean,
  report: (message: string) => void,
): Promise<void> {
  let reported = "";
  for (;;) {
    let conn: C;
    try {
      conn = await listener.accept();
    } catch (err) {
      if (stopping() || err instanceof Deno.errors.BadResource) return; // the listener is closed
      if (isNetworkError(err) || err instanceof Deno.errors.NotConnected) continue;
      const message = `accept failed: ${err}`;
      if (message !== reported) report(message);
      reported = message;
      await new Promise((r) => setTimeout(r, RETRY_MS));
      continue;
    }
    reported = "";
    try {
      take(conn);
    } catch (err) {
      report(`connection dropped: ${err}`);
      try {
        conn.close();
      } catch {
        // closed already
      }
    }
  }
}
