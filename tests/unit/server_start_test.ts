/**
 * A server that cannot start holds nothing: what it opened before the failure
 * (the storage's watch of the root) is closed. Deno's sanitizers do not see a
 * watch; the kernel's list of this process's inotify watches does.
 */
import assert from "node:assert/strict";
import { startServer } from "../../lib/server.ts";
import { serverOptions } from "../support/server_options.ts";

/**
 * The inotify watches this process holds on `path`'s inode (Deno keeps one
 * inotify instance for all its watchers, and other test files run in this
 * process too: only this folder's watch is counted).
 */
function watchesOf(path: string): number {
  const ino = `ino:${Deno.statSync(path).ino!.toString(16)} `;
  let n = 0;
  for (const e of Deno.readDirSync("/proc/self/fd")) {
    try {
      if (Deno.readLinkSync(`/proc/self/fd/${e.name}`) !== "anon_inode:inotify") continue;
      const info = Deno.readTextFileSync(`/proc/self/fdinfo/${e.name}`);
      n += info.split("\n").filter((l) => l.startsWith("inotify wd:") && l.includes(ino)).length;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

Deno.test("a server whose FTP port is taken fails to start and leaves no watch open", async () => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "xxftp-start-" }));
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const options = serverOptions(root, taken.addr.port);
  await assert.rejects(startServer(options, () => {}), Deno.errors.AddrInUse);
  assert.equal(watchesOf(root), 0, "the root's watch was left open");
  await Deno.remove(root, { recursive: true });
});
