/**
 * Absences kept by LocalStorage: a path found absent and then created by
 * anyone (another process, a rename, a link retargeted) is found at once.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Absences } from "../../lib/storage/absences.ts";
import { LocalStorage } from "../../lib/storage/local.ts";

/** Folders `user`, `u1`..`u4` whose ctime is old enough for absences below them to be kept. */
async function settledTree(): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "xxftp-absences-" });
  for (const name of ["user", "u1", "u2", "u3", "u4", "elsewhere"]) {
    await Deno.mkdir(join(root, name));
  }
  for (const user of ["user", "u4"]) {
    await Deno.symlink(join(root, "elsewhere", "missing"), join(root, user, "dangling"));
  }
  await new Promise((r) => setTimeout(r, 2100)); // ctime comes in whole seconds: let it settle
  return root;
}

Deno.test("an absence is kept while nothing changes, and dropped by any change", async (t) => {
  const root = await settledTree();
  try {
    const user = join(root, "user");
    await t.step("kept below a settled folder, also through a missing folder", () => {
      const a = new Absences();
      a.add(join(user, "file"));
      a.add(join(user, ".xxftp", "permission"));
      assert.ok(a.has(join(user, "file")));
      assert.ok(a.has(join(user, ".xxftp", "permission")));
      assert.ok(!a.has(join(user, "never-added")));
    });
    await t.step("a dangling link is never taken for an absence", () => {
      const a = new Absences();
      a.add(join(user, "dangling"));
      a.add(join(user, "dangling", "below"));
      assert.ok(!a.has(join(user, "dangling")));
      assert.ok(!a.has(join(user, "dangling", "below")));
    });
    await t.step("not kept below a folder that just changed", async () => {
      const a = new Absences();
      await Deno.mkdir(join(root, "fresh"));
      a.add(join(root, "fresh", "file"));
      assert.ok(!a.has(join(root, "fresh", "file")));
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalStorage.stat finds what appeared after it said absent", async (t) => {
  const root = await settledTree();
  const storage = new LocalStorage();
  try {
    // Each step in a folder of its own: a change makes a folder unsettled for two seconds.
    const stat = (...parts: string[]) => storage.stat(join(root, ...parts));
    await t.step("a file created by another process", async () => {
      assert.equal(await stat("u1", "a.txt"), null);
      assert.equal(await stat("u1", "a.txt"), null);
      const file = join(root, "u1", "a.txt");
      await new Deno.Command("sh", { args: ["-c", `echo hi > '${file}'`] }).output();
      assert.equal((await stat("u1", "a.txt"))?.size, 3);
    });
    await t.step("a settings file whose folder did not exist", async () => {
      assert.equal(await stat("u2", ".xxftp", "password"), null);
      await Deno.mkdir(join(root, "u2", ".xxftp"));
      await Deno.writeTextFile(join(root, "u2", ".xxftp", "password"), "x\n");
      assert.equal((await stat("u2", ".xxftp", "password"))?.size, 2);
    });
    await t.step("a file renamed into place", async () => {
      assert.equal(await stat("u3", "b.txt"), null);
      await Deno.writeTextFile(join(root, "b.tmp"), "abc");
      await Deno.rename(join(root, "b.tmp"), join(root, "u3", "b.txt"));
      assert.equal((await stat("u3", "b.txt"))?.size, 3);
    });
    await t.step("a dangling link whose target appears", async () => {
      assert.equal(await stat("u4", "dangling"), null);
      await Deno.writeTextFile(join(root, "elsewhere", "missing"), "four");
      assert.equal((await stat("u4", "dangling"))?.size, 4);
    });
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
