/**
 * Order of work around loopback TIME_WAIT. A session storm leaves sockets in
 * TIME_WAIT for 60 s, and those holding ports of the ephemeral range crowd
 * clients' connect() out of ports: past about 23,000 of them every server's
 * session rate fell here (pyftpdlib in 1 s windows: steady up to ~20,000,
 * -20% at 23,000, a tenth at 26,000), so a window run then measures the
 * kernel. Which sockets those are depends on the server (passive ports in
 * the range or not), so each window kind's count per session is measured,
 * first by its probe. A session-rate window starts only when the count plus
 * what the window will add stays under TIME_WAIT_CAP; the other
 * measurements, which leave next to nothing, run while it drains.
 */
import { timeWait } from "./measure.ts";

/** Most TIME_WAIT sockets (in the ephemeral range) a window may end with. */
export const TIME_WAIT_CAP = 21_000;
/** Such sockets per session when a kind has not been measured yet (the most seen: 2.0-2.1). */
const PER_SESSION = 2.2;
/** Measured counts per session are raised by this, to stay on the safe side. */
const MARGIN = 1.15;
/** Assumed rate of a window that has not run in an earlier round. */
const UNKNOWN_RATE = 2_000;
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
  /** TIME_WAIT sockets in the range its kind left per session, once measured. */
  perSession(): number | undefined;
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expected(w: Window): number {
  const per = w.perSession();
  return (w.rate() ?? UNKNOWN_RATE) * w.seconds * (per === undefined ? PER_SESSION : per * MARGIN);
}

/**
 * Runs every task. The probes (round 0) go first. Then, of the windows of the
 * earliest round left and the next one, the largest that may start runs: a
 * window may start when the count plus what it adds stays under the cap. A
 * smaller window runs beside the largest only while what the smaller ones
 * add since the last largest one still leaves room for the largest, so the
 * large windows, which need a drained count, are not kept waiting. The other
 * tasks run, in order, whenever no window may start.
 */
export async function schedule(windows: Window[], others: Task[], log: (l: string) => void) {
  const need = (w: Window) => Math.min(expected(w), TIME_WAIT_CAP);
  let besideLargest = 0;
  let blockedSince = 0;
  while (windows.length > 0 || others.length > 0) {
    const tw = timeWait();
    const first = windows[0]?.round ?? 0;
    const eligible = windows.filter((w) => w.round <= (first === 0 ? 0 : first + 1));
    const largest = eligible.reduce<Window | null>((a, w) => a && need(a) >= need(w) ? a : w, null);
    const fitting = eligible.filter((w) =>
      w.round === 0 || (tw + need(w) <= TIME_WAIT_CAP &&
        (w === largest || besideLargest + need(w) + need(largest!) <= TIME_WAIT_CAP))
    );
    const pick = fitting.reduce<Window | null>((a, w) => a && need(a) >= need(w) ? a : w, null);
    const overdue = blockedSince > 0 && performance.now() - blockedSince > DRAIN_MAX_MS;
    if (pick !== null || (overdue && largest !== null)) {
      if (pick === null) log(`  (TIME_WAIT still ${tw} after ${DRAIN_MAX_MS / 1000} s: going on)`);
      const w = pick ?? largest!;
      besideLargest = w === largest ? 0 : besideLargest + need(w);
      blockedSince = 0;
      windows.splice(windows.indexOf(w), 1);
      await w.run();
    } else if (others.length > 0) {
      await others.shift()!.run();
    } else {
      if (blockedSince === 0) blockedSince = performance.now();
      await sleep(250);
    }
  }
}
