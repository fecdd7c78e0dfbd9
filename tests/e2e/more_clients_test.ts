/**
 * More real clients no one here wrote: ncftp (ncftpput/ncftpget/ncftpls),
 * tnftp (NetBSD's ftp), busybox ftpget/ftpput, and lftp listing through
 * STAT <path>. Each is judged by the bytes that arrive, not its exit code alone.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeTree, randomBytes, run, sameBytes, startServer } from "../support/server.ts";
import { hasStackTrace, treeOf } from "../support/trees.ts";

const MD5_OF_SECRET = "5ebe2294ecd0e0f08eab7690d2a6ee69";

/** A served tree with bob (password `secret`) and an anonymous user, and a local folder beside it. */
async function setup() {
  const payload = randomBytes(300_000);
  const root = await makeTree({
    "bob/.xxftp/password": MD5_OF_SECRET,
    "anonymous/pub/readme.txt": "read me\n",
    "local/payload.bin": payload,
    "local/tree/h.txt": "hello\n",
    "local/tree/sub/s.bin": randomBytes(70_000),
    "down/": "",
  });
  return { root, payload, local: join(root, "local"), down: join(root, "down") };
}

const ok = (r: { code: number; stdout: string; stderr: string }, what: string) =>
  assert.equal(r.code, 0, `${what}:\n${r.stdout}\n${r.stderr}`);

Deno.test("ncftp: ncftpput a file and a tree into new folders, ncftpget passive and active, ncftpls", async () => {
  const t = await setup();
  await using srv = await startServer(t.root);
  // -t: give up on a stalled connection; -T: no server-side tar for -R.
  const login = ["-u", "bob", "-p", "secret", "-P", String(srv.port), "-t", "20"];
  ok(
    await run("ncftpput", [...login, "-m", "127.0.0.1", "/up/new", join(t.local, "payload.bin")]),
    "ncftpput",
  );
  assert.ok(sameBytes(await Deno.readFile(join(t.root, "bob/up/new/payload.bin")), t.payload));
  ok(
    await run("ncftpput", [...login, "-m", "-R", "127.0.0.1", "/up/deep", join(t.local, "tree")]),
    "ncftpput -R",
  );
  assert.deepEqual(
    await treeOf(join(t.root, "bob/up/deep/tree")),
    await treeOf(join(t.local, "tree")),
  );

  ok(await run("ncftpget", [...login, "127.0.0.1", t.down, "/up/new/payload.bin"]), "ncftpget");
  assert.ok(sameBytes(await Deno.readFile(join(t.down, "payload.bin")), t.payload));
  const active = join(t.down, "active");
  await Deno.mkdir(active);
  ok(await run("ncftpget", [...login, "-E", "127.0.0.1", active, "/up/new/payload.bin"]), "-E");
  assert.ok(sameBytes(await Deno.readFile(join(active, "payload.bin")), t.payload));
  ok(await run("ncftpget", [...login, "-R", "-T", "127.0.0.1", t.down, "/up/deep/tree"]), "-R");
  assert.deepEqual(await treeOf(join(t.down, "tree")), await treeOf(join(t.local, "tree")));

  const long = await run("ncftpls", [...login, "-l", `ftp://127.0.0.1/up/deep/tree/`]);
  ok(long, "ncftpls -l");
  assert.match(long.stdout, /^-[rwx-]{9} .* 6 .* h\.txt$/m);
  assert.match(long.stdout, /^d[rwx-]{9} .* sub$/m);
  const names = await run("ncftpls", [...login, "-1", `ftp://127.0.0.1/up/deep/tree/`]);
  ok(names, "ncftpls -1");
  assert.deepEqual(names.stdout.trim().split("\n").sort(), ["h.txt", "sub"]);
  const missing = await run("ncftpget", [...login, "127.0.0.1", t.down, "/up/nothing.bin"]);
  assert.notEqual(missing.code, 0);
  assert.ok(!hasStackTrace(srv.output()), srv.output());
});

Deno.test("tnftp: a scripted session (put, mput, rename, get, mget, reget in active mode, STAT <path>) and URL transfers", async () => {
  const t = await setup();
  await Deno.writeFile(join(t.local, "second.bin"), randomBytes(123_456));
  await Deno.writeFile(join(t.down, "partial.bin"), t.payload.subarray(0, 100_000));
  await using srv = await startServer(t.root);
  // -n: no auto-login, the script logs in; -q: give up on a stalled transfer.
  const session = await run(
    "tnftp",
    ["-n", "-v", "-q", "20", "127.0.0.1", String(srv.port)],
    `user bob secret
binary
mkdir tn
cd tn
lcd ${t.local}
put payload.bin
prompt off
mput second.bin
rename second.bin renamed.bin
nlist
rstatus payload.bin
lcd ${t.down}
get renamed.bin
mget payload*
passive off
reget payload.bin partial.bin
passive on
delete renamed.bin
cd ..
mkdir gone
rmdir gone
quit
`,
  );
  ok(session, "tnftp session");
  const second = await Deno.readFile(join(t.local, "second.bin"));
  assert.ok(sameBytes(await Deno.readFile(join(t.root, "bob/tn/payload.bin")), t.payload));
  assert.ok(sameBytes(await Deno.readFile(join(t.down, "renamed.bin")), second));
  assert.ok(sameBytes(await Deno.readFile(join(t.down, "payload.bin")), t.payload));
  assert.ok(sameBytes(await Deno.readFile(join(t.down, "partial.bin")), t.payload), "reget");
  assert.deepEqual(Object.keys(await treeOf(join(t.root, "bob"))).sort(), ["tn", "tn/payload.bin"]);
  assert.match(session.stdout, /^renamed\.bin$/m, "nlist");
  assert.match(session.stdout, /^213--rw[rwx-]{7} .* 300000 .* payload\.bin$/m, "rstatus <path>");
  assert.match(session.stdout, /^350 Restarting at 100000/m);

  // URL mode: `tnftp -u URL file` uploads (the remote name is the argument, so run it in place).
  const url = `ftp://bob:secret@127.0.0.1:${srv.port}`;
  ok(
    await run("bash", [
      "-c",
      'cd "$0" && exec tnftp -q 20 -u "$1" "$2"',
      t.local,
      `${url}/tn/`,
      "second.bin",
    ]),
    "tnftp -u",
  );
  assert.ok(sameBytes(await Deno.readFile(join(t.root, "bob/tn/second.bin")), second));
  const back = join(t.down, "url.bin");
  ok(await run("tnftp", ["-q", "20", "-o", back, `${url}/tn/second.bin`]), "tnftp -o");
  assert.ok(sameBytes(await Deno.readFile(back), second));
  const anon = join(t.down, "anon.txt");
  ok(
    await run("tnftp", ["-q", "20", "-o", anon, `ftp://127.0.0.1:${srv.port}/pub/readme.txt`]),
    "anon",
  );
  assert.equal(await Deno.readTextFile(anon), "read me\n");
  assert.ok(!hasStackTrace(srv.output()), srv.output());
});

Deno.test("busybox ftpput/ftpget: upload, download, resume with -c, refusals leave nothing behind", async () => {
  const t = await setup();
  await using srv = await startServer(t.root);
  const login = ["-u", "bob", "-p", "secret", "-P", String(srv.port), "127.0.0.1"];
  ok(await run("busybox", ["ftpput", ...login, "/bb.bin", join(t.local, "payload.bin")]), "ftpput");
  assert.ok(sameBytes(await Deno.readFile(join(t.root, "bob/bb.bin")), t.payload));
  const got = join(t.down, "bb.bin");
  ok(await run("busybox", ["ftpget", ...login, got, "/bb.bin"]), "ftpget");
  assert.ok(sameBytes(await Deno.readFile(got), t.payload));
  // -c: SIZE, then REST at the local size and RETR of the rest.
  const partial = join(t.down, "partial.bin");
  await Deno.writeFile(partial, t.payload.subarray(0, 1000));
  ok(await run("busybox", ["ftpget", "-c", ...login, partial, "/bb.bin"]), "ftpget -c");
  assert.ok(sameBytes(await Deno.readFile(partial), t.payload));
  ok(await run("busybox", ["ftpget", "-c", ...login, partial, "/bb.bin"]), "ftpget -c, complete");
  assert.ok(sameBytes(await Deno.readFile(partial), t.payload));

  const noDir = await run("busybox", [
    "ftpput",
    ...login,
    "/no/such/x.bin",
    join(t.local, "payload.bin"),
  ]);
  assert.notEqual(noDir.code, 0);
  assert.match(noDir.stderr, /550/);
  const noFile = await run("busybox", ["ftpget", ...login, join(t.down, "x.bin"), "/missing.bin"]);
  assert.notEqual(noFile.code, 0);
  assert.match(noFile.stderr, /550/);
  assert.deepEqual(Object.keys(await treeOf(join(t.root, "bob"))), ["bb.bin"]);
  const anonymous = await run("busybox", [
    "ftpget",
    "-P",
    String(srv.port),
    "127.0.0.1",
    "-",
    "/pub/readme.txt",
  ]);
  ok(anonymous, "anonymous ftpget to stdout");
  assert.equal(anonymous.stdout, "read me\n");
  assert.ok(!hasStackTrace(srv.output()), srv.output());
});

Deno.test("lftp with ftp:use-stat-for-list lists through STAT <path>", async () => {
  const t = await setup();
  await using srv = await startServer(t.root);
  const script = [
    "set cmd:fail-exit yes",
    "set net:max-retries 1",
    "set net:timeout 10",
    "set ftp:use-stat-for-list yes",
    "set ftp:use-mlsd no",
    `open -u bob,secret ftp://127.0.0.1:${srv.port}`,
    `mirror -R ${join(t.local, "tree")} /tree`,
    "cls -l /tree",
    "cd /tree/sub",
    "ls",
  ].join("\n");
  const r = await run("lftp", ["-d", "-c", script]);
  ok(r, "lftp");
  assert.match(r.stderr, /^<--- 213-Status of \/tree:/m, "lftp listed /tree through STAT");
  assert.match(r.stderr, /^<--- 213-Status of \/tree\/sub:/m);
  assert.match(r.stdout, /^-[rwx-]{9} .* 6 .* \/tree\/h\.txt$/m);
  assert.match(r.stdout, /^d[rwx-]{9} .* \/tree\/sub\/?$/m);
  assert.match(r.stdout, /^-[rwx-]{9} .* 70000 .* s\.bin$/m);
});
