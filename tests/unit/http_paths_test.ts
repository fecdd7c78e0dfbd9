/** The HTTP door's pure parts: path decoding, links, Basic credentials, cookies, sessions. */
import assert from "node:assert/strict";
import { decodeRequestPath, encodePath, hasQueryFlag } from "../../lib/http/paths.ts";
import { parseBasic, safeNext } from "../../lib/http/auth.ts";
import { destinationPath } from "../../lib/http/changes.ts";
import { cookieValue, sameToken, SessionStore } from "../../lib/http/sessions.ts";
import { esc, humanSize, listingPage } from "../../lib/http/pages.ts";
import { contentTypeOf } from "../../lib/http/mime.ts";

// [request URL, decoded path or null (refused)]
const SPELLINGS: [string, string | null][] = [
  ["http://h/", "/"],
  ["http://h", null],
  ["http://h/a/b.txt", "/a/b.txt"],
  ["http://h/a//b/", "/a/b"],
  ["http://h/a%20b/%C3%A9t%C3%A9", "/a b/été"],
  ["http://h/%E6%97%A5%E6%9C%AC", "/日本"],
  ["http://h/a/../b", null],
  ["http://h/..", null],
  ["http://h/./a", null],
  ["http://h/%2e%2e/x", null],
  ["http://h/%2E%2E/x", null],
  ["http://h/.%2e/x", null],
  ["http://h/%2e/x", null],
  ["http://h/a%2fb", null],
  ["http://h/a%2Fb", null],
  ["http://h/a%5cb", null],
  ["http://h/a\\b", null],
  ["http://h/a%00b", null],
  ["http://h/a%zz", null],
  ["http://h/a%", null],
  ["http://h/%ff", null],
  // Decoded once: a double-encoded dot-dot is the literal name `%2e%2e`.
  ["http://h/%252e%252e/x", "/%2e%2e/x"],
  ["http://h/%252f", "/%2f"],
  // Hidden names pass here; the vfs refuses them.
  ["http://h/.xxftp/password", "/.xxftp/password"],
  ["http://h/%2exxftp/password", "/.xxftp/password"],
  ["http://h/a?x=..%2f", "/a"],
  ["/a/b?zip", "/a/b"],
];

Deno.test("request paths decode once; separators, NUL and dot segments in any spelling are refused", () => {
  for (const [url, want] of SPELLINGS) {
    assert.equal(decodeRequestPath(url)?.path ?? null, want, url);
  }
});

Deno.test("a request path keeps its trailing slash and query apart", () => {
  assert.deepEqual(decodeRequestPath("http://h/docs/?zip"), {
    path: "/docs",
    slash: true,
    query: "zip",
  });
  assert.deepEqual(decodeRequestPath("http://h/docs"), { path: "/docs", slash: false, query: "" });
  assert.ok(hasQueryFlag("a=1&zip", "zip"));
  assert.ok(hasQueryFlag("download=1", "download"));
  assert.ok(!hasQueryFlag("zipper", "zip"));
});

Deno.test("links encode every name, and decode back to the same path", () => {
  const names = ["a b", "50%", "q?x", "#h", "日本", "a&b<c>", "x'y\"z", "+;="];
  for (const name of names) {
    const href = encodePath(`/dir/${name}`);
    assert.equal(decodeRequestPath(href)?.path, `/dir/${name}`, name);
    assert.ok(!/[ ?#<>"]/.test(href), href);
  }
  assert.equal(encodePath("/", true), "/");
  assert.equal(encodePath("/a/b", true), "/a/b/");
});

Deno.test("Basic credentials: user and password split at the first colon, UTF-8", () => {
  const b64 = (s: string) => btoa(String.fromCharCode(...new TextEncoder().encode(s)));
  assert.deepEqual(parseBasic(`Basic ${b64("alice:se:cret")}`), {
    user: "alice",
    password: "se:cret",
  });
  assert.deepEqual(parseBasic(`basic ${b64("bob:")}`), { user: "bob", password: "" });
  assert.deepEqual(parseBasic(`Basic ${b64("zoë:pässword")}`), {
    user: "zoë",
    password: "pässword",
  });
  assert.equal(parseBasic(`Basic ${b64("nocolon")}`), null);
  assert.equal(parseBasic("Basic !!!"), null);
  assert.equal(parseBasic("Bearer abc"), null);
  assert.equal(parseBasic(`Basic ${btoa("\xff\xfe:x")}`), null);
});

Deno.test("after login only a local, encoded path is followed", () => {
  assert.equal(safeNext("/docs/a%20b/"), "/docs/a%20b/");
  assert.equal(safeNext(null), "/");
  assert.equal(safeNext("//evil.example/"), "/");
  assert.equal(safeNext("https://evil.example/"), "/");
  assert.equal(safeNext("/\\evil.example"), "/");
  assert.equal(safeNext("/a\r\nSet-Cookie: x=y"), "/");
  assert.equal(safeNext("/a b"), "/");
});

Deno.test("MOVE destinations: a path, or a URL of this very host", () => {
  assert.equal(destinationPath("/a/b", "h:1"), "/a/b");
  assert.equal(destinationPath("http://h:1/a%20b", "h:1"), "/a%20b");
  assert.equal(destinationPath("https://H:1", "h:1"), "/");
  assert.equal(destinationPath("http://other/a", "h:1"), null);
  assert.equal(destinationPath("//other/a", "h:1"), null);
  assert.equal(destinationPath("a/b", "h:1"), null);
});

Deno.test("cookies and tokens", () => {
  assert.equal(cookieValue("a=1; xxftp_session=abc; b=2", "xxftp_session"), "abc");
  assert.equal(cookieValue("xxftp_sessionx=abc", "xxftp_session"), null);
  assert.equal(cookieValue(null, "xxftp_session"), null);
  assert.ok(sameToken("abc", "abc"));
  assert.ok(!sameToken("abc", "abd"));
  assert.ok(!sameToken("abc", "ab"));
});

Deno.test("sessions end when idle, when old, and the oldest go first when the store is full", () => {
  const store = new SessionStore({ idleMs: 100, maxAgeMs: 1000, maxCount: 2 });
  const a = store.create("alice", "/h/alice", 0);
  assert.notEqual(a.id, a.csrf);
  assert.match(a.id, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(store.use(a.id, 50)?.user, "alice");
  assert.equal(store.use(a.id, 140)?.user, "alice"); // used at 50: still fresh
  assert.equal(store.use(a.id, 300), null); // idle too long
  const b = store.create("bob", "/h/bob", 0);
  for (let t = 90; t < 1000; t += 90) assert.ok(store.use(b.id, t));
  assert.equal(store.use(b.id, 1001), null); // too old, however busy
  const c = store.create("c", "/h/c", 2000);
  const d = store.create("d", "/h/d", 2000);
  const e = store.create("e", "/h/e", 2000);
  assert.equal(store.size, 2);
  assert.equal(store.use(c.id, 2001), null);
  assert.ok(store.use(d.id, 2001) && store.use(e.id, 2001));
  store.drop(d.id);
  assert.equal(store.use(d.id, 2002), null);
  store.prune(5000);
  assert.equal(store.size, 0);
});

Deno.test("page text is escaped; sizes read like people write them; types by extension", () => {
  assert.equal(esc(`<a href="x">&'</a>`), "&lt;a href=&quot;x&quot;&gt;&amp;&#39;&lt;/a&gt;");
  assert.equal(humanSize(0), "0 B");
  assert.equal(humanSize(1023), "1023 B");
  assert.equal(humanSize(1536), "1.5 KiB");
  assert.equal(humanSize(5 * 1024 ** 3), "5.0 GiB");
  assert.equal(humanSize(300 * 1024 ** 2), "300 MiB");
  assert.equal(contentTypeOf("a.TXT"), "text/plain; charset=utf-8");
  assert.equal(contentTypeOf("photo.jpeg"), "image/jpeg");
  assert.equal(contentTypeOf(".bashrc"), "application/octet-stream");
  assert.equal(contentTypeOf("noext"), "application/octet-stream");
});

Deno.test("a listing page escapes every name and link, and offers only the permitted tools", () => {
  const evil = `<img src=x onerror="alert(1)">&'`;
  const page = listingPage({
    path: `/a "b"/${evil}`,
    user: "alice",
    via: "session",
    csrf: 'tok"en',
    entries: [{ name: evil, dir: false, size: 3, mtime: new Date(0) }],
    truncated: false,
    canWrite: false,
    canModify: false,
  });
  assert.ok(!page.includes("<img"), "no markup from names");
  assert.ok(!page.includes(`onerror="`));
  assert.match(page, /&lt;img src=x onerror=&quot;alert\(1\)&quot;&gt;&amp;&#39;/);
  assert.match(
    page,
    /href="\/a%20%22b%22\/%3Cimg%20src%3Dx%20onerror%3D%22alert\(1\)%22%3E%26&#39;\/%3Cimg/,
  );
  assert.match(page, /<meta name="xxftp-csrf" content="tok&quot;en">/);
  assert.doesNotMatch(
    page,
    /id="upload"|id="mkdir"|data-act=/,
    "no write tools without permission",
  );
  const writable = listingPage({
    path: "/",
    user: "anonymous",
    via: "anonymous",
    csrf: null,
    entries: [],
    truncated: true,
    canWrite: true,
    canModify: false,
  });
  assert.match(writable, /id="upload"/);
  assert.doesNotMatch(writable, /id="mkdir"|xxftp-csrf|action="\/\.logout"/);
  assert.match(writable, /href="\/\.login\?next=%2F">Log in/);
  assert.match(writable, /Only the first 0 entries are shown/);
});
