/**
 * Order of work around loopback TIME_WAIT. A session storm leaves about two
 * sockets per session in TIME_WAIT for 60 s, and past about 23,000 of them
 * every server's session rate falls here (measured with pyftpdlib in 1 s
 * windows: steady up to ~20,000, -20% at 23,000, a tenth at 26,000; the
 * ephemeral ports run out), so a window run then measures the kernel. A session-rate window therefore starts only when the
 * count plus what the window will add stays under TIME_WAIT_CAP; the other
 * measurements, which leave next to nothing in TIME_WAIT, run while it drains.
 */
import { timeWait } from "./measure.ts";

/** Most TIME_WAIT sockets a window may end with (what it finds plus what it adds). */
export const TIME_WAIT_CAP = 21_000;
/** TIME_WAIT sockets a session leaves (control and data connection; 2.0–2.1 measured), with margin. */
const PER_SESSION = 2.2;
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
  /** The server it measures: its own TIME_WAIT must be drained first. */
  server: string;
  round: number;
  rate(): number | undefined;
  seconds: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expected(w: Window): number {
  return (w.rate() ?? UNKNOWN_RATE) * w.seconds * PER_SESSION;
}

/** How long a window's TIME_WAIT sockets last after it ends, ms (60 s, and a margin). */
const LINGER_MS = 62_000;

/**
 * Runs every task. The probes (round 0) go first. Then, of the windows of the
 * earliest round left and the next one, one that leaves next to nothing, or
 * else the largest that may start, runs. A window may start when the count
 * plus what it adds stays under the cap, and when its own server's earlier
 * windows have drained: a server's own recent windows slow its next one far
 * more than other servers' do (xxftp back to back, a 4 s window then two of
 * 2 s: 1,350, 800, 160 sessions/s, at 0, 10,600 and 14,000 TIME_WAIT; after
 * pyftpdlib's windows, at 13,700, it kept 1,590). A smaller window runs
 * beside the largest only while what the smaller ones add since the last
 * largest one still leaves room for the next largest, so the large windows,
 * which need a drained count, are not kept waiting. The other tasks run, in
 * order, whenever no window may start.
 */
export async function schedule(windows: Window[], others: Task[], log: (l: string) => void) {
  const need = (w: Window) => Math.min(expected(w), TIME_WAIT_CAP - DRAINED);
  /** What each window left in TIME_WAIT, and until when. */
  const left: { server: string; amount: number; until: number }[] = [];
  const own = (server: string) =>
    left.filter((l) => l.server === server && l.until > performance.now())
      .reduce((sum, l) => sum + l.amount, 0);
  let besideLargest = 0;
  let blockedSince = 0;
  while (windows.length > 0 || others.length > 0) {
    const tw = timeWait();
    const first = windows[0]?.round ?? 0;
    const eligible = windows.filter((w) => w.round <= (first === 0 ? 0 : first + 1));
    const largest = eligible.reduce<Window | null>((a, w) => a && need(a) >= need(w) ? a : w, null);
    const fitting = eligible.filter((w) =>
      tw + need(w) <= TIME_WAIT_CAP && (w.round === 0 || own(w.server) <= DRAINED) &&
      (w === largest || besideLargest + need(w) + need(largest!) <= TIME_WAIT_CAP)
    );
    // A window that leaves next to nothing goes first: it holds up no later window of its server.
    const pick = fitting.find((w) => need(w) <= DRAINED) ??
      fitting.reduce<Window | null>((a, w) => a && need(a) >= need(w) ? a : w, null);
    const overdue = blockedSince > 0 && performance.now() - blockedSince > DRAIN_MAX_MS;
    if (pick !== null || (overdue && largest !== null)) {
      if (pick === null) log(`  (TIME_WAIT still ${tw} after ${DRAIN_MAX_MS / 1000} s: going on)`);
      const w = pick ?? largest!;
      besideLargest = w === largest ? 0 : besideLargest + need(w);
      blockedSince = 0;
      windows.splice(windows.indexOf(w), 1);
      await w.run();
      left.push({ server: w.server, amount: expected(w), until: performance.now() + LINGER_MS });
    } else if (others.length > 0) {
      await others.shift()!.run();
    } else {
      if (blockedSince === 0) blockedSince = performance.now();
      await sleep(250);
    }
  }
}
