/** The HTTP door with big files: bounded memory both ways, and uploads that break off publish nothing. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { UPLOAD_TEMP_PREFIX } from "../../lib/storage/local.ts";
import { makeTree, randomBytes, run, sameBytes, startServer } from "../support/server.ts";

const GiB = 1 << 30;
const LIB = new URL("../../lib", import.meta.url).pathname;

/** The process's peak resident memory (VmHWM), in bytes. */
async function peakMemory(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

Deno.test("a 1 GiB file downloads, zips and uploads in bounded memory", async () => {
  const root = await makeTree({ "anonymous/big/": "" });
  // Sparse: a gibibyte of zeros costs no disk, and still goes through every read.
  const big = await Deno.open(join(root, "anonymous/big/huge.bin"), { write: true, create: true });
  await big.truncate(GiB);
  big.close();
  // As `make serve` runs it: the server in the narrowed Worker, inside this one process.
  await using srv = await startServer(root, {
    args: ["--http", "0"],
    denoFlags: ["--allow-net", `--allow-read=${root},${LIB}`, `--allow-write=${root}`],
  });
  await srv.waitFor("confined by Deno permissions (worker)");
  const base = `http://127.0.0.1:${srv.httpPort}`;
  const before = await peakMemory(srv.pid);
  const file = await run(
    "curl",
    ["-s", "-S", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", `${base}/big/huge.bin`],
    undefined,
    300_000,
  );
  assert.equal(file.stdout, `200 ${GiB}`, file.stderr);
  const zip = await run(
    "curl",
    ["-s", "-S", "-o", "/dev/null", "-w", "%{http_code} %{size_download}", `${base}/big/?zip`],
    undefined,
    300_000,
  );
  const [status, size] = zip.stdout.split(" ").map(Number);
  assert.equal(status, 200, zip.stderr);
  assert.ok(size > GiB, `the archive holds the whole file (${size} bytes)`);
  const huge = join(root, "anonymous/big/huge.bin");
  const put = await run(
    "curl",
    ["-s", "-S", "-T", huge, "-o", "/dev/null", "-w", "%{http_code}", `${base}/copy.bin`],
    undefined,
    300_000,
  );
  assert.equal(put.stdout, "201", put.stderr);
  const same = await run("cmp", [huge, join(root, "anonymous/copy.bin")], undefined, 300_000);
  assert.equal(same.code, 0, "the uploaded gibibyte is the same");
  const peak = await peakMemory(srv.pid);
  assert.ok(
    peak < 400 * 2 ** 20,
    `peak memory ${peak >> 20} MiB (${before >> 20} MiB before) stays far below 1 GiB`,
  );
});

/** Sends a PUT head announcing `announced` bytes and `sent` of them, then closes or resets. */
async function brokenPut(
  port: number,
  path: string,
  announced: number,
  sent: number,
  reset: boolean,
) {
  const script = `
import socket, struct, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(("PUT %s HTTP/1.1\\r\\nHost: x\\r\\nContent-Length: %s\\r\\n\\r\\n" % (sys.argv[2], sys.argv[3])).encode())
left = int(sys.argv[4])
while left > 0:
    n = min(left, 65536); s.sendall(b"n" * n); left -= n
time.sleep(0.3)
if sys.argv[5] == "reset":
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
`;
  const r = await run("python3", [
    "-c",
    script,
    String(port),
    path,
    String(announced),
    String(sent),
    reset ? "reset" : "close",
  ]);
  assert.equal(r.code, 0, r.stderr);
}

Deno.test("an upload broken off mid-way, by a close or a reset, leaves the old file byte-identical and no temporary", async () => {
  const old = randomBytes(1 << 20);
  const root = await makeTree({ "anonymous/inbox/old.bin": old, "anonymous/inbox/.keep": "" });
  await using srv = await startServer(root, { args: ["--http", "0"] });
  const inbox = join(root, "anonymous/inbox");
  for (const reset of [false, true]) {
    await brokenPut(srv.httpPort!, "/inbox/old.bin", 8 << 20, 3 << 20, reset);
    await brokenPut(srv.httpPort!, "/inbox/new.bin", 8 << 20, 2 << 20, reset);
  }
  const told = () => srv.output().split("upload aborted: /inbox/").length - 1;
  for (let i = 0; i < 300 && told() < 4; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(told(), 4, srv.output());
  assert.ok(
    sameBytes(await Deno.readFile(join(inbox, "old.bin")), old),
    "the old file is untouched",
  );
  const names = [...Deno.readDirSync(inbox)].map((e) => e.name).sort();
  assert.deepEqual(names, [".keep", "old.bin"], "no new file, no temporary");
  assert.ok(!names.some((n) => n.startsWith(UPLOAD_TEMP_PREFIX)));
  assert.doesNotMatch(srv.output(), /\n\s+at /, "no stack trace in the log");
});
