/**
 * Test support: an HTTP proxy in front of a real S3 endpoint that passes
 * requests through unchanged (the Host header too, so SigV4 signatures made
 * for the proxy's address still verify) or, on demand, answers them itself
 * the way a throttling store does: `503 SlowDown`.
 */
import { request } from "node:http";
import { Readable } from "node:stream";

/** A running proxy. */
export interface FaultProxy {
  /** The endpoint to give the client instead of the store's. */
  endpoint: string;
  /** Requests answered `503 SlowDown` from now on: a count, or Infinity until set back to 0. */
  slowDown: number;
  /** Requests answered 503 by the proxy so far. */
  refused: number;
  /** Requests seen so far, refused or passed on. */
  requests: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const SLOW_DOWN = `<?xml version="1.0" encoding="UTF-8"?>
<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>`;

/** Starts a proxy on a free loopback port in front of `target` (`http://host:port`). */
export function startFaultProxy(target: string): FaultProxy {
  const to = new URL(target);
  const controller = new AbortController();
  const proxy: FaultProxy = {
    endpoint: "",
    slowDown: 0,
    refused: 0,
    requests: 0,
    close: async () => {
      controller.abort();
      await server.finished;
    },
    [Symbol.asyncDispose]: () => proxy.close(),
  };
  const forward = (req: Request) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(req.url);
      const headers: Record<string, string> = {};
      req.headers.forEach((v, k) => headers[k] = v);
      const out = request({
        host: to.hostname,
        port: Number(to.port),
        method: req.method,
        path: url.pathname + url.search,
        headers,
      }, (res) => {
        const h = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(", ") : String(v));
        }
        const body = req.method === "HEAD" || res.statusCode === 204 || res.statusCode === 304
          ? null
          : Readable.toWeb(res) as ReadableStream<Uint8Array>;
        resolve(new Response(body, { status: res.statusCode, headers: h }));
      });
      out.on("error", reject);
      if (req.body) {
        const body = Readable.fromWeb(req.body as import("node:stream/web").ReadableStream);
        body.on("error", (err) => out.destroy(err)); // the client went away mid-body
        body.pipe(out);
      } else out.end();
    });
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: controller.signal, onListen: () => {} },
    async (req) => {
      proxy.requests++;
      if (proxy.slowDown > 0) {
        proxy.slowDown--;
        proxy.refused++;
        await req.body?.cancel();
        return new Response(req.method === "HEAD" ? null : SLOW_DOWN, {
          status: 503,
          headers: { "content-type": "application/xml" },
        });
      }
      return await forward(req).catch(() => new Response(null, { status: 502 }));
    },
  );
  proxy.endpoint = `http://127.0.0.1:${server.addr.port}`;
  return proxy;
}
