/**
 * Several instances on one bucket behind HAProxy (TCP mode): what one
 * writes the other serves at once, tree-file changes reach both within the
 * cache bound, bans stay per instance, and a killed instance leaves no
 * object and (after the sweep) no pending upload.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { startCeph } from "../support/ceph.ts";
import { epsvConnect, epsvPort, RawClient, readAll } from "../support/raw.ts";
import { makeBucket, objectBytes, putTree, startS3Server } from "../support/s3_tree.ts";
import { randomBytes, sameBytes, type TestServer } from "../support/server.ts";

const md5 = (s: string) => createHash("md5").update(s).digest("hex");
const MiB = 1 << 20;
/** The tree-file cache bound of S3Storage, plus the time a request takes. */
const CACHE_BOUND_MS = 2000 + 500;

function isFree(host: string, port: number): boolean {
  try {
    Deno.listen({ hostname: host, port }).close();
    return true;
  } catch {
    return false;
  }
}

/** `count` consecutive ports free on 127.0.0.1 and `also`, below the ephemeral range. */
function portWindow(count: number, also: string): [number, number] {
  for (let attempt = 0; attempt < 100; attempt++) {
    const min = 24000 + Math.floor(Math.random() * 200) * 40;
    const ports = Array.from({ length: count }, (_, i) => min + i);
    if (ports.every((p) => isFree("127.0.0.1", p) && isFree(also, p))) {
      return [min, min + count - 1];
    }
  }
  throw new Error("no free port window");
}

/** Downloads `path` through a logged-in raw client (binary, passive). */
async function retr(c: RawClient, path: string): Promise<Uint8Array> {
  const data = await epsvConnect(c);
  const r = await c.cmd(`RETR ${path}`);
  assert.equal(r.code, 150, r.text);
  const bytes = await readAll(data);
  assert.equal((await c.reply()).code, 226);
  return bytes;
}

/** Uploads `bytes` to `path`; returns the final reply. */
async function stor(c: RawClient, path: string, bytes: Uint8Array) {
  const data = await epsvConnect(c);
  const r = await c.cmd(`STOR ${path}`);
  if (r.code !== 150) {
    data.close();
    return r;
  }
  const w = data.writable.getWriter();
  await w.write(bytes);
  await w.close();
  return await c.reply(60_000);
}

async function loginCode(port: number, host: string, user: string, password: string) {
  using c = await RawClient.open(port, host);
  if (c.greeting.code !== 220) return c.greeting.code;
  return (await c.login(user, password)).code;
}

/** Starts HAProxy in TCP mode: the control port to both instances, each passive range to its own. */
async function startHaproxy(
  port: number,
  instances: Array<{ host: string; port: number; passive: [number, number] }>,
) {
  const dir = await Deno.makeTempDir({ prefix: "xxftp-haproxy-" });
  const config = [
    "global",
    "  maxconn 200",
    "defaults",
    "  mode tcp",
    "  timeout connect 5s",
    "  timeout client 60s",
    "  timeout server 60s",
    "frontend ftp",
    `  bind 127.0.0.1:${port}`,
    "  default_backend instances",
    "backend instances",
    "  balance roundrobin",
    ...instances.map((s, i) => `  server i${i} ${s.host}:${s.port}`),
    ...instances.flatMap((s, i) => [
      `frontend passive${i}`,
      `  bind 127.0.0.1:${s.passive[0]}-${s.passive[1]}`,
      `  default_backend data${i}`,
      `backend data${i}`,
      // No port: the connection goes to the port it came in on.
      `  server i${i} ${s.host}`,
    ]),
  ].join("\n") + "\n";
  await Deno.writeTextFile(`${dir}/haproxy.cfg`, config);
  const child = new Deno.Command("haproxy", {
    args: ["-db", "-f", `${dir}/haproxy.cfg`],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  for (let i = 0; i < 100; i++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      break;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    async [Symbol.asyncDispose]() {
      child.kill("SIGTERM");
      await child.status;
      await child.stderr.cancel();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("two instances on one bucket behind HAProxy", async (t) => {
  await using ceph = await startCeph();
  const s3 = await makeBucket(ceph, "shared");
  const existing = randomBytes(3 * MiB);
  await putTree(s3, "site/", {
    "bob/.xxftp/password": md5("old"),
    "bob/in/": "",
    "bob/existing.bin": existing,
  });
  const hosts = ["127.0.0.2", "127.0.0.3"];
  const passive = hosts.map((h) => portWindow(20, h));
  const servers: TestServer[] = [];
  for (const [i, host] of hosts.entries()) {
    servers.push(
      await startS3Server(ceph, "s3://shared/site", [
        "--host",
        host,
        "--passive-ports",
        `${passive[i][0]}-${passive[i][1]}`,
        "--public-host",
        "127.0.0.1",
        "--max-login-failures",
        "2",
      ]),
    );
  }
  const [a, b] = servers;
  const front = portWindow(1, "127.0.0.2")[0];
  try {
    await using _haproxy = await startHaproxy(
      front,
      servers.map((s, i) => ({ host: hosts[i], port: s.port, passive: passive[i] })),
    );

    await t.step(
      "an upload through one is listed and downloaded through the other at once",
      async () => {
        // HAProxy picks the instance; a passive port names it (each has its own range).
        const onInstance: RawClient[] = [];
        for (let i = 0; i < 12 && onInstance.filter(Boolean).length < 2; i++) {
          const c = await RawClient.open(front);
          assert.equal((await c.login("bob", "old")).code, 230);
          await c.cmd("TYPE I");
          const port = await epsvPort(c);
          const which = port >= passive[0][0] && port <= passive[0][1] ? 0 : 1;
          if (onInstance[which]) c.close();
          else onInstance[which] = c;
        }
        using one = onInstance[0];
        using two = onInstance[1];
        assert.ok(one && two, "HAProxy sent sessions to both instances");
        const payload = randomBytes(20 * MiB + 5);
        // At once: one session uploads while the other downloads through the other instance.
        const [up, down] = await Promise.all([
          stor(one, "/in/new.bin", payload),
          retr(two, "/existing.bin"),
        ]);
        assert.equal(up.code, 226, up.text);
        assert.ok(sameBytes(down, existing));
        const listed = await (async () => {
          const data = await epsvConnect(two);
          assert.equal((await two.cmd("NLST /in")).code, 150);
          const text = new TextDecoder().decode(await readAll(data));
          await two.reply();
          return text.trim().split(/\r?\n/);
        })();
        assert.deepEqual(listed, ["/in/new.bin"]);
        assert.ok(
          sameBytes(await retr(two, "/in/new.bin"), payload),
          "the other instance serves it",
        );
        // The log lines come through a pipe: wait for them.
        await a.waitFor("stored /in/new.bin", 20_000);
        await b.waitFor("sent /in/new.bin", 20_000);
        assert.ok(!b.output().includes("stored /in/new.bin"), "written through A alone");
      },
    );

    await t.step(
      "a changed password or permission file applies on both within the bound",
      async () => {
        await s3.putObject("site/bob/.xxftp/password", md5("new"));
        await new Promise((r) => setTimeout(r, CACHE_BOUND_MS));
        for (const [i, s] of servers.entries()) {
          assert.equal(await loginCode(s.port, hosts[i], "bob", "new"), 230, `instance ${i}`);
        }
        await s3.putObject("site/bob/.xxftp/permission", "read\n");
        await new Promise((r) => setTimeout(r, CACHE_BOUND_MS));
        for (const [i, s] of servers.entries()) {
          using c = await RawClient.open(s.port, hosts[i]);
          await c.login("bob", "new");
          assert.equal((await c.cmd("MKD /in/nope")).code, 550, `read-only on instance ${i}`);
        }
        await s3.deleteObject("site/bob/.xxftp/permission");
      },
    );

    await t.step("a ban holds on the instance that counted the failures only", async () => {
      // Through HAProxy every client has HAProxy's address: connect to the instances directly.
      assert.equal(await loginCode(a.port, hosts[0], "bob", "wrong1"), 530);
      assert.equal(await loginCode(a.port, hosts[0], "bob", "wrong2"), 421, "banned on A");
      assert.equal(await loginCode(a.port, hosts[0], "bob", "new"), 421, "still banned on A");
      assert.equal(await loginCode(b.port, hosts[1], "bob", "new"), 230, "B knows of no ban");
    });

    await t.step(
      "a killed instance leaves no object; the sweep leaves no pending upload",
      async () => {
        using c = await RawClient.open(b.port, hosts[1]);
        assert.equal((await c.login("bob", "new")).code, 230);
        await c.cmd("TYPE I");
        const data = await epsvConnect(c);
        assert.equal((await c.cmd("STOR /in/killed.bin")).code, 150);
        const w = data.writable.getWriter();
        for (let i = 0; i < 100; i++) {
          await w.write(randomBytes(MiB));
          const [u] = await s3.listMultipartUploads("site/bob/in/killed");
          if (u && (await s3.listParts(u.key, u.uploadId)).length > 1) break;
        }
        b.signal("SIGKILL");
        await b.exited;
        await w.close().catch(() => {});
        assert.equal(await s3.headObject("site/bob/in/killed.bin"), null, "nothing published");
        assert.equal((await s3.listMultipartUploads("site/")).length, 1, "its upload is pending");
        await using sweeper = await startS3Server(ceph, "s3://shared/site", [
          "--s3-stale-upload-minutes",
          "0",
        ]);
        await sweeper.waitFor("removed 1 unfinished upload(s)");
        assert.deepEqual(await s3.listMultipartUploads("site/"), []);
        assert.ok(sameBytes(await objectBytes(s3, "site/bob/existing.bin"), existing));
      },
    );
  } finally {
    for (const s of servers) await s.stop();
  }
});
