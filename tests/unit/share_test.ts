/** The share's pure parts: URLs per address, passwords, durations, the status line, its flags. */
import assert from "node:assert/strict";
import { parseCommandLine, UsageError } from "../../lib/cli.ts";
import {
  randomPassword,
  reachableAddresses,
  shareLines,
  shareUrls,
  statusText,
} from "../../lib/share/share.ts";
import { humanDuration, parseDuration } from "../../lib/units.ts";

const interfaces = [
  { family: "IPv4", address: "127.0.0.1" },
  { family: "IPv4", address: "192.168.1.20" },
  { family: "IPv6", address: "::1" },
  { family: "IPv6", address: "fe80::1c2:3ff:fe4:5" },
  { family: "IPv6", address: "2001:db8::20" },
  { family: "IPv4", address: "10.0.0.5" },
  { family: "IPv4", address: "192.168.1.20" },
] as const;

Deno.test("share: one URL per reachable address; loopback and link-local left out", () => {
  assert.deepEqual(reachableAddresses("0.0.0.0", [...interfaces]), ["192.168.1.20", "10.0.0.5"]);
  assert.deepEqual(reachableAddresses("::", [...interfaces]), [
    "192.168.1.20",
    "10.0.0.5",
    "2001:db8::20",
  ]);
  const banner = {
    scheme: "ftp",
    host: "::",
    port: 2121,
    interfaces: [...interfaces],
    readOnly: true,
    password: null,
    expireMs: 2 * 3600_000,
    now: new Date("2030-01-02T03:04:05.678Z"),
  } as const;
  assert.deepEqual(shareUrls(banner), [
    "ftp://192.168.1.20:2121/",
    "ftp://10.0.0.5:2121/",
    "ftp://[2001:db8::20]:2121/",
  ]);
  assert.deepEqual(shareUrls({ ...banner, host: "127.0.0.1" }), ["ftp://127.0.0.1:2121/"]);
  assert.deepEqual(shareLines(banner), [
    '  users: anonymous/ftp (any password), this folder as "/", read-only',
    "  on this network: ftp://192.168.1.20:2121/",
    "                   ftp://10.0.0.5:2121/",
    "                   ftp://[2001:db8::20]:2121/",
    "  expires in 2h (at 2030-01-02T05:04:05Z): the share then stops by itself",
  ]);
  const locked = shareLines({ ...banner, interfaces: null, password: "pw", expireMs: null });
  assert.deepEqual(locked, [
    '  users: share (anonymous is refused), this folder as "/", read-only',
    "  password: pw (made for this run, kept in memory only)",
    "  on every address of this machine (to list them here, run deno with --allow-sys=networkInterfaces)",
  ]);
});

Deno.test("share: passwords are fresh, 16 unambiguous characters", () => {
  const seen = new Set<string>();
  for (let i = 0; i < 200; i++) {
    const p = randomPassword();
    assert.match(p, /^[a-hjkmnp-z02-9]{16}$/);
    seen.add(p);
  }
  assert.equal(seen.size, 200);
});

Deno.test("share: durations and the status line", () => {
  assert.equal(parseDuration("30m"), 1800_000);
  assert.equal(parseDuration("2h"), 7200_000);
  assert.equal(parseDuration("1d"), 86400_000);
  assert.equal(parseDuration("5s"), 5000);
  for (const bad of ["", "5", "1w", "-1h", "1.5h", "h"]) {
    assert.equal(parseDuration(bad), null, bad);
  }
  assert.equal(humanDuration(90_061_000), "1d 1h");
  assert.equal(humanDuration(59_000), "59s");
  assert.equal(humanDuration(0), "0s");
  const idle = { clients: 0, transfers: 0, running: 0, total: 0 };
  assert.equal(statusText(idle, 0, null), "0 clients connected, 0 transfers running");
  const busy = { clients: 1, transfers: 2, running: 3 * 1048576, total: 9e9 };
  assert.equal(
    statusText(busy, 1536 * 1024, 61_000),
    "1 client connected, 2 transfers running (3 MiB, 1.5 MiB/s); stops in 1m 1s",
  );
});

Deno.test("share: its flags belong to share, and --expire takes a duration", () => {
  const inv = parseCommandLine(["share", "/srv", "--password", "--expire", "30m", "--qr"]);
  assert.ok(inv.kind === "serve");
  assert.deepEqual(inv.share, { password: true, expireMs: 1800_000, qr: true });
  const plain = parseCommandLine(["share"]);
  assert.ok(plain.kind === "serve");
  assert.deepEqual(plain.share, { password: false, expireMs: null, qr: false });
  const serve = parseCommandLine(["serve"]);
  assert.ok(serve.kind === "serve" && serve.share === null);
  for (const flag of [["--qr"], ["--password"], ["--expire", "1h"]]) {
    assert.throws(() => parseCommandLine(["serve", ...flag]), UsageError, flag[0]);
  }
  for (const bad of ["0s", "soon", "10"]) {
    assert.throws(() => parseCommandLine(["share", "--expire", bad]), /--expire needs a duration/);
  }
});
