/** The get protocol's pure parts: request lines, size answers, the bounded reader, the command line. */
import assert from "node:assert/strict";
import { parseCommandLine, UsageError } from "../../lib/cli.ts";
import { formatBytes } from "../../lib/get/client.ts";
import { MAX_REQUEST_BYTES, parseRequest, parseSizeAnswer } from "../../lib/get/protocol.ts";
import { type RequestRead, RequestReader } from "../../lib/get/request_reader.ts";
import type { ByteStream } from "../../lib/net/stream.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("get: request lines are `get NAME`, exactly", () => {
  const rows: [string | Uint8Array, string][] = [
    ["get a.txt", "name a.txt"],
    ["get sub/b c.txt", "name sub/b c.txt"],
    ["get  a.txt", "name  a.txt"],
    ["get ../x", "name ../x"],
    ["GET a.txt", "refused not a get request"],
    ["put a.txt", "refused not a get request"],
    ["get", "refused not a get request"],
    ["get ", "refused no name"],
    ["get a\0b", "refused control characters in the name"],
    ["get a\rb", "refused control characters in the name"],
    [new Uint8Array([0x67, 0x65, 0x74, 0x20, 0xff, 0xfe]), "refused not UTF-8"],
  ];
  for (const [line, want] of rows) {
    const r = parseRequest(typeof line === "string" ? enc(line) : line);
    assert.equal(r.ok ? `name ${r.name}` : `refused ${r.why}`, want, String(line));
  }
});

Deno.test("get: size answers", () => {
  assert.deepEqual(parseSizeAnswer("0"), { kind: "size", size: 0 });
  assert.deepEqual(parseSizeAnswer("1073741824"), { kind: "size", size: 1073741824 });
  assert.deepEqual(parseSizeAnswer("-1"), { kind: "refused" });
  for (const bad of ["", "12 ", "1e3", "220 ready\r\n", "99999999999999999"]) {
    assert.deepEqual(parseSizeAnswer(bad), { kind: "garbage" }, bad);
  }
  assert.equal(formatBytes(512), "512 B");
  assert.equal(formatBytes(1536), "1.5 KiB");
  assert.equal(formatBytes(1024 ** 3), "1.0 GiB");
});

/** A stream that yields the given chunks, each after its delay (in reads of at most the buffer), then the end. */
function scripted(chunks: [number, string][]): ByteStream {
  let i = 0;
  let rest = new Uint8Array(0);
  return {
    async read(buf) {
      if (rest.length === 0) {
        if (i >= chunks.length) return null;
        const [delay, text] = chunks[i++];
        await sleep(delay);
        rest = enc(text);
      }
      const n = Math.min(buf.length, rest.length);
      buf.set(rest.subarray(0, n));
      rest = rest.subarray(n);
      return n;
    },
    write: () => Promise.resolve(),
    close: () => {},
  };
}

const shown = (r: RequestRead) => r.kind === "line" ? dec(r.bytes) : r.kind;

Deno.test("get reader: line ends, blank lines, pipelined go-aheads, the end", async () => {
  const r = new RequestReader(
    scripted([[0, "get a.txt\r\nok\r\n\nget b\nok"], [0, "\n\r\nget c\n"]]),
  );
  assert.equal(shown(await r.next()), "get a.txt");
  await r.goAhead();
  assert.equal(shown(await r.next()), "get b");
  await r.goAhead();
  assert.equal(shown(await r.next()), "get c");
  await r.goAhead(); // the end of the stream counts as the go-ahead
  assert.equal(shown(await r.next()), "end");
});

Deno.test("get reader: a request right behind a go-ahead without a line end is kept", async () => {
  const r = new RequestReader(
    scripted([[0, "get empty\n"], [0, "okget a\n"], [0, "get b\nget c\n"]]),
  );
  assert.equal(shown(await r.next()), "get empty");
  await r.goAhead();
  assert.equal(shown(await r.next()), "get a");
  await r.goAhead(); // a go-ahead that is itself a request line is taken whole
  assert.equal(shown(await r.next()), "get c");
});

Deno.test("get reader: a request without a line end counts once the client pauses", async () => {
  // A client sends its go-ahead only once it has the size, and its next request after the file.
  const script: [number, string][] = [[0, "get a"], [10, ".txt"], [300, "ok"], [300, "get b"]];
  const r = new RequestReader(scripted(script), 100);
  assert.equal(shown(await r.next()), "get a.txt");
  await r.goAhead();
  assert.equal(shown(await r.next()), "get b");
  assert.equal(shown(await r.next()), "end");
});

Deno.test("get reader: a request is at most MAX_REQUEST_BYTES, line end included", async () => {
  const fits = "get " + "x".repeat(MAX_REQUEST_BYTES - 5);
  assert.equal(shown(await new RequestReader(scripted([[0, fits + "\n"]])).next()), fits);
  const long = "get " + "x".repeat(MAX_REQUEST_BYTES - 4);
  assert.equal(shown(await new RequestReader(scripted([[0, long + "\n"]])).next()), "too-long");
  const chunks: [number, string][] = [[0, "get "], [0, "y".repeat(1000)], [0, "y".repeat(1000)]];
  assert.equal(shown(await new RequestReader(scripted(chunks), 1000).next()), "too-long");
});

const get = (...argv: string[]) => {
  const inv = parseCommandLine(["get", ...argv]);
  assert.equal(inv.kind, "get");
  return inv.kind === "get" ? inv.request : null;
};

Deno.test("get command line: HOST:PORT, NAME, -o", () => {
  assert.deepEqual(get("127.0.0.1:6666", "sub/a.txt"), {
    hostname: "127.0.0.1",
    port: 6666,
    name: "sub/a.txt",
    output: "a.txt",
  });
  assert.deepEqual(get("[::1]:7", "a", "-o", "-"), {
    hostname: "::1",
    port: 7,
    name: "a",
    output: "-",
  });
  assert.equal(get("localhost:1", "x\\y.txt", "-o", "out/z")?.output, "out/z");
  assert.equal(get("localhost:1", "x\\y.txt")?.output, "y.txt");
  const bad = [
    ["127.0.0.1", "a"],
    ["127.0.0.1:0", "a"],
    ["127.0.0.1:70000", "a"],
    ["::1:6666", "a"],
    ["h:1"],
    ["h:1", "a", "b"],
    ["h:1", "dir/"],
    ["h:1", ".."],
    ["h:1", "a\nb"],
    ["h:1", "x".repeat(MAX_REQUEST_BYTES)],
  ];
  for (const argv of bad) assert.throws(() => get(...argv), UsageError, argv.join(" "));
  assert.throws(() => parseCommandLine(["serve", "-o", "x"]), UsageError);
});

Deno.test("serve command line: --get-port is off by default and needs its own port", () => {
  const opts = (...argv: string[]) => {
    const inv = parseCommandLine(["serve", ...argv]);
    return inv.kind === "serve" ? inv.options : null;
  };
  assert.equal(opts()?.getPort, null);
  assert.equal(opts("--get-port", "6666")?.getPort, 6666);
  assert.equal(opts("--port", "0", "--get-port", "0")?.getPort, 0);
  assert.throws(() => opts("--port", "2121", "--get-port", "2121"), UsageError);
  assert.throws(() => opts("--get-port", "x"), UsageError);
});
