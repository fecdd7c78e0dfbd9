import assert from "node:assert/strict";
import { hashPassword, storedKind, verifyPassword } from "../../lib/core/passwords.ts";
import { LoginGuard } from "../../lib/core/throttle.ts";
import { parseCommandLine, UsageError } from "../../lib/cli.ts";
import { canonicalHost } from "../../lib/net/address.ts";
import {
  checkActiveTarget,
  formatPasv,
  parseEprtArg,
  parsePortArg,
} from "../../lib/ftp/data_channel.ts";
import { LineReader, MAX_LINE } from "../../lib/ftp/line_reader.ts";
import { ftpTimestamp, listDate, listLine, mlsxLine } from "../../lib/ftp/listing.ts";
import { afterMark, formatReply, reply } from "../../lib/ftp/replies.ts";
import { ALL_PERMS, parsePerms, parseSize, parseVirtual } from "../../lib/core/tree_files.ts";
import { listArgument } from "../../lib/ftp/commands/dirs.ts";
import { parseFtpTime } from "../../lib/ftp/commands/files.ts";
import { chunks } from "../support/chunks.ts";

Deno.test("PORT arguments", () => {
  const rows: [string, { hostname: string; port: number } | null][] = [
    ["127,0,0,1,4,1", { hostname: "127.0.0.1", port: 1025 }],
    [" 10,0,0,2,255,255 ", { hostname: "10.0.0.2", port: 65535 }],
    ["127,0,0,1,4", null],
    ["127,0,0,1,4,1,9", null],
    ["256,0,0,1,4,1", null],
    ["127,0,0,1,4,256", null],
    ["a,b,c,d,e,f", null],
    ["127.0.0.1,4,1", null],
    ["", null],
    ["-1,0,0,1,4,1", null],
  ];
  for (const [arg, want] of rows) assert.deepEqual(parsePortArg(arg), want, arg);
});

Deno.test("EPRT arguments", () => {
  const rows: [string, { hostname: string; port: number } | null][] = [
    ["|1|132.235.1.2|6275|", { hostname: "132.235.1.2", port: 6275 }],
    ["|2|::1|5282|", { hostname: "::1", port: 5282 }],
    ["!2!0:0:0:0:0:0:0:1!5282!", { hostname: "::1", port: 5282 }],
    ["|2|::ffff:127.0.0.1|2000|", { hostname: "127.0.0.1", port: 2000 }],
    ["|1|132.235.1.2|0|", null],
    ["|1|132.235.1.2|70000|", null],
    ["|1|::1|5282|", null],
    ["|2|127.0.0.1|5282|", null],
    ["|3|1.2.3.4|5282|", null],
    ["|1|1.2.3|5282|", null],
    ["|1|1.2.3.4|5282", null],
    ["1|1.2.3.4|5282|", null],
    ["", null],
    ["|2|zz::1|22|", null],
  ];
  for (const [arg, want] of rows) assert.deepEqual(parseEprtArg(arg), want, arg);
});

Deno.test("addresses: canonical forms, PASV text, bounce checks", () => {
  assert.equal(canonicalHost("::ffff:127.0.0.1"), "127.0.0.1");
  assert.equal(canonicalHost("0:0:0:0:0:0:0:1"), "::1");
  assert.equal(canonicalHost("[::1]"), "::1");
  assert.equal(formatPasv("127.0.0.1", 1025), "127,0,0,1,4,1");
  assert.equal(formatPasv("::ffff:10.1.2.3", 65535), "10,1,2,3,255,255");
  assert.equal(formatPasv("::1", 2000), null);
  assert.equal(checkActiveTarget({ hostname: "127.0.0.1", port: 2000 }, "::ffff:127.0.0.1"), null);
  assert.equal(checkActiveTarget({ hostname: "127.0.0.2", port: 2000 }, "127.0.0.1")?.code, 504);
  assert.equal(checkActiveTarget({ hostname: "127.0.0.1", port: 25 }, "127.0.0.1")?.code, 504);
});

Deno.test("reply wire form: single and multi-line", () => {
  assert.equal(formatReply(reply(200, "ok")), "200 ok\r\n");
  assert.equal(formatReply(reply(220, "a\r\nb\nc\n")), "220-a\r\n220-b\r\n220 c\r\n");
  assert.equal(formatReply(reply(221, "one\rtwo")), "221-one\r\n221 two\r\n");
  assert.equal(
    formatReply({ code: 211, lines: ["Features:", " SIZE", "End"] }),
    "211-Features:\r\n SIZE\r\n211 End\r\n",
  );
});

Deno.test("listing lines: ls -l form in UTC, MLSx facts", () => {
  const now = new Date(Date.UTC(2026, 10, 25, 12, 0, 0));
  const rows: [Date, string][] = [
    [new Date(Date.UTC(2026, 10, 5, 9, 7)), "Nov  5 09:07"],
    [new Date(Date.UTC(2026, 5, 1, 23, 59)), "Jun  1 23:59"],
    [new Date(Date.UTC(2025, 0, 15, 1, 0)), "Jan 15  2025"],
    [new Date(Date.UTC(2027, 0, 15, 1, 0)), "Jan 15  2027"],
  ];
  for (const [d, want] of rows) assert.equal(listDate(d, now), want);
  const stat = { isDir: false, isFile: true, size: 1234, mtime: rows[0][0], mode: 0o640 };
  const e = { name: "a b.txt", stat: { ...stat, version: "" } };
  const dir = { name: "a b.txt", stat: { ...e.stat, isDir: true, isFile: false, mode: 0o755 } };
  assert.equal(
    listLine(e, now),
    "-rw-r-----    1 ftp      ftp          1234 Nov  5 09:07 a b.txt",
  );
  assert.match(listLine(dir, now), /^drwxr-xr-x /);
  assert.equal(ftpTimestamp(new Date(Date.UTC(2026, 0, 2, 15, 4, 5))), "20260102150405");
  assert.equal(
    mlsxLine(e, ALL_PERMS),
    "type=file;size=1234;modify=20261105090700;perm=radfw; a b.txt",
  );
  assert.equal(
    mlsxLine(dir, parsePerms("read").value),
    "type=dir;modify=20261105090700;perm=el; a b.txt",
  );
});

Deno.test("LIST/NLST arguments: flags dropped, wildcards become a pattern over the folder", () => {
  const rows: [string, string, string | null][] = [
    ["-la", "", null],
    ["-a -l dir", "dir", null],
    ["dir", "dir", null],
    ["-la  x y", "x y", null],
    ["-1", "", null],
    ["-lat", "", null],
    ["-1 -a sub", "sub", null],
    ["-la\t-R2 d", "d", null],
    ["*.txt", "", "^.*\\.txt$"],
    ["docs/a?c", "docs/", "^a.c$"],
    ["/*", "/", "^.*$"],
    ["-l sub/(x)*", "sub/", "^\\(x\\).*$"],
  ];
  for (const [arg, path, pattern] of rows) {
    const got = listArgument(arg);
    assert.deepEqual([got.path, got.pattern?.source ?? null], [path, pattern], arg);
  }
});

Deno.test("tree files: permission, size and virtual parsers", () => {
  assert.deepEqual([...parsePerms("read, write").value], ["read", "write"]);
  assert.deepEqual([...parsePerms(" READ,modify\n").value], ["read", "modify"]);
  assert.deepEqual([...parsePerms("read,exec").value], [], "an unknown word voids the list");
  assert.deepEqual(parseSize("1000\n").value, { kind: "limit", bytes: 1000 });
  assert.deepEqual(parseSize("0").value, { kind: "none" });
  assert.equal(parseSize("ten").value.kind, "broken");
  assert.equal(parseSize("-5").value.kind, "broken");
  const v = parseVirtual(
    "# comment\n\nup $root/pub/up read,write\nbad\n.hid /x read\nrel ../x read\nup /y read\nx /z bogus\n",
    "/srv",
    "/srv/u",
  );
  assert.deepEqual(v.value.map((d) => [d.name, d.target]), [["up", "/srv/pub/up"], [
    "rel",
    "/srv/x",
  ]]);
  assert.deepEqual(v.problems.map((p) => p.line), [4, 5, 7, 8]);
  assert.deepEqual(v.value.map((d) => d.line), [3, 6]);
});

Deno.test("command line: defaults, flags and usage errors", () => {
  const inv = parseCommandLine(["serve"]);
  assert.ok(inv.kind === "serve");
  assert.equal(inv.options.root, "./home");
  assert.equal(inv.options.port, 2121);
  assert.equal(inv.options.idleTimeoutMs, 120000);
  assert.equal(inv.options.maxConnections, 500);
  const custom = parseCommandLine([
    "serve",
    "/srv/ftp",
    "--host",
    "::",
    "--port",
    "21000",
    "--passive-ports",
    "30000-30010",
    "--max-per-ip",
    "3",
  ]);
  assert.ok(custom.kind === "serve");
  assert.deepEqual(custom.options.passivePorts, [30000, 30010]);
  assert.equal(custom.options.host, "::");
  for (
    const bad of [
      ["serve", "--port", "70000"],
      ["serve", "--bogus"],
      ["serve", "--passive-ports", "10-5"],
      ["serve", "a", "b"],
      ["frobnicate"],
      [],
      ["serve", "--idle-timeout", "x"],
      ["serve", "--public-host", "example.com"],
      ["serve", "--public-host", "1.2.3.400"],
    ]
  ) {
    assert.throws(() => parseCommandLine(bad), UsageError, bad.join(" "));
  }
  const shared = parseCommandLine(["share"]);
  assert.ok(shared.kind === "serve" && shared.options.share && shared.options.readOnly);
  assert.equal(shared.options.root, ".");
  const writable = parseCommandLine(["share", "/srv/pub", "--writable"]);
  assert.ok(writable.kind === "serve" && !writable.options.readOnly);
  assert.throws(() => parseCommandLine(["serve", "--writable"]), UsageError);
  assert.deepEqual(parseCommandLine(["passwd", "bob", "/r", "--create"]), {
    kind: "passwd",
    user: "bob",
    root: "/r",
    create: true,
  });
});

Deno.test("passwords: scrypt lines, legacy MD5, anything else never matches", async () => {
  const line = await hashPassword("s3cret");
  assert.match(line, /^scrypt\$N=32768,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  assert.notEqual(line, await hashPassword("s3cret"), "salted");
  assert.equal(await verifyPassword(line, "s3cret"), true);
  assert.equal(await verifyPassword(line, "s3cret "), false);
  const md5 = "5ebe2294ecd0e0f08eab7690d2a6ee69"; // md5("secret")
  assert.equal(storedKind(md5), "md5");
  assert.equal(await verifyPassword(md5, "secret"), true);
  assert.equal(await verifyPassword(md5, "Secret"), false);
  assert.equal(await verifyPassword(md5.toUpperCase(), "secret"), true, "upper-case hex too");
  assert.equal(await verifyPassword(null, "anything"), false);
  assert.equal(await verifyPassword("!unreadable", ""), false);
  assert.equal(await verifyPassword("", ""), false);
});

Deno.test("login guard: doubling delays, hold-off after N failures, reset on success", () => {
  const g = new LoginGuard({ maxFailures: 3, banSeconds: 60, failDelayMs: 100 });
  assert.deepEqual([g.fail("a", 0), g.fail("a", 1)], [100, 200]);
  assert.equal(g.isBanned("a", 2), false);
  g.fail("a", 2);
  assert.equal(g.isBanned("a", 3), true);
  assert.equal(g.isBanned("b", 3), false);
  assert.equal(g.isBanned("a", 61_000), false, "the hold-off ends");
  g.succeed("a");
  assert.equal(g.fail("a", 70_000), 100);
});

Deno.test("login guard: parallel failures never pass the budget; successes run side by side", async () => {
  const g = new LoginGuard({ maxFailures: 3, banSeconds: 60, failDelayMs: 0 });
  let running = 0, most = 0, tried = 0;
  const attempt = (ok: boolean) =>
    g.attempt("p", async () => {
      tried++;
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 5));
      running--;
      return ok;
    });
  const good = await Promise.all(Array.from({ length: 10 }, () => attempt(true)));
  assert.deepEqual(new Set(good), new Set(["ok"]));
  assert.equal(most, 3, "good logins run as many at once as the budget allows");
  tried = 0;
  const bad = await Promise.all(Array.from({ length: 10 }, () => attempt(false)));
  assert.equal(tried, 3, "only 3 tries before the hold-off");
  assert.equal(bad.filter((v) => v === "banned").length, 7);
});

Deno.test("line reader: CRLF and LF, split chunks, over-long lines", async () => {
  const r = new LineReader(chunks("USER a\r\nPA", "SS b\nNOOP\r", "\n"));
  const text = async () => {
    const n = await r.next();
    return n.kind === "line" ? new TextDecoder().decode(n.bytes) : n.kind;
  };
  assert.deepEqual([await text(), await text(), await text(), await text()], [
    "USER a",
    "PASS b",
    "NOOP",
    "end",
  ]);
  const long = new LineReader(chunks("x".repeat(MAX_LINE + 10) + "\r\n"));
  assert.equal((await long.next()).kind, "too-long");
  const exact = new LineReader(chunks("y".repeat(MAX_LINE) + "\r\n"));
  assert.equal((await exact.next()).kind, "line");
});

Deno.test("MFMT times", () => {
  const rows: [string, string | null][] = [
    ["20200102030405 f.txt", "2020-01-02T03:04:05.000Z"],
    ["19991231235959 a b", "1999-12-31T23:59:59.000Z"],
    ["20200230000000 f", null],
    ["20201301000000 f", null],
    ["20200101240000 f", null],
    ["2020010100000 f", null],
    ["20200101000000", null],
    ["x", null],
  ];
  for (const [arg, want] of rows) assert.equal(parseFtpTime(arg)?.toISOString() ?? null, want, arg);
});

Deno.test("line reader: a long line grows the buffer up to the limit, not past it", async () => {
  const long = "L".repeat(5000);
  const r = new LineReader(chunks(`${long}\r\nNEXT\r\n`, "z".repeat(MAX_LINE + 3)));
  const first = await r.next();
  assert.equal(first.kind === "line" ? first.bytes.length : -1, 5000);
  const second = await r.next();
  assert.equal(second.kind === "line" ? new TextDecoder().decode(second.bytes) : "", "NEXT");
  assert.equal((await r.next()).kind, "too-long");
});

Deno.test("afterMark: a failure after 150 uses a code RFC 959 allows there", () => {
  const code = (c: number) => afterMark(reply(c, "text")).code;
  for (const kept of [226, 250, 425, 426, 451, 551, 552]) assert.equal(code(kept), kept);
  assert.equal(code(450), 451);
  assert.equal(code(452), 552);
  assert.equal(code(550), 551);
  assert.equal(code(553), 551);
  assert.deepEqual(afterMark(reply(450, "The file changed.")).lines, ["The file changed."]);
});
