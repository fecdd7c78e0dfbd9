/**
 * A store that freezes, throttles or fills up while serving: clear 4xx
 * replies, a session that goes on, no torn object. The server reaches the
 * real Ceph RGW through a proxy that can answer `503 SlowDown` instead.
 */
import assert from "node:assert/strict";
import { startCeph } from "../support/ceph.ts";
import { startFaultProxy } from "../support/fault_proxy.ts";
import { epsvConnect, RawClient } from "../support/raw.ts";
import { makeBucket, putTree, S3_DENO_FLAGS, s3Env } from "../support/s3_tree.ts";
import { randomBytes, startServer } from "../support/server.ts";

const MD5_OF_SECRET = "5ebe2294ecd0e0f08eab7690d2a6ee69";
const MiB = 1 << 20;
const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** Sends `bytes` on a data connection until it is done or the server drops it; how many went. */
async function sendAll(conn: Deno.TcpConn, bytes: Uint8Array, onSent?: (n: number) => void) {
  let sent = 0;
  try {
    while (sent < bytes.length) {
      sent += await conn.write(bytes.subarray(sent, Math.min(bytes.length, sent + MiB)));
      onSent?.(sent);
    }
  } catch {
    // the server closed the data connection: what matters is the reply
  }
  try {
    conn.close();
  } catch {
    // closed already
  }
  return sent;
}

Deno.test("a failing store: 4xx replies, sessions go on, nothing torn", async (t) => {
  await using ceph = await startCeph();
  const s3 = await makeBucket(ceph, "faults");
  const big = randomBytes(64 * MiB);
  await putTree(s3, "", { "bob/.xxftp/password": MD5_OF_SECRET, "bob/small.txt": "small" });
  await s3.putObject("bob/big.bin", big);
  await using proxy = startFaultProxy(ceph.endpoint);
  await using srv = await startServer("s3://faults", {
    args: ["--s3-endpoint", proxy.endpoint, "--s3-timeout", "2"],
    denoFlags: S3_DENO_FLAGS,
    env: s3Env(ceph),
  });

  await t.step("RETR while the store freezes: 451, then the session goes on", async () => {
    using c = await RawClient.open(srv.port);
    assert.equal((await c.login("bob", "secret")).code, 230);
    await c.cmd("TYPE I");
    const data = await epsvConnect(c);
    assert.equal((await c.cmd("RETR big.bin")).code, 150);
    const reader = data.readable.getReader();
    let got = (await reader.read()).value?.length ?? 0;
    await ceph.pause();
    try {
      for (let r = await reader.read(); !r.done; r = await reader.read()) got += r.value.length;
    } catch {
      // reset by the server
    }
    const end = await c.reply(60_000);
    await ceph.resume();
    assert.equal(end.code, 451, end.text);
    assert.match(end.text, /Storage temporarily unavailable/);
    assert.ok(got < big.length, `${got} of ${big.length} bytes before the store froze`);
    assert.equal((await c.cmd("NOOP")).code, 200);
    assert.equal((await c.cmd("SIZE small.txt")).text, "213 5");
  });

  await t.step("STOR while the store freezes: 451, nothing published, no upload left", async () => {
    using c = await RawClient.open(srv.port);
    await c.login("bob", "secret");
    await c.cmd("TYPE I");
    const data = await epsvConnect(c);
    assert.equal((await c.cmd("STOR frozen.bin")).code, 150);
    // Freeze the store once the upload has a part in it, so the abort is what is tested.
    const sending = sendAll(data, randomBytes(48 * MiB));
    for (let i = 0; i < 300; i++) {
      const [u] = await s3.listMultipartUploads("bob/frozen");
      if (u && (await s3.listParts(u.key, u.uploadId)).length > 0) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    await ceph.pause();
    const end = await c.reply(90_000);
    await ceph.resume();
    await sending;
    assert.equal(end.code, 451, end.text);
    assert.equal((await c.cmd("NOOP")).code, 200);
    assert.equal(await s3.headObject("bob/frozen.bin"), null, "no torn object");
    // An abort made while the store was frozen is tried again 5 s later.
    for (let i = 0; i < 100 && (await s3.listMultipartUploads("bob/")).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.deepEqual(await s3.listMultipartUploads("bob/"), [], "its multipart upload aborted");
  });

  await t.step(
    "503 SlowDown: retried when brief; 451 when it lasts, login not counted",
    async () => {
      using c = await RawClient.open(srv.port);
      await c.login("bob", "secret");
      await c.cmd("TYPE I"); // SIZE counts bytes on the wire: binary
      proxy.slowDown = 2;
      assert.equal((await c.cmd("SIZE small.txt")).text, "213 5", "two 503s are retried away");
      assert.equal(proxy.refused, 2);
      proxy.slowDown = Infinity;
      const size = await c.cmd("SIZE small.txt");
      assert.equal(size.code, 451, size.text);
      using other = await RawClient.open(srv.port);
      for (let i = 0; i < 6; i++) {
        assert.equal((await other.login("bob", "secret")).code, 451, "not a failed login");
      }
      proxy.slowDown = 0;
      assert.equal((await other.login("bob", "secret")).code, 230, "no ban came of it");
      assert.equal((await c.cmd("SIZE small.txt")).text, "213 5");
    },
  );

  await t.step("the store's own quota: 552 after the 150, nothing published", async () => {
    await ceph.admin("quota", "set", "--quota-scope=bucket", "--bucket=faults", "--max-objects=-1")
      .catch(() => "");
    const used = big.length + 2 * MiB;
    await ceph.admin(
      "quota",
      "set",
      "--quota-scope=bucket",
      "--bucket=faults",
      `--max-size=${used}`,
    );
    await ceph.admin("quota", "enable", "--quota-scope=bucket", "--bucket=faults");
    using c = await RawClient.open(srv.port);
    await c.login("bob", "secret");
    await c.cmd("TYPE I");
    for (const size of [4 * MiB, 20 * MiB]) {
      const data = await epsvConnect(c);
      assert.equal((await c.cmd(`STOR full-${size}.bin`)).code, 150);
      await sendAll(data, randomBytes(size));
      const end = await c.reply(60_000);
      assert.equal(end.code, 552, `${size} bytes: ${end.text}`);
      assert.equal(await s3.headObject(`bob/full-${size}.bin`), null);
    }
    assert.deepEqual(await s3.listMultipartUploads("bob/full"), []);
    assert.equal((await c.cmd("NOOP")).code, 200);
    await ceph.admin("quota", "disable", "--quota-scope=bucket", "--bucket=faults");
  });

  await t.step(
    "an unreachable store or a wrong bucket stops the start with one clear line",
    async () => {
      const serve = async (root: string, endpoint: string, env = s3Env(ceph)) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: [
            "run",
            ...S3_DENO_FLAGS,
            MAIN,
            "serve",
            root,
            "--port",
            "0",
            "--s3-endpoint",
            endpoint,
            "--s3-timeout",
            "2",
          ],
          env,
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
          signal: AbortSignal.timeout(60_000),
        }).output();
        return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
      };
      const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
      const port = closed.addr.port;
      closed.close();
      const unreachable = await serve("s3://faults", `http://127.0.0.1:${port}`);
      assert.equal(unreachable.code, 2);
      assert.match(
        unreachable.stderr,
        /^xxftp: cannot reach s3:\/\/faults\/ at http:\/\/127\.0\.0\.1:\d+/,
      );
      const missing = await serve("s3://nope", ceph.endpoint);
      assert.match(missing.stderr, /^xxftp: no bucket "nope" at http/);
      const noEnv = await serve("s3://faults", ceph.endpoint, {});
      assert.match(noEnv.stderr, /needs AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
    },
  );
});
