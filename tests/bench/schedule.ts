/**
 * Order of work around loopback TIME_WAIT. A session storm leaves about two
 * sockets per session in TIME_WAIT for 60 s, and past about 25,000 of them
 * every server's session rate collapses here (measured: fine up to ~23,000,
 * a tenth at 26,000; the ephemeral ports run out), so a window run then
 * measures the kernel. A session-rate window therefore starts only when the
 * count plus what the window will add stays under TIME_WAIT_CAP; the other
 * measurements, which leave next to nothing in TIME_WAIT, run while it drains.
 */
import { timeWait } from "./measure.ts";

/** Most TIME_WAIT sockets a window may end with. */
export const TIME_WAIT_CAP = 22_000;
/** TIME_WAIT sockets a session leaves (control and data connection; ~2.1 measured), with margin. */
const PER_SESSION = 2.3;
/** Assumed rate of a window that has not run in an earlier round. */
const UNKNOWN_RATE = 2_000;
/** A window that would pass the cap by itself starts when the count is down to this. */
const DRAINED = 1_000;
/** Longest wait for the count to fall before the next window runs anyway (and says so). */
const DRAIN_MAX_MS = 65_000;

/** Any measurement. */
export interface Task {
  run(): Promise<void>;
}

/** A session-rate window; `rate` is its sessions/s in an earlier round, if any. */
export interface Window extends Task {
  round: number;
  rate(): number | undefined;
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expected(w: Window): number {
  return (w.rate() ?? UNKNOWN_RATE) * w.seconds * PER_SESSION;
}

/**
 * Runs every task. The probes (round 0) go first; then, of the windows of
 * the earliest round left and the next one, the one leaving the most
 * TIME_WAIT sockets among those that fit, so the smaller ones fill the room
 * beside it instead of keeping it waiting. The other tasks run, in order,
 * whenever no window fits.
 */
export async function schedule(windows: Window[], others: Task[], log: (l: string) => void) {
  let blockedSince = 0;
  while (windows.length > 0 || others.length > 0) {
    const tw = timeWait();
    const first = windows[0]?.round ?? 0;
    const last = first === 0 ? 0 : first + 1;
    let pick = -1;
    windows.forEach((w, i) => {
      const need = Math.min(expected(w), TIME_WAIT_CAP - DRAINED);
      const fits = w.round <= last && tw + need <= TIME_WAIT_CAP;
      if (fits && (pick < 0 || expected(w) > expected(windows[pick]))) pick = i;
    });
    const overdue = blockedSince > 0 && performance.now() - blockedSince > DRAIN_MAX_MS;
    if (pick >= 0 || (overdue && windows.length > 0)) {
      if (pick < 0) log(`  (TIME_WAIT still ${tw} after ${DRAIN_MAX_MS / 1000} s: going on)`);
      blockedSince = 0;
      await windows.splice(Math.max(pick, 0), 1)[0].run();
    } else if (others.length > 0) {
      await others.shift()!.run();
    } else {
      if (blockedSince === 0) blockedSince = performance.now();
      await sleep(250);
    }
  }
}
