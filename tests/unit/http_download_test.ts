/** Range requests, conditional requests and entity tags, as pure functions. */
import assert from "node:assert/strict";
import {
  attachment,
  etagOf,
  notModified,
  parseRange,
  rangeApplies,
} from "../../lib/http/download.ts";

// [header, file size, expected]
const RANGES: [string, number, ReturnType<typeof parseRange>][] = [
  ["bytes=0-99", 1000, { start: 0, end: 99 }],
  ["bytes=100-", 1000, { start: 100, end: 999 }],
  ["bytes=-100", 1000, { start: 900, end: 999 }],
  ["bytes=-5000", 1000, { start: 0, end: 999 }],
  ["bytes=990-5000", 1000, { start: 990, end: 999 }],
  ["bytes=999-999", 1000, { start: 999, end: 999 }],
  ["BYTES = 1 - 2", 1000, null],
  ["bytes= 1 - 2", 1000, { start: 1, end: 2 }],
  ["bytes=1000-", 1000, "unsatisfiable"],
  ["bytes=5000-6000", 1000, "unsatisfiable"],
  ["bytes=-0", 1000, "unsatisfiable"],
  ["bytes=0-", 0, "unsatisfiable"],
  ["bytes=-1", 0, "unsatisfiable"],
  ["bytes=5-1", 1000, null],
  ["bytes=-", 1000, null],
  ["bytes=0-1,5-6", 1000, null],
  ["items=0-1", 1000, null],
  ["bytes=a-b", 1000, null],
  ["bytes=0-9999999999999999", 1000, null],
  ["bytes=4294967296-", 5 * 2 ** 30, { start: 2 ** 32, end: 5 * 2 ** 30 - 1 }],
];

Deno.test("Range: one range, clamped to the file; past the end unsatisfiable; the rest ignored", () => {
  for (const [header, size, want] of RANGES) {
    assert.deepEqual(parseRange(header, size), want, `${header} of ${size}`);
  }
});

const mtime = new Date("2026-01-02T03:04:05.678Z");
const etag = etagOf("1767323045678:42:1234");

Deno.test("entity tags are strong, quoted, and change with the version", () => {
  assert.match(etag, /^"[0-9a-f]{16}"$/);
  assert.equal(etagOf("1767323045678:42:1234"), etag);
  assert.notEqual(etagOf("1767323045678:43:1234"), etag);
  assert.notEqual(etagOf("1767323045679:42:1234"), etag);
});

Deno.test("If-None-Match wins over If-Modified-Since; dates compare to the second", () => {
  const h = (init: Record<string, string>) => new Headers(init);
  assert.ok(notModified(h({ "If-None-Match": etag }), etag, mtime));
  assert.ok(notModified(h({ "If-None-Match": `"x", W/${etag}` }), etag, mtime));
  assert.ok(notModified(h({ "If-None-Match": "*" }), etag, mtime));
  assert.ok(!notModified(h({ "If-None-Match": `"other"` }), etag, mtime));
  const same = mtime.toUTCString();
  assert.ok(notModified(h({ "If-Modified-Since": same }), etag, mtime));
  assert.ok(notModified(h({ "If-Modified-Since": "Fri, 01 Jan 2027 00:00:00 GMT" }), etag, mtime));
  assert.ok(!notModified(h({ "If-Modified-Since": "Thu, 01 Jan 2026 00:00:00 GMT" }), etag, mtime));
  assert.ok(!notModified(h({ "If-Modified-Since": "yesterday" }), etag, mtime));
  assert.ok(
    !notModified(h({ "If-None-Match": `"other"`, "If-Modified-Since": same }), etag, mtime),
  );
  assert.ok(!notModified(h({}), etag, mtime));
});

Deno.test("If-Range: a range is honoured only for the very same version", () => {
  const h = (v: string) => new Headers({ "If-Range": v });
  assert.ok(rangeApplies(new Headers(), etag, mtime));
  assert.ok(rangeApplies(h(etag), etag, mtime));
  assert.ok(!rangeApplies(h(`W/${etag}`), etag, mtime)); // weak tags never match here
  assert.ok(!rangeApplies(h(`"other"`), etag, mtime));
  assert.ok(rangeApplies(h(mtime.toUTCString()), etag, mtime));
  assert.ok(!rangeApplies(h("Thu, 01 Jan 2026 00:00:00 GMT"), etag, mtime));
  assert.ok(!rangeApplies(h("garbage"), etag, mtime));
});

Deno.test("a download's name survives any characters", () => {
  assert.equal(attachment("a.txt"), `attachment; filename="a.txt"; filename*=UTF-8''a.txt`);
  assert.equal(
    attachment(`été "x".zip`),
    `attachment; filename="_t_ _x_.zip"; filename*=UTF-8''%C3%A9t%C3%A9%20%22x%22.zip`,
  );
});
