/**
 * Processes for the bench: servers started in their own process group (so a
 * forking server and every session process it made are stopped together),
 * their process tree, and its memory as the kernel accounts it (Pss).
 */

/** A started server process: its process-group leader and its log file. */
export interface Proc {
  pid: number;
  log: string;
  /** Resolves when the leader exits. */
  exited: Promise<Deno.CommandStatus>;
}

const running = new Set<Proc>();

/**
 * Starts `cmd args` as the leader of a new session and process group, stdout
 * and stderr into `log`. `setsid` and `sh -c exec` both keep the pid, so the
 * pid is the server's own.
 */
export function spawnGroup(
  cmd: string,
  args: string[],
  log: string,
  env: Record<string, string> = {},
): Proc {
  const child = new Deno.Command("setsid", {
    args: ["sh", "-c", 'exec "$@" >"$0" 2>&1 </dev/null', log, cmd, ...args],
    env,
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
  const proc = { pid: child.pid, log, exited: child.status };
  running.add(proc);
  return proc;
}

/** `pid` and all its descendants, found through the parent field of /proc/<pid>/stat. */
export function processTree(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
    } catch {
      continue; // exited while we looked
    }
    // The command name is in parentheses and may hold spaces; the parent pid follows it.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    const list = children.get(ppid) ?? [];
    list.push(Number(e.name));
    children.set(ppid, list);
  }
  const tree: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.pop()!;
    tree.push(p);
    queue.push(...(children.get(p) ?? []));
  }
  return tree;
}

/** Sum of one field ("Pss", "Rss") of /proc/<pid>/smaps_rollup over a process tree, in KiB. */
export function treeKiB(pid: number, field = "Pss"): number {
  const re = new RegExp(`^${field}:\\s+(\\d+) kB`, "m");
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      total += Number(re.exec(Deno.readTextFileSync(`/proc/${p}/smaps_rollup`))?.[1] ?? 0);
    } catch {
      // a session process that ended while we summed
    }
  }
  return total;
}

function signalAll(proc: Proc, signal: Deno.Signal) {
  const pids = processTree(proc.pid);
  try {
    Deno.kill(-proc.pid, signal);
  } catch {
    // the group is already gone
  }
  // Descendants that left the group (setsid in a session process) get it one by one.
  for (const p of pids) {
    try {
      Deno.kill(p, signal);
    } catch {
      // already gone
    }
  }
}

const STOP_GRACE_MS = 3000;

/** SIGTERM to the group and the tree, SIGKILL after a grace period; resolves when the leader is gone. */
export async function stop(proc: Proc): Promise<void> {
  if (!running.delete(proc)) return;
  signalAll(proc, "SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((r) => timer = setTimeout(() => r("late"), STOP_GRACE_MS));
  if (await Promise.race([proc.exited, late]) === "late") signalAll(proc, "SIGKILL");
  clearTimeout(timer);
  await proc.exited;
  signalAll(proc, "SIGKILL"); // session processes the leader left behind
}

/** Stops every server still running: for the bench's finally and its signal handlers. */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map(stop));
}
