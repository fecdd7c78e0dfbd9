/** Test support: a folder tree as data, so two trees (sent and received) compare with deepEqual. */
import { join } from "node:path";

/**
 * Every entry under `root` except hidden ones: relative path → `dir/` for a
 * folder, or the file's size and SHA-256.
 */
export async function treeOf(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (dir: string, rel: string) => {
    for await (const e of Deno.readDir(dir)) {
      if (e.name.startsWith(".")) continue;
      const path = join(dir, e.name), name = rel + e.name;
      if (e.isDirectory) {
        out[name] = "dir/";
        await walk(path, name + "/");
      } else {
        const bytes = await Deno.readFile(path);
        const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
        out[name] = `${bytes.length} ${
          Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("")
        }`;
      }
    }
  };
  await walk(root, "");
  return out;
}

/** Whether a server's output holds a stack trace (a bug of ours: every fault gets one log line). */
export const hasStackTrace = (output: string): boolean => /^\s+at .+:\d+:\d+\)?$/m.test(output);
