/**
 * The root's banners as LocalStorage keeps them (watched_names.ts): a kept
 * stat is dropped by any change of the root, an edit from outside is seen
 * once its event arrives, the server's own change at once, and a banner that
 * the root's watch cannot fully see (a link, a file with another name) is
 * looked up every time.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { LocalStorage } from "../../lib/storage/local.ts";
import { WatchedNames } from "../../lib/storage/watched_names.ts";

/** Polls `check` until it holds (2 s at most): an inotify event arrives a moment after its change. */
async function eventually(what: string, check: () => Promise<boolean> | boolean) {
  for (let i = 0; i < 200; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`${what}: not seen within 2 s`);
}

Deno.test("kept values of watched names go with any change in the folder, or after a second", async () => {
  const root = await Deno.makeTempDir({ prefix: "xxftp-watched-" });
  const names = new WatchedNames<string>(root, new Set(["a", "b"]));
  const a = join(root, "a");
  try {
    assert.ok(names.covers(a));
    assert.ok(!names.covers(join(root, "c")), "a name not watched");
    assert.ok(!names.covers(join(root, "sub", "a")), "a watched name in another folder");
    assert.equal(names.get(a), undefined, "nothing kept yet");
    names.keep(a, "kept");
    assert.equal(names.get(a), "kept");
    names.forget(a);
    assert.equal(names.get(a), undefined, "forgotten when the server changed it");
    names.keep(a, "kept again");
    await Deno.writeTextFile(join(root, "unrelated"), "x");
    await eventually("a change of another entry", () => names.get(a) === undefined);
    names.keep(a, "old");
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(names.get(a), undefined, "a second at most, whatever the watch says");
  } finally {
    await names.close();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("LocalStorage sees banner edits from outside, its own at once, links and shared files live", async (t) => {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "xxftp-banners-" }));
  const outside = await Deno.realPath(await Deno.makeTempDir({ prefix: "xxftp-banners-out-" }));
  const storage = new LocalStorage({ root });
  const welcome = join(root, "xxftp.welcome");
  const goodbye = join(root, "xxftp.goodbye");
  const size = async (path: string) => (await storage.stat(path))?.size ?? null;
  try {
    await t.step("absent, then written, edited and removed from outside", async () => {
      assert.equal(await size(welcome), null);
      assert.equal(await size(welcome), null, "the kept absence");
      await Deno.writeTextFile(welcome, "hello");
      await eventually("the new banner", async () => await size(welcome) === 5);
      await Deno.writeTextFile(welcome, "hello, longer");
      await eventually("the edit", async () => await size(welcome) === 13);
      await Deno.remove(welcome);
      await eventually("the removal", async () => await size(welcome) === null);
    });
    await t.step("the server's own change is seen at once", async () => {
      assert.equal(await size(goodbye), null);
      const upload = await storage.createUpload(goodbye, 0);
      await upload.write(new TextEncoder().encode("bye"));
      await upload.commit();
      assert.equal(await size(goodbye), 3);
    });
    await t.step(
      "a link's target and a file with two names change where no watch looks",
      async () => {
        await Deno.remove(goodbye);
        const target = join(outside, "target");
        await Deno.writeTextFile(target, "link");
        await Deno.symlink(target, goodbye);
        await eventually("the link", async () => await size(goodbye) === 4);
        await Deno.writeTextFile(target, "three");
        assert.equal(await size(goodbye), 5, "the link followed at once");
        await Deno.remove(goodbye);
        await eventually("the link gone", async () => await size(goodbye) === null);
        const shared = join(outside, "shared");
        await Deno.writeTextFile(shared, "shared");
        await Deno.link(shared, goodbye);
        await eventually("the hard link", async () => await size(goodbye) === 6);
        await Deno.writeTextFile(shared, "four!");
        assert.equal(await size(goodbye), 5, "written through the other name: seen at once");
      },
    );
  } finally {
    await storage.close();
    await Deno.remove(root, { recursive: true });
    await Deno.remove(outside, { recursive: true });
  }
});
