/** The HTTP door with curl: logins, statuses, traversal, ranges, conditional GET, uploads and changes. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { AS_BROWSER, curl } from "../support/http.ts";
import {
  ftplib,
  makeTree,
  randomBytes,
  run,
  sameBytes,
  startServer,
  writeTree,
} from "../support/server.ts";

const MD5_SECRET = "5ebe2294ecd0e0f08eab7690d2a6ee69"; // "secret"

/**
 * A tree with anonymous (read-only, but for a virtual inbox/ it may add to and a
 * virtual closed/ it may not read), alice (password, a 1000-byte folder), and traps.
 */
async function tree() {
  const root = await makeTree({
    "outside.txt": "ROOT SECRET",
    "anonymous/.xxftp/permission": "read",
    "anonymous/docs/a.txt": "hello\n",
    "anonymous/docs/b c.txt": "spaced",
    "anonymous/.hidden/x": "HIDDEN SECRET",
    "anonymous/.xxftp/virtual": "inbox $root/anonymous/inbox read,write\n" +
      "closed $root/closed-area write\n",
    "anonymous/inbox/old.txt": "old",
    "closed-area/f.txt": "CLOSED SECRET",
    "alice/.xxftp/password": MD5_SECRET,
    "alice/mine.txt": "ALICE SECRET",
    "alice/limited/.xxftp/size": "1000",
    "alice/limited/keep.txt": "k".repeat(100),
  });
  await Deno.symlink("/etc", join(root, "anonymous/etc-link"));
  await Deno.symlink(join(root, "alice"), join(root, "anonymous/alice-link"));
  return root;
}

/** Starts a server with the HTTP door; the base URL. */
async function serve(root: string, args: string[] = [], command: "serve" | "share" = "serve") {
  const srv = await startServer(root, {
    command,
    args: ["--http", "0", "--login-fail-delay", "0", ...args],
  });
  return { srv, base: `http://127.0.0.1:${srv.httpPort}` };
}

Deno.test("anonymous, a user, a wrong password: 200, 401, 403 and 404 where they belong", async () => {
  const { srv, base } = await serve(await tree());
  await using _ = srv;
  const root = await curl([`${base}/`]);
  assert.equal(root.status, 200);
  assert.deepEqual(root.body.trim().split("\n"), ["closed/", "docs/", "inbox/"]);
  const file = await curl([`${base}/docs/a.txt`]);
  assert.equal(file.status, 200);
  assert.equal(file.body, "hello\n");
  assert.equal(file.headers.get("content-type"), "text/plain; charset=utf-8");
  assert.equal(file.headers.get("content-length"), "6");
  assert.equal((await curl([`${base}/docs/b%20c.txt`])).body, "spaced");
  assert.equal((await curl([`${base}/closed/`])).status, 403);
  assert.equal((await curl([`${base}/closed/f.txt`])).status, 403);
  assert.equal((await curl([`${base}/nope.txt`])).status, 404);
  assert.equal((await curl([`${base}/.hidden/x`])).status, 404);
  assert.equal((await curl([`${base}/docs/a.txt/`])).status, 404);
  const moved = await curl([`${base}/docs?zip`]);
  assert.equal(moved.status, 301);
  assert.equal(moved.headers.get("location"), "/docs/?zip");
  const head = await curl(["-I", `${base}/docs/a.txt`]);
  assert.equal(head.status, 200);
  assert.equal(head.headers.get("content-length"), "6");

  const alice = await curl(["-u", "alice:secret", `${base}/`]);
  assert.equal(alice.status, 200);
  assert.deepEqual(alice.body.trim().split("\n"), ["limited/", "mine.txt"]);
  assert.equal((await curl(["-u", "alice:secret", `${base}/mine.txt`])).body, "ALICE SECRET");
  for (const creds of ["alice:wrong", "nobody:x", "bad name:x"]) {
    const r = await curl(["-u", creds, `${base}/mine.txt`]);
    assert.equal(r.status, 401, creds);
    assert.match(r.headers.get("www-authenticate") ?? "", /^Basic realm="xxftp"/);
    assert.doesNotMatch(r.body, /SECRET/);
  }
  const garbled = await curl(["-H", "Authorization: Basic !!!", `${base}/`]);
  assert.equal(garbled.status, 401);
  assert.equal((await curl(["-u", "anonymous:any", `${base}/docs/a.txt`])).status, 200);
  await srv.waitFor('login failed for "alice"');
});

Deno.test("no anonymous folder: 401 with a Basic challenge for curl, the login page for a browser", async () => {
  const root = await makeTree({ "alice/.xxftp/password": MD5_SECRET, "alice/f.txt": "f" });
  const { srv, base } = await serve(root);
  await using _ = srv;
  const plain = await curl([`${base}/f.txt`]);
  assert.equal(plain.status, 401);
  assert.match(plain.headers.get("www-authenticate") ?? "", /^Basic /);
  const page = await curl([...AS_BROWSER, `${base}/f.txt`]);
  assert.equal(page.status, 401);
  assert.doesNotMatch(page.headers.get("www-authenticate") ?? "", /Basic/, "no browser dialog");
  assert.match(page.body, /<form method="post" action="\/\.login">/);
  assert.match(page.body, /name="next" value="\/f\.txt"/);
  assert.equal((await curl(["-u", "alice:secret", `${base}/f.txt`])).body, "f");
});

/** Every spelling that tries to leave anonymous's folder or reach a hidden name. */
const TRAVERSALS = [
  "/../outside.txt",
  "/../alice/mine.txt",
  "/%2e%2e/alice/mine.txt",
  "/%2E%2E/alice/mine.txt",
  "/.%2e/alice/mine.txt",
  "/%2e./alice/mine.txt",
  "/docs/..%2f..%2falice%2fmine.txt",
  "/docs/%2e%2e%2f%2e%2e%2foutside.txt",
  "/..%5c..%5calice%5cmine.txt",
  "/docs\\..\\..\\alice\\mine.txt",
  "/%252e%252e/alice/mine.txt",
  "/%252e%252e%252falice%252fmine.txt",
  "/docs/a.txt%00.png",
  "/%00",
  "/.hidden/x",
  "/%2ehidden/x",
  "/docs/../.hidden/x",
  "/docs/%2e%2e/.hidden/x",
  "/.xxftp/permission",
  "/%2exxftp/permission",
  "/etc-link/passwd",
  "/etc-link/",
  "/alice-link/mine.txt",
  "//etc/passwd",
  "/..",
  "/%2e%2e",
];

Deno.test("traversal in any spelling, encoded or not, reaches nothing outside or hidden", async () => {
  const { srv, base } = await serve(await tree());
  await using _ = srv;
  for (const path of TRAVERSALS) {
    for (const who of [[], ["-u", "alice:secret"]]) {
      const r = await curl(["--path-as-is", ...who, `${base}${path}`]);
      assert.ok(r.status === 400 || r.status === 404, `${path} ${who.join(" ")}: ${r.status}`);
      assert.doesNotMatch(r.body, /SECRET|root:/, path);
    }
  }
  for (const path of ["/.xxftp/password", "/%2exxftp/password", "/limited/.xxftp/size"]) {
    const r = await curl(["--path-as-is", "-u", "alice:secret", `${base}${path}`]);
    assert.equal(r.status, 404, path);
    assert.doesNotMatch(r.body, /[0-9a-f]{32}/);
  }
  const listing = await curl([`${base}/`]);
  assert.doesNotMatch(listing.body, /etc-link|alice-link|hidden/);
  // Writes are decoded the same way: nothing lands outside.
  for (const path of ["/inbox/..%2f..%2fescaped.txt", "/inbox/%2e%2e/escaped.txt"]) {
    const r = await curl(["--path-as-is", "-T", "-", `${base}${path}`]);
    assert.ok(r.status === 400 || r.status === 404, `${path}: ${r.status}`);
  }
  const moved = await curl([
    "-u",
    "alice:secret",
    "-X",
    "MOVE",
    "-H",
    "Destination: /%2e%2e/outside-moved.txt",
    `${base}/mine.txt`,
  ]);
  assert.equal(moved.status, 400);
  assert.deepEqual(
    [...Deno.readDirSync(srv.root)].map((e) => e.name).sort(),
    ["alice", "anonymous", "closed-area", "outside.txt"],
  );
});

Deno.test("Range: 206 with Content-Range, 416 past the end, resume with curl -C -, If-Range", async () => {
  const root = await tree();
  const payload = randomBytes(3 << 20);
  await Deno.writeFile(join(root, "anonymous/docs/big.bin"), payload);
  const { srv, base } = await serve(root);
  await using _ = srv;
  const part = await curl(["-r", "10-19", `${base}/docs/a.txt`]);
  assert.equal(part.status, 416);
  assert.equal(part.headers.get("content-range"), "bytes */6");
  const mid = await curl(["-r", "1-3", `${base}/docs/a.txt`]);
  assert.equal(mid.status, 206);
  assert.equal(mid.headers.get("content-range"), "bytes 1-3/6");
  assert.equal(mid.body, "ell");
  const tail = await curl(["-H", "Range: bytes=-2", `${base}/docs/a.txt`]);
  assert.equal(tail.body, "o\n");
  const several = await curl(["-r", "0-1,3-4", `${base}/docs/a.txt`]);
  assert.equal(several.status, 200, "several ranges: the whole file");

  const dir = await Deno.makeTempDir({ prefix: "xxftp-resume-" });
  const out = join(dir, "big.bin");
  await Deno.writeFile(out, payload.subarray(0, 1234567));
  const resumed = await run("curl", ["-s", "-S", "-C", "-", "-o", out, `${base}/docs/big.bin`]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.ok(sameBytes(await Deno.readFile(out), payload), "resumed download is whole");

  const etag = (await curl(["-I", `${base}/docs/big.bin`])).headers.get("etag")!;
  const same = await curl(["-r", "0-9", "-H", `If-Range: ${etag}`, `${base}/docs/big.bin`]);
  assert.equal(same.status, 206);
  const stale = await curl(["-r", "0-9", "-H", `If-Range: "stale"`, `${base}/docs/big.bin`]);
  assert.equal(stale.status, 200, "a changed file is sent whole");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("conditional GET: ETag and Last-Modified give 304 until the file changes", async () => {
  const root = await tree();
  const { srv, base } = await serve(root);
  await using _ = srv;
  const first = await curl([`${base}/docs/a.txt`]);
  const etag = first.headers.get("etag")!;
  const modified = first.headers.get("last-modified")!;
  assert.match(etag, /^"[0-9a-f]{16}"$/);
  const byTag = await curl(["-H", `If-None-Match: ${etag}`, `${base}/docs/a.txt`]);
  assert.equal(byTag.status, 304);
  assert.equal(byTag.body, "");
  assert.equal(byTag.headers.get("etag"), etag);
  const byDate = await curl(["-H", `If-Modified-Since: ${modified}`, `${base}/docs/a.txt`]);
  assert.equal(byDate.status, 304);
  await Deno.writeTextFile(join(root, "anonymous/docs/a.txt"), "changed!");
  const after = await curl(["-H", `If-None-Match: ${etag}`, `${base}/docs/a.txt`]);
  assert.equal(after.status, 200);
  assert.equal(after.body, "changed!");
  assert.notEqual(after.headers.get("etag"), etag);
});

Deno.test("PUT: 201 new, 204 replaced, 403 without the permission, 409 and 413/507 past a limit", async () => {
  const root = await tree();
  const { srv, base } = await serve(root);
  await using _ = srv;
  const dir = await Deno.makeTempDir({ prefix: "xxftp-put-" });
  const src = join(dir, "f.bin");
  const bytes = randomBytes(200_000);
  await Deno.writeFile(src, bytes);
  const user = ["-u", "alice:secret"];
  const created = await curl([...user, "-T", src, `${base}/new.bin`]);
  assert.equal(created.status, 201);
  assert.equal(created.headers.get("location"), "/new.bin");
  assert.ok(sameBytes(await Deno.readFile(join(root, "alice/new.bin")), bytes));
  await Deno.writeFile(src, bytes.subarray(0, 5000));
  assert.equal((await curl([...user, "-T", src, `${base}/new.bin`])).status, 204);
  assert.equal((await Deno.stat(join(root, "alice/new.bin"))).size, 5000);
  assert.equal((await curl([...user, "-T", src, `${base}/missing/x.bin`])).status, 409);
  assert.equal((await curl([...user, "-T", src, `${base}/limited`])).status, 409);

  // Anonymous: read-only at its root, write but not modify in inbox/.
  assert.equal((await curl(["-T", src, `${base}/x.bin`])).status, 403);
  assert.equal((await curl(["-T", src, `${base}/inbox/x.bin`])).status, 201);
  assert.equal((await curl(["-T", src, `${base}/inbox/old.txt`])).status, 403);
  assert.equal(await Deno.readTextFile(join(root, "anonymous/inbox/old.txt")), "old");

  // alice/limited holds at most 1000 bytes; keep.txt has 100.
  const declared = await curl([...user, "-T", src, `${base}/limited/big.bin`]);
  assert.equal(declared.status, 413, "a declared length past the limit is refused up front");
  const chunked = await curl([
    ...user,
    "-H",
    "Transfer-Encoding: chunked",
    "-T",
    src,
    `${base}/limited/big.bin`,
  ]);
  assert.equal(chunked.status, 507, "an undeclared length is stopped at the limit");
  const fits = join(dir, "fits.bin");
  await Deno.writeFile(fits, bytes.subarray(0, 900));
  assert.equal((await curl([...user, "-T", fits, `${base}/limited/fits.bin`])).status, 201);
  const left = [...Deno.readDirSync(join(root, "alice/limited"))].map((e) => e.name).sort();
  assert.deepEqual(left, [".xxftp", "fits.bin", "keep.txt"], "no partial file, no temporary");
  await srv.waitFor("stopped by a storage limit");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("MKCOL, MOVE and DELETE where modify is granted; refused where not", async () => {
  const root = await tree();
  const { srv, base } = await serve(root);
  await using _ = srv;
  const user = ["-u", "alice:secret"];
  assert.equal((await curl([...user, "-X", "MKCOL", `${base}/box/`])).status, 201);
  assert.equal((await curl([...user, "-X", "MKCOL", `${base}/box/`])).status, 409);
  assert.ok((await Deno.stat(join(root, "alice/box"))).isDirectory);
  const move = (from: string, to: string, extra: string[] = []) =>
    curl([...user, "-X", "MOVE", "-H", `Destination: ${to}`, ...extra, `${base}${from}`]);
  assert.equal((await move("/mine.txt", "/box/moved%20here.txt")).status, 201);
  assert.equal(await Deno.readTextFile(join(root, "alice/box/moved here.txt")), "ALICE SECRET");
  await Deno.writeTextFile(join(root, "alice/other.txt"), "other");
  assert.equal(
    (await move("/other.txt", `${base}/box/moved%20here.txt`, ["-H", "Overwrite: F"])).status,
    412,
  );
  assert.equal((await move("/other.txt", `${base}/box/moved%20here.txt`)).status, 204);
  assert.equal((await move("/box", "http://elsewhere.example/box2")).status, 400);
  assert.equal((await move("/box", "/box/inside")).status, 409);
  assert.equal((await curl([...user, "-X", "DELETE", `${base}/box`])).status, 409, "not empty");
  assert.equal((await curl([...user, "-X", "DELETE", `${base}/box/moved%20here.txt`])).status, 204);
  assert.equal((await curl([...user, "-X", "DELETE", `${base}/box/`])).status, 204);
  assert.equal((await curl([...user, "-X", "DELETE", `${base}/box/`])).status, 404);
  assert.equal((await curl([...user, "-X", "DELETE", `${base}/`])).status, 403, "the root stays");
  assert.equal((await curl(["-X", "DELETE", `${base}/docs/a.txt`])).status, 403);
  assert.equal((await curl(["-X", "MKCOL", `${base}/inbox/new/`])).status, 403);
  assert.equal((await curl(["-X", "BREW", `${base}/`])).status, 405);
  await srv.waitFor("removed folder /box");
});

/** Logs in through the form; the cookie header and the listing page's CSRF token. */
async function formLogin(base: string, user: string, password: string) {
  const r = await curl(["-d", `user=${user}&password=${password}&next=/docs/`, `${base}/.login`]);
  assert.equal(r.status, 303);
  assert.equal(r.headers.get("location"), "/docs/");
  const set = r.headers.get("set-cookie") ?? "";
  assert.match(set, /^xxftp_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict$/);
  const cookie = set.split(";")[0];
  const page = await curl([...AS_BROWSER, "-H", `Cookie: ${cookie}`, `${base}/`]);
  assert.equal(page.status, 200);
  const token = /<meta name="xxftp-csrf" content="([^"]+)">/.exec(page.body)?.[1];
  assert.ok(token, "the page carries its token");
  return { cookie, token, page: page.body };
}

Deno.test("the login form: a session cookie, CSRF on every change, logout ends it", async () => {
  const root = await tree();
  const { srv, base } = await serve(root);
  await using _ = srv;
  const bad = await curl([...AS_BROWSER, "-d", "user=alice&password=nope", `${base}/.login`]);
  assert.equal(bad.status, 401);
  assert.match(bad.body, /Login incorrect\./);
  assert.equal(bad.headers.get("set-cookie"), null);
  const { cookie, token, page } = await formLogin(base, "alice", "secret");
  assert.match(page, /mine\.txt/);
  assert.match(page, /action="\/\.logout"/);
  const withCookie = ["-H", `Cookie: ${cookie}`];
  assert.equal((await curl([...withCookie, `${base}/mine.txt`])).body, "ALICE SECRET");
  const noToken = await curl([...withCookie, "-X", "MKCOL", `${base}/a/`]);
  assert.equal(noToken.status, 403, "a cookie alone changes nothing");
  const wrongToken = await curl([
    ...withCookie,
    "-H",
    "X-CSRF-Token: x",
    "-X",
    "MKCOL",
    `${base}/a/`,
  ]);
  assert.equal(wrongToken.status, 403);
  const ok = await curl([
    ...withCookie,
    "-H",
    `X-CSRF-Token: ${token}`,
    "-X",
    "MKCOL",
    `${base}/a/`,
  ]);
  assert.equal(ok.status, 201);
  const foreign = await curl([
    ...withCookie,
    "-H",
    `X-CSRF-Token: ${token}`,
    "-H",
    "Origin: http://evil.example",
    "-X",
    "MKCOL",
    `${base}/b/`,
  ]);
  assert.equal(foreign.status, 403, "a foreign Origin is refused whatever it carries");
  const basicForeign = await curl([
    "-u",
    "alice:secret",
    "-H",
    "Sec-Fetch-Site: cross-site",
    "-X",
    "DELETE",
    `${base}/a/`,
  ]);
  assert.equal(basicForeign.status, 403);
  assert.equal((await curl([...withCookie, "-d", "csrf=wrong", `${base}/.logout`])).status, 403);
  const out = await curl([...withCookie, "-d", `csrf=${token}`, `${base}/.logout`]);
  assert.equal(out.status, 303);
  assert.match(out.headers.get("set-cookie") ?? "", /Max-Age=0/);
  const after = await curl([...withCookie, `${base}/mine.txt`]);
  assert.equal(after.status, 404, "the session is over: anonymous has no mine.txt");
  const next = await curl([
    "-d",
    "user=alice&password=secret&next=//evil.example/",
    `${base}/.login`,
  ]);
  assert.equal(next.headers.get("location"), "/", "no redirect off the server");
  await srv.waitFor("logged out");
});

Deno.test("a folder downloads as a zip of what the user may see", async () => {
  const root = await tree();
  await writeTree(root, {
    "anonymous/docs/sub/deep.bin": randomBytes(70_000),
    "anonymous/docs/.secret": "HIDDEN SECRET",
  });
  const { srv, base } = await serve(root);
  await using _ = srv;
  const dir = await Deno.makeTempDir({ prefix: "xxftp-zip-" });
  const out = join(dir, "all.zip");
  const r = await run("curl", ["-s", "-S", "-D", "-", "-o", out, `${base}/?zip`]);
  assert.match(r.stdout, /content-type: application\/zip/i);
  assert.match(r.stdout, /content-disposition: attachment; filename="files\.zip"/i);
  const test = await run("unzip", ["-t", out]);
  assert.equal(test.code, 0, test.stdout);
  const names = await run("python3", [
    "-c",
    "import sys, zipfile; print('\\n'.join(zipfile.ZipFile(sys.argv[1]).namelist()))",
    out,
  ]);
  assert.deepEqual(names.stdout.trim().split("\n").sort(), [
    "files/",
    "files/docs/",
    "files/docs/a.txt",
    "files/docs/b c.txt",
    "files/docs/sub/",
    "files/docs/sub/deep.bin",
    "files/inbox/",
    "files/inbox/old.txt",
  ], "no hidden names, no closed folder, no link out");
  const docs = await run("curl", ["-s", "-o", out, `${base}/docs/?zip`]);
  assert.equal(docs.code, 0);
  const sub = await run("unzip", ["-l", out]);
  assert.match(sub.stdout, / docs\/sub\/deep\.bin\n/);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("failed logins over HTTP and FTP count together per address", async () => {
  const root = await tree();
  const { srv, base } = await serve(root, ["--max-login-failures", "3", "--ban-seconds", "60"]);
  await using _ = srv;
  for (let i = 0; i < 2; i++) {
    assert.equal((await curl(["-u", "alice:wrong", `${base}/`])).status, 401);
  }
  const ftp = await ftplib<string>(srv.port, `print(json.dumps(attempt(connect, "alice", "bad")))`);
  assert.match(ftp, /^(530|421)/);
  const held = await curl([`${base}/docs/a.txt`]);
  assert.equal(held.status, 429, "the address is held off on both doors");
  const ftpHeld = await ftplib<string>(srv.port, `print(json.dumps(attempt(connect)))`);
  assert.match(ftpHeld, /^421/);
});

Deno.test("share DIR --http: the folder itself, anonymous and read-only", async () => {
  const root = await makeTree({ "a.txt": "shared", ".git/config": "HIDDEN SECRET" });
  const { srv, base } = await serve(root, [], "share");
  await using _ = srv;
  assert.equal((await curl([`${base}/a.txt`])).body, "shared");
  assert.equal((await curl([`${base}/.git/config`])).status, 404);
  assert.equal((await curl(["-T", "-", `${base}/b.txt`])).status, 403);
  assert.equal((await curl(["-u", "bob:x", `${base}/a.txt`])).status, 401);
});
