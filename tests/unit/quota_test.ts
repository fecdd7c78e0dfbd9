import assert from "node:assert/strict";
import { join } from "node:path";
import { QuotaBook, type Reservation } from "../../lib/core/quota.ts";
import { Refused } from "../../lib/core/refusal.ts";
import { LocalStorage } from "../../lib/storage/local.ts";
import { LEDGER_FILE } from "../../lib/core/ledger.ts";
import { TreeConfig } from "../../lib/core/tree_files.ts";
import { makeTree, writeTree } from "../support/server.ts";

const reserve = (book: QuotaBook, folders: string[], credit = 0): Promise<Reservation> =>
  book.reserve(folders, credit);

Deno.test("folderSize counts files below, not .xxftp or upload temporaries", async () => {
  const root = await makeTree({
    "a.bin": "12345",
    "d/b.bin": "123",
    ".xxftp/size": "999999",
    "d/.xxftp-part-x": "123456789",
  });
  try {
    const book = new QuotaBook(new TreeConfig(new LocalStorage(), root, () => {}), [root]);
    assert.equal(await book.folderSize(root), 8);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("quota book: reservations never pass a limit; settle keeps the figure current", async () => {
  const root = await makeTree({ "u/.xxftp/size": "100", "u/old.bin": "x".repeat(40) });
  const u = join(root, "u");
  const book = new QuotaBook(new TreeConfig(new LocalStorage(), root, () => {}), [root]);
  try {
    assert.deepEqual(book.foldersOf(join(u, "f.bin")), [u, root]);
    const a = await reserve(book, [u]);
    const b = await reserve(book, [u]);
    assert.equal(a.take(30), true);
    assert.equal(b.take(30), true);
    assert.equal(b.take(1), false, "40 + 30 + 30 + 1 > 100");
    a.settle(30);
    b.settle(0); // failed upload: its bytes are released
    const c = await reserve(book, [u]);
    assert.equal(c.take(30), true);
    assert.equal(c.take(1), false, "40 + 30 stored + 30 reserved");
    c.settle(0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("quota book: walks again when the limit changes or the figure is stale and idle", async () => {
  const root = await makeTree({ "u/.xxftp/size": "100", "u/old.bin": "x".repeat(40) });
  const u = join(root, "u");
  const tree = new TreeConfig(new LocalStorage(), root, () => {});
  const fresh = new QuotaBook(tree, [root], 60_000);
  const stale = new QuotaBook(tree, [root], 0);
  try {
    (await reserve(fresh, [u])).settle(0);
    (await reserve(stale, [u])).settle(0);
    await writeTree(root, { "u/outside.bin": "y".repeat(50) }); // written behind the server's back
    await new Promise((r) => setTimeout(r, 5));
    const f = await reserve(fresh, [u]);
    assert.equal(f.take(60), true, "a fresh figure does not see the outside write yet");
    f.settle(0);
    const s = await reserve(stale, [u]);
    assert.equal(s.take(11), false, "a stale figure is walked again: 40 + 50 + 11 > 100");
    s.settle(0);
    await writeTree(root, { "u/.xxftp/size": "200" });
    const g = await reserve(fresh, [u]);
    assert.equal(g.take(110), true, "a new limit means a new walk: 90 + 110 <= 200");
    assert.equal(g.take(1), false);
    g.settle(0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("quota book: a broken size file refuses as misconfigured", async () => {
  const root = await makeTree({ "u/.xxftp/size": "lots" });
  const book = new QuotaBook(new TreeConfig(new LocalStorage(), root, () => {}), [root]);
  try {
    await assert.rejects(
      book.reserve([join(root, "u")]),
      (e) => e instanceof Refused && e.kind === "misconfigured",
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("quota book: replacing a file counts only what the new copy adds", async () => {
  const root = await makeTree({ "u/.xxftp/size": "100", "u/f.bin": "x".repeat(80) });
  const u = join(root, "u");
  const book = new QuotaBook(new TreeConfig(new LocalStorage(), root, () => {}), [root]);
  try {
    const same = await reserve(book, [u], 80);
    assert.equal(same.take(90), true, "80 - 80 + 90 <= 100");
    assert.equal(same.take(11), false, "80 - 80 + 101 > 100");
    same.settle(90 - 80);
    const other = await reserve(book, [u]);
    assert.equal(other.take(10), true, "90 stored + 10");
    assert.equal(other.take(1), false);
    other.settle(0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

/** A local tree that says several servers share it: limits go through the ledger. */
class SharedTree extends LocalStorage {
  override readonly capabilities = { chmod: true, shared: true };
}

Deno.test("quota book, shared: two servers' claims never pass a limit together", async () => {
  const root = await makeTree({ "u/.xxftp/size": "100", "u/old.bin": "x".repeat(40) });
  const u = join(root, "u");
  const storage = new SharedTree();
  const a = new QuotaBook(new TreeConfig(storage, root, () => {}), [root]);
  const b = new QuotaBook(new TreeConfig(storage, root, () => {}), [root]);
  try {
    const ra = await reserve(a, [u]);
    const rb = await reserve(b, [u]);
    const [tookA, tookB] = await Promise.all([ra.take(40), rb.take(40)]);
    assert.equal(Number(tookA) + Number(tookB), 1, "60 bytes of room: one of the two 40s fits");
    const [winner, loser] = tookA ? [ra, rb] : [rb, ra];
    assert.equal(await winner.take(21), false, "40 + 40 + 21 > 100");
    await loser.settle(0);
    await writeTree(root, { "u/new.bin": "y".repeat(40) }); // what the winner uploaded
    await winner.settle(40);
    const ledger = JSON.parse(await Deno.readTextFile(join(u, ".xxftp", LEDGER_FILE)));
    assert.equal(ledger.used, 80, "the landed bytes moved into the figure");
    assert.deepEqual(ledger.claims, {}, "and every claim was given back");
    const next = await reserve(tookA ? b : a, [u]);
    assert.equal(await next.take(20), true, "the other server now has the 20 left");
    assert.equal(await next.take(1), false);
    await next.settle(0);
    await a.adjust([u], -40); // a delete through one server
    const after = await reserve(b, [u]);
    assert.equal(await after.take(60), true, "frees room on the other");
    await after.settle(0);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
