/** `xxftp check`: one tree with one of each problem, the demo tree, and `serve` reporting at start. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { hashPassword } from "../../lib/core/passwords.ts";
import { makeTree, run, startServer } from "../support/server.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const HOME = new URL("../../home", import.meta.url).pathname;

const check = (root: string, ...args: string[]) =>
  run(Deno.execPath(), ["run", `--allow-read=${root}`, MAIN, "check", root, ...args]);

/** A tree with exactly one of each problem the checker knows. */
async function brokenTree(): Promise<string> {
  const scrypt = await hashPassword("pw");
  const root = await makeTree({
    "anonymous/.xxftp/permission": "read",
    "anonymous/.xxftp/virtual": [
      "# name path permissions",
      "incoming $root/anonymous/incoming read,write",
      "broken line",
      "gone $root/nowhere read",
      "escape /etc read",
    ].join("\n"),
    "anonymous/incoming/.xxftp-part-0123": "half an upload",
    "alice/.xxftp/password": scrypt,
    "alice/.xxftp/size": "lots",
    "alice/.xxftp/sise": "100",
    "alice/docs/.xxftp/permission": "read",
    "bob/.xxftp/permission": "read,wrte",
    "carol/.xxftp/password": "fe01ce2a7fbac8fafaed7c982a04e229\n",
    "dave/.xxftp/password": "hunter2\n",
    "erin/.xxftp/password": scrypt,
    "frank/notes.txt": "no password, may write",
    "bad-name/": "",
    "FTP/": "",
  });
  for (const user of ["alice", "carol", "dave"]) {
    await Deno.chmod(join(root, user, ".xxftp/password"), 0o600);
  }
  await Deno.chmod(join(root, "erin/.xxftp/password"), 0o644);
  return root;
}

/** The lines `check` prints for `brokenTree()`, in order. */
const expectedProblems = (root: string) => [
  `${root}/FTP: logging in as "FTP" means anonymous, so this folder is never anyone's home`,
  `${root}/alice/.xxftp/sise: not a settings file the server reads (password, permission, size, virtual): ignored`,
  `${root}/alice/.xxftp/size:1: "lots" is not a byte count: uploads refused`,
  `${root}/alice/docs/.xxftp/permission: ignored: only a user's own folder takes a permission file`,
  `${root}/anonymous/.xxftp/virtual:3: expected "<name> <real-path> <permissions>"`,
  `${root}/anonymous/.xxftp/virtual:4: virtual "gone" -> ${root}/nowhere does not exist`,
  `${root}/anonymous/.xxftp/virtual:5: virtual "escape" -> /etc lies outside the served root: refused (grant it with --allow-outside)`,
  `${root}/anonymous/incoming/.xxftp-part-0123: unfinished upload left by a stopped server (serve removes it at start)`,
  `${root}/bad-name: "bad-name" is not a user name (letters, digits and _, at most 64): nobody can log in to it`,
  `${root}/bob/.xxftp/permission:1: unknown permission "wrte": no permissions granted`,
  `${root}/carol/.xxftp/password:1: weak: a legacy MD5 hash; set a new password with: xxftp passwd carol`,
  `${root}/dave/.xxftp/password:1: not a password line the server knows (scrypt from xxftp passwd, or 32 hex digits of MD5): nobody can log in as dave`,
  `${root}/erin/.xxftp/password: readable by group or others (mode 644): chmod 600 it`,
  `${root}/frank: no password, yet frank may write: anyone who logs in as frank can change files (set one with: xxftp passwd frank)`,
];

Deno.test("check: one of each problem, exact lines, a table of users, exit 1", async () => {
  const root = await brokenTree();
  try {
    const r = await check(root);
    assert.equal(r.code, 1, r.stderr);
    const lines = r.stdout.split("\n");
    const want = expectedProblems(root);
    assert.deepEqual(lines.slice(0, want.length), want);
    assert.equal(lines[want.length], "");
    const table = lines.slice(want.length + 1, lines.indexOf("", want.length + 1));
    assert.match(table[0], /^user +home +login +rights at \/ +limit +used +virtual folders$/);
    const row = (user: string) => table.find((l) => l.startsWith(`${user} `))?.split(/ {2,}/);
    assert.deepEqual(row("anonymous"), [
      "anonymous",
      `${root}/anonymous`,
      "any password",
      "read",
      "-",
      "0 B",
      `/incoming -> ${root}/anonymous/incoming (read,write), /gone -> ${root}/nowhere (refused), /escape -> /etc (refused)`,
    ]);
    assert.deepEqual(row("alice"), [
      "alice",
      `${root}/alice`,
      "password",
      "read,write,modify",
      "broken",
      "0 B",
      "-",
    ]);
    assert.deepEqual(row("bob")?.slice(2, 4), ["no password", "none"]);
    assert.deepEqual(row("carol")?.[2], "password (MD5, weak)");
    assert.deepEqual(row("dave")?.[2], "broken password file");
    assert.deepEqual(row("frank")?.slice(2, 6), ["no password", "read,write,modify", "-", "22 B"]);
    assert.equal(row("bad-name"), undefined, "no table row for a folder nobody logs in to");
    assert.match(r.stdout, /\n14 problems found\n$/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("check: a folder a virtual folder shares is no problem; a size limit shows its usage", async () => {
  const root = await makeTree({
    "anonymous/.xxftp/virtual": "shared $root/shared-files read",
    "shared-files/a.txt": "12345",
    "limited/.xxftp/password": await hashPassword("pw"),
    "limited/.xxftp/size": "2048",
    "limited/big.bin": "x".repeat(1536),
  });
  try {
    await Deno.chmod(join(root, "limited/.xxftp/password"), 0o600);
    const r = await check(root);
    assert.equal(r.code, 0, r.stdout);
    assert.match(r.stdout, /^limited +\S+ +password +read,write,modify +2 KiB +1\.5 KiB +-$/m);
    assert.match(r.stdout, /\nno problems found\n$/);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("check: the demo tree home/ has no problems", async () => {
  // git keeps no file modes but the executable bit: a checkout has the demo password file at 0644
  // where `xxftp passwd` writes 0600 (the Makefile sets it too).
  await Deno.chmod(join(HOME, "demo/.xxftp/password"), 0o600);
  const r = await check(HOME);
  assert.equal(r.code, 0, r.stdout);
  assert.match(r.stdout, /^demo +\S+ +password +read,write,modify +10 MiB +/m);
});

Deno.test("check: usage errors exit 2; --help explains", async () => {
  const missing = await check("/nonexistent-xxftp-root");
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /root folder "\/nonexistent-xxftp-root" does not exist/);
  const stray = await check(HOME, "--port", "21");
  assert.equal(stray.code, 2);
  assert.match(stray.stderr, /--port does not belong to check/);
  const help = await run(Deno.execPath(), ["run", MAIN, "check", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: xxftp check \[ROOT\]/);
  assert.match(help.stdout, /Exit status: 0 nothing is wrong, 1 problems found, 2 usage error/);
});

Deno.test("serve logs the tree's problems once at start", async () => {
  const root = await brokenTree();
  await using srv = await startServer(root);
  await srv.waitFor("check: 13 problems in the tree");
  for (const line of expectedProblems(root)) {
    if (line.includes(".xxftp-part-")) continue; // serve removes these itself
    assert.equal(srv.output().split(`check: ${line}\n`).length - 1, 1, line);
  }
});
