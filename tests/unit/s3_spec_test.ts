import assert from "node:assert/strict";
import { parseCommandLine, UsageError } from "../../lib/cli.ts";
import { serverNet, workerPermissions } from "../../lib/sandbox.ts";
import {
  endpointNetPermission,
  parseEndpoint,
  parseS3Root,
  S3UsageError,
} from "../../lib/storage/s3/spec.ts";

Deno.test("s3:// roots: bucket and prefix, normalised; bad ones refused", () => {
  assert.deepEqual(parseS3Root("s3://team"), { bucket: "team", prefix: "" });
  assert.deepEqual(parseS3Root("s3://team/"), { bucket: "team", prefix: "" });
  assert.deepEqual(parseS3Root("s3://team//ftp/site/"), { bucket: "team", prefix: "ftp/site/" });
  for (const bad of ["s3://UPPER", "s3://a", "s3://a..b", "s3://ok/../x", "s3://ok/./x"]) {
    assert.throws(() => parseS3Root(bad), S3UsageError, bad);
  }
  assert.equal(parseEndpoint("http://127.0.0.1:7480"), "http://127.0.0.1:7480");
  for (const bad of [undefined, "ftp://x", "not a url", "http://x/?a=1"]) {
    assert.throws(() => parseEndpoint(bad), S3UsageError, String(bad));
  }
});

Deno.test("s3:// on the command line: flags belong to it, --allow-outside does not", () => {
  const inv = parseCommandLine([
    "serve",
    "s3://team/site",
    "--s3-endpoint",
    "https://s3.example",
    "--s3-timeout",
    "5",
    "--s3-stale-upload-minutes",
    "0",
  ]);
  assert.ok(inv.kind === "serve");
  assert.deepEqual(inv.s3, {
    bucket: "team",
    prefix: "site/",
    endpoint: "https://s3.example",
    region: "us-east-1",
    timeoutMs: 5000,
    staleUploadMs: 0,
  });
  const passwd = parseCommandLine(["passwd", "bob", "s3://team", "--s3-endpoint", "http://h:1"]);
  assert.ok(passwd.kind === "passwd" && passwd.s3?.bucket === "team");
  const check = parseCommandLine(["check", "s3://team", "--s3-endpoint", "http://h:1"]);
  assert.ok(check.kind === "check" && check.s3?.endpoint === "http://h:1");
  for (
    const bad of [
      ["serve", "s3://team"],
      ["serve", "/srv", "--s3-endpoint", "http://h:1"],
      ["serve", "s3://team", "--s3-endpoint", "http://h:1", "--allow-outside", "/x"],
    ]
  ) {
    assert.throws(() => parseCommandLine(bad), UsageError, bad.join(" "));
  }
});

Deno.test("the Worker on a store: no files; the store's host:port and the listen address", () => {
  assert.equal(endpointNetPermission("http://127.0.0.1:7480"), "127.0.0.1:7480");
  assert.equal(endpointNetPermission("https://s3.example"), "s3.example:443");
  assert.equal(endpointNetPermission("http://[::1]:9000"), "[::1]:9000");
  assert.deepEqual(serverNet("127.0.0.2", "http://127.0.0.1:7480"), [
    "127.0.0.1:7480",
    "127.0.0.2",
  ]);
  assert.deepEqual(serverNet("::1", "http://s3:80"), ["s3:80", "[::1]"]);
  assert.equal(serverNet("0.0.0.0", "http://s3:80"), true, "a wildcard cannot be named");
  const p = workerPermissions([], serverNet("127.0.0.1", "http://s3:80"));
  assert.equal(p.read, false);
  assert.equal(p.write, false);
  assert.equal(p.env, false);
  assert.equal(p.run, false);
});
