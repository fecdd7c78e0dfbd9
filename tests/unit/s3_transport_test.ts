/**
 * The S3 client's transport against a scripted loopback HTTP server: what goes on the wire is what
 * was signed, retries happen only when safe and stay bounded, and nothing waits forever.
 */
import assert from "node:assert/strict";
import { S3Client, type S3ClientOptions, S3Error } from "../../lib/storage/s3/client.ts";
import { sha256Hex, sign, UNSIGNED_PAYLOAD } from "../../lib/storage/s3/sigv4.ts";

const SECRET = "test-secret";

/** A loopback server answering with `handler`; records every request. */
function fakeS3(handler: (req: Request, n: number) => Response | Promise<Response>) {
  const seen: Array<{ method: string; url: URL; headers: Headers; body: Uint8Array }> = [];
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    seen.push({
      method: req.method,
      url: new URL(req.url),
      headers: req.headers,
      body: new Uint8Array(await req.arrayBuffer()),
    });
    return handler(req, seen.length);
  });
  const client = (opts: Partial<S3ClientOptions> = {}) =>
    new S3Client({
      endpoint: `http://127.0.0.1:${server.addr.port}`,
      bucket: "b",
      accessKeyId: "AK",
      secretAccessKey: SECRET,
      retry: { baseDelayMs: 5, maxDelayMs: 20 },
      ...opts,
    });
  return {
    seen,
    client,
    /** Resolves when the test is over: handlers that hang wait on it. */
    released: release.promise,
    async [Symbol.asyncDispose]() {
      release.resolve();
      await server.shutdown();
    },
  };
}

const xml = (body: string, status = 200) =>
  new Response(`<?xml version="1.0" encoding="UTF-8"?>${body}`, {
    status,
    headers: { "content-type": "application/xml" },
  });
const OBJECT = { "last-modified": "Wed, 01 May 2024 10:00:00 GMT", etag: '"e"' };
const slowDown = () => xml("<Error><Code>SlowDown</Code><Message>slow</Message></Error>", 503);

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return "resolved";
  } catch (err) {
    assert.ok(err instanceof S3Error, String(err));
    return `${err.kind}/${err.code}`;
  }
}

Deno.test("transport: the request on the wire is the one signed (path, query, headers)", async () => {
  await using fake = fakeS3(() => new Response(null, { status: 200, headers: { etag: '"e"' } }));
  const s3 = fake.client();
  const key = "dir/a b+c&d=é?#%.txt";
  await s3.putObject(key, "hello", { metadata: { mtime: "1" }, contentType: "text/plain" });
  await s3.listObjectsV2("a b/", { delimiter: "/", continuationToken: "t+/=" }).catch(() => {});
  const [put, list] = fake.seen;
  assert.equal(put.url.pathname, "/b/dir/a%20b%2Bc%26d%3D%C3%A9%3F%23%25.txt");
  assert.equal(put.headers.get("x-amz-content-sha256"), UNSIGNED_PAYLOAD);
  assert.equal(put.headers.get("x-amz-meta-mtime"), "1");
  assert.equal(new TextDecoder().decode(put.body), "hello");
  assert.equal(
    list.url.search,
    "?list-type=2&prefix=a%20b%2F&delimiter=%2F&continuation-token=t%2B%2F%3D",
  );
  for (const req of fake.seen) {
    const auth = req.headers.get("authorization") ?? "";
    const signedNames = auth.match(/SignedHeaders=([^,]+)/)?.[1].split(";") ?? [];
    assert.ok(signedNames.includes("host") && signedNames.includes("x-amz-content-sha256"));
    const headers = Object.fromEntries(
      signedNames.filter((n) => n !== "x-amz-date").map((n) => [n, req.headers.get(n) ?? ""]),
    );
    const query = [...req.url.searchParams];
    const time = req.headers.get("x-amz-date")?.replace(
      /^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/,
      "$1-$2-$3T$4:$5:$6Z",
    );
    const expected = sign(
      {
        method: req.method,
        path: req.url.pathname,
        query,
        headers,
        payloadHash: req.headers.get("x-amz-content-sha256") ?? "",
      },
      { accessKeyId: "AK", secretAccessKey: SECRET, region: "us-east-1", service: "s3" },
      new Date(time ?? ""),
    );
    assert.equal(auth, expected.headers.authorization);
  }
});

Deno.test("transport: XML bodies are hashed into the signature, with Content-MD5 for deletes", async () => {
  await using fake = fakeS3(() => xml("<DeleteResult></DeleteResult>"));
  assert.deepEqual(await fake.client().deleteObjects(["a&b", "c"]), []);
  const [req] = fake.seen;
  assert.equal(req.headers.get("x-amz-content-sha256"), sha256Hex(req.body));
  assert.match(new TextDecoder().decode(req.body), /<Key>a&amp;b<\/Key>/);
  assert.ok(req.headers.get("content-md5"));
});

Deno.test("transport: 503 SlowDown is retried with backoff, then succeeds", async () => {
  await using fake = fakeS3((_, n) =>
    n <= 2 ? slowDown() : new Response("ok", { headers: OBJECT })
  );
  const got = await fake.client().getObject("k");
  assert.equal(await new Response(got.body.stream()).text(), "ok");
  assert.equal(fake.seen.length, 3);
});

Deno.test("transport: retries are bounded by count and by time", async () => {
  await using fake = fakeS3(() => xml("<Error><Code>InternalError</Code></Error>", 500));
  assert.equal(
    await kindOf(fake.client({ retry: { attempts: 3 } }).headObject("k")),
    "unavailable/Http500",
  );
  assert.equal(fake.seen.length, 3);
  const before = fake.seen.length;
  const s3 = fake.client({
    retry: { attempts: 50, baseDelayMs: 40, maxDelayMs: 40, budgetMs: 100 },
  });
  assert.equal(await kindOf(s3.getObject("k")), "unavailable/InternalError");
  assert.ok(fake.seen.length - before <= 5, `${fake.seen.length - before} attempts in 100 ms`);
});

Deno.test("transport: a non-idempotent request is not retried after a 500, but is after a 503", async () => {
  await using fake = fakeS3((_, n) =>
    n === 1 ? xml("<Error><Code>InternalError</Code></Error>", 500) : n === 2 ? slowDown() : xml(
      "<InitiateMultipartUploadResult><UploadId>u1</UploadId></InitiateMultipartUploadResult>",
    )
  );
  const s3 = fake.client();
  assert.equal(await kindOf(s3.createMultipartUpload("k")), "unavailable/InternalError");
  assert.equal(fake.seen.length, 1);
  assert.equal(await s3.createMultipartUpload("k"), "u1");
  assert.equal(fake.seen.length, 3);
  // A conditional write is not idempotent either.
  await using fake2 = fakeS3(() => xml("<Error><Code>InternalError</Code></Error>", 500));
  assert.equal(
    await kindOf(fake2.client().putObject("k", "x", { ifNoneMatch: "*" })),
    "unavailable/InternalError",
  );
  assert.equal(fake2.seen.length, 1);
});

Deno.test("transport: a store that never answers times out instead of hanging", async () => {
  await using fake = fakeS3(async () => {
    await fake.released;
    return new Response("late");
  });
  const s3 = fake.client({ timeoutMs: 150, retry: { attempts: 2 } });
  assert.equal(await kindOf(s3.headObject("k")), "unavailable/Timeout");
  assert.equal(fake.seen.length, 2);
});

Deno.test("transport: a body that stalls mid-stream fails the read with a timeout", async () => {
  await using fake = fakeS3(() =>
    new Response(
      new ReadableStream({
        async start(c) {
          c.enqueue(new TextEncoder().encode("first bytes"));
          await fake.released;
          c.close();
        },
      }),
      { headers: { ...OBJECT, "content-length": "100" } },
    )
  );
  const got = await fake.client({ timeoutMs: 150 }).getObject("k");
  const first = await got.body.read(new Uint8Array(100));
  assert.equal(new TextDecoder().decode(first), "first bytes");
  await assert.rejects(
    got.body.read(new Uint8Array(first.buffer, first.length)),
    (err) => err instanceof S3Error && err.code === "Timeout",
  );
});

Deno.test("transport: an error inside a 200 answer to a copy is an error", async () => {
  await using fake = fakeS3((_, n) =>
    n === 1
      ? xml("<Error><Code>InternalError</Code><Message>copy failed</Message></Error>")
      : xml('<CopyObjectResult><ETag>"c"</ETag></CopyObjectResult>')
  );
  assert.equal(await fake.client().copyObject("a", "b"), '"c"', "retried, then succeeded");
  assert.equal(fake.seen.length, 2);
  assert.equal(fake.seen[0].headers.get("x-amz-copy-source"), "/b/a");
});

Deno.test("transport: a caller's abort stops a request and its retries", async () => {
  await using fake = fakeS3(() => slowDown());
  const controller = new AbortController();
  const s3 = fake.client({ retry: { attempts: 100, baseDelayMs: 50, budgetMs: 60_000 } });
  const p = s3.getObject("k", { signal: controller.signal });
  setTimeout(() => controller.abort(new Error("client went away")), 100);
  await assert.rejects(p, /client went away/);
  assert.ok(fake.seen.length < 10);
});

Deno.test("transport: answers that are not S3's XML are errors with the status's kind", async () => {
  await using fake = fakeS3((req) =>
    new URL(req.url).pathname === "/b/html"
      ? new Response("<html>proxy error</html>", { status: 502 })
      : xml("<NotAList/>")
  );
  const s3 = fake.client({ retry: { attempts: 1 } });
  assert.equal(await kindOf(s3.getObject("html")), "unavailable/Http502");
  assert.equal(await kindOf(s3.listObjectsV2("")), "unavailable/MalformedResponse");
});

Deno.test("transport: an object stored gzip-encoded comes back as stored, not decompressed", async () => {
  const gz = new Uint8Array(
    await new Response(
      new Blob([new TextEncoder().encode("hello ".repeat(100))]).stream()
        .pipeThrough(new CompressionStream("gzip")),
    ).arrayBuffer(),
  );
  await using fake = fakeS3(() =>
    new Response(gz, {
      headers: { ...OBJECT, "content-encoding": "gzip", "content-length": String(gz.length) },
    })
  );
  const got = await fake.client().getObject("k");
  const bytes = new Uint8Array(await new Response(got.body.stream()).arrayBuffer());
  assert.deepEqual(bytes, gz);
  assert.equal(fake.seen[0].headers.get("accept-encoding"), "identity");
});
