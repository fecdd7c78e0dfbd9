import assert from "node:assert/strict";
import { join } from "node:path";
import { TreeConfig } from "../../lib/core/tree_files.ts";
import { LocalStorage } from "../../lib/storage/local.ts";
import { isInside, splitUserPath, type Target, Vfs } from "../../lib/core/vfs.ts";
import { makeTree } from "../support/server.ts";

const long = "a".repeat(5000);

/** The target of a path that must resolve. */
async function target(vfs: Vfs, cwd: string, path: string): Promise<Target> {
  const r = await vfs.resolve(cwd, path);
  if (!r.ok) throw new Error(`${path} was refused: ${r.refusal}`);
  return r.target;
}

// [cwd, argument, expected parts or the refusal]
const SPELLINGS: [string, string, string[] | "hidden" | "bad"][] = [
  ["/", "", []],
  ["/", ".", []],
  ["/", "..", []],
  ["/", "../..", []],
  ["/", "/../x", ["x"]],
  ["/a", "../../b", ["b"]],
  ["/", "a/../../b", ["b"]],
  ["/a/b", "..", ["a"]],
  ["/a/b", "../../../../etc/passwd", ["etc", "passwd"]],
  ["/", "a\\..\\..\\b", ["b"]],
  ["/", "\\..\\x", ["x"]],
  ["/", "%2e%2e/x", ["%2e%2e", "x"]],
  ["/", "%2e%2e%2fx", ["%2e%2e%2fx"]],
  ["/", "dir/", ["dir"]],
  ["/", "dir///", ["dir"]],
  ["/", "//a//b", ["a", "b"]],
  ["/a", "./b/./c", ["a", "b", "c"]],
  ["/", "a b/ c ", ["a b", " c "]],
  ["/", "日本語/файл", ["日本語", "файл"]],
  ["/", ".profile", "hidden"],
  ["/", "a/.xxftp/password", "hidden"],
  ["/", "a/../.xxftp", "hidden"],
  ["/", "...", "hidden"],
  ["/", ".\\.xxftp", "hidden"],
  ["/x", "..\\.hidden", "hidden"],
  ["/", "a\0b", "bad"],
  ["/", long, "bad"],
  ["/", `ok/${"é".repeat(200)}`, "bad"],
];

Deno.test("splitUserPath: every spelling stays under / and hidden names are refused", () => {
  for (const [cwd, arg, expected] of SPELLINGS) {
    const got = splitUserPath(cwd, arg);
    const want = expected === "bad" ? "bad-name" : expected;
    assert.deepEqual(got, want, `${cwd} + ${JSON.stringify(arg.slice(0, 40))}`);
  }
});

Deno.test("isInside: prefix tricks are not inside", () => {
  const rows: [string, string, boolean][] = [
    ["/srv/a", "/srv/a", true],
    ["/srv/a", "/srv/a/b", true],
    ["/srv/a", "/srv/ab", false],
    ["/srv/a", "/srv", false],
    ["/srv/a", "/srv/a/../b", false],
    ["/srv/a", "/etc/passwd", false],
  ];
  for (const [base, real, want] of rows) {
    assert.deepEqual(isInside(base, real), want, `${base} ${real}`);
  }
});

Deno.test("Vfs.resolve: symlinks may not lead out of the user's tree", async () => {
  const root = await makeTree({
    "outside/secret.txt": "secret",
    "u/in.txt": "in",
    "u/sub/": "",
  });
  await Deno.symlink(join(root, "outside"), join(root, "u/outdir"));
  await Deno.symlink(join(root, "outside/secret.txt"), join(root, "u/outfile"));
  await Deno.symlink(join(root, "u/in.txt"), join(root, "u/sub/inlink"));
  const vfs = new Vfs(new TreeConfig(new LocalStorage(), root, () => {}), join(root, "u"), [root]);
  try {
    for (
      const path of ["outdir", "outdir/secret.txt", "outfile", "outdir/new.txt", "/sub/../outdir"]
    ) {
      const r = await vfs.resolve("/", path);
      assert.deepEqual(r.ok ? "resolved" : r.refusal, "not-found", `${path} must be refused`);
    }
    assert.ok((await target(vfs, "/sub", "inlink")).stat?.isFile, "a link that stays inside works");
    const fresh = await target(vfs, "/sub", "new.txt");
    assert.deepEqual([fresh.stat, fresh.realPath], [null, join(root, "u/sub/new.txt")]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("Vfs.resolve: virtual directories map with their permissions", async () => {
  const root = await makeTree({
    "u/.xxftp/permission": "read",
    "u/a/b/.xxftp/virtual":
      "share $root/shared read,write\nbad line here too many\nout /etc read\n",
    "shared/f.txt": "x",
  });
  const logged: string[] = [];
  const vfs = new Vfs(
    new TreeConfig(new LocalStorage(), root, (l) => logged.push(l)),
    join(root, "u"),
    [root],
  );
  try {
    assert.deepEqual([...(await target(vfs, "/", "a/b")).perms], ["read"]);
    const share = await target(vfs, "/a/b", "share");
    assert.ok(share.fixed);
    assert.deepEqual(share.realPath, join(root, "shared"));
    assert.deepEqual([...share.perms].sort(), ["read", "write"]);
    const file = await target(vfs, "/a/b/share", "f.txt");
    assert.ok(!file.fixed && file.parentPerms.has("write"));
    const out = await vfs.resolve("/a/b", "out");
    assert.ok(!out.ok, "a target outside the root is refused");
    assert.ok(logged.some((l) => l.includes("/virtual:2: ")), "the bad line is logged");
    assert.ok(logged.some((l) => l.includes("outside the served root")), "the escape is logged");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
