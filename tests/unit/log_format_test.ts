/** Events as text, JSON and xferlog lines. */
import assert from "node:assert/strict";
import { type LogEvent, stamped, type TransferEvent } from "../../lib/core/events.ts";
import { ctime, jsonLine, textLine, xferlogLine } from "../../lib/log/format.ts";

const common = {
  time: "2030-01-02T03:04:05.678Z",
  session: 7,
  ip: "192.0.2.9",
  user: "bob",
  proto: "ftps",
} as const;

Deno.test("log format: text sentences keep the words people and tests read", () => {
  const text = (e: LogEvent) => textLine(e);
  assert.equal(
    text({ ...common, path: "/new", event: "mkdir" }),
    "2030-01-02T03:04:05.678Z [7 192.0.2.9 bob] made folder /new",
  );
  assert.equal(
    text({ ...common, path: "/a", event: "rename", from: "/a", to: "/b c" }),
    "2030-01-02T03:04:05.678Z [7 192.0.2.9 bob] renamed /a to /b c",
  );
  assert.equal(
    text({ ...common, user: "mallory", path: null, event: "login_failed" }),
    '2030-01-02T03:04:05.678Z [7 192.0.2.9] login failed for "mallory"',
  );
  const upload = {
    ...common,
    path: "/f",
    event: "upload",
    bytes: 3,
    duration_ms: 1,
    mode: "binary",
  } as const;
  assert.match(text({ ...upload, status: "ok" }), /\] stored \/f \(3 bytes\)$/);
  assert.match(
    text({ ...upload, status: "quota" }),
    /\] stopped by a storage limit: \/f \(3 bytes\)$/,
  );
  assert.match(text({ ...upload, status: "aborted" }), /\] upload aborted: \/f \(3 bytes\)$/);
  assert.match(text(stamped({ event: "notice", message: "hello" })), /^\S+Z hello$/);
});

Deno.test("log format: JSON puts time, event and the common fields first", () => {
  const line = jsonLine({ ...common, path: "/x", event: "chmod", mode: "600" });
  assert.equal(
    line,
    '{"time":"2030-01-02T03:04:05.678Z","event":"chmod","session":7,"ip":"192.0.2.9","user":"bob","path":"/x","proto":"ftps","mode":"600"}',
  );
  const e = stamped({ event: "server_stop", reason: "stopping" });
  assert.deepEqual(Object.keys(JSON.parse(jsonLine(e))), [
    "time",
    "event",
    "session",
    "ip",
    "user",
    "path",
    "proto",
    "reason",
  ]);
});

Deno.test("log format: xferlog has the 14 classic fields", () => {
  const e: TransferEvent = {
    ...common,
    path: "/my folder/a\tb.txt",
    event: "download",
    bytes: 1234,
    duration_ms: 2600,
    status: "aborted",
    mode: "ascii",
  };
  const line = xferlogLine(e);
  const date = ctime(new Date(common.time));
  assert.match(date, /^(Sun|Mon|Tue|Wed|Thu|Fri|Sat) (Jan|Dec) [ 123]\d \d\d:\d\d:\d\d 20(29|30)$/);
  assert.ok(line.startsWith(`${date} `));
  assert.deepEqual(line.slice(date.length + 1).split(" "), [
    "3",
    "192.0.2.9",
    "1234",
    "/my_folder/a_b.txt",
    "a",
    "_",
    "o",
    "r",
    "bob",
    "ftp",
    "0",
    "*",
    "i",
  ]);
  const anon = xferlogLine({
    ...e,
    user: "anonymous",
    event: "upload",
    status: "ok",
    duration_ms: 10,
  });
  assert.match(anon, / 1 192\.0\.2\.9 1234 \S+ a _ i a anonymous ftp 0 \* c$/);
});
