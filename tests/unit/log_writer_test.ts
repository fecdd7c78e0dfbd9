/** The log writer never waits: a slow output drops and counts lines, a failing one is reported once. */
import assert from "node:assert/strict";
import { LineWriter } from "../../lib/log/writer.ts";

const decoder = new TextDecoder();

/** An output whose writes settle only when the test says so. */
function slowOutput() {
  const written: string[] = [];
  const waiting: (() => void)[] = [];
  return {
    written,
    write: (bytes: Uint8Array) => {
      written.push(decoder.decode(bytes));
      return new Promise<void>((r) => waiting.push(r));
    },
    release: () => waiting.splice(0).forEach((r) => r()),
  };
}

Deno.test("log writer: a stuck output fills the queue, then lines are dropped and counted", async () => {
  const out = slowOutput();
  const reports: string[] = [];
  const w = new LineWriter(out.write, {
    name: "test output",
    maxQueuedBytes: 100,
    report: (m) => reports.push(m),
  });
  w.line("first"); // taken by the writer at once; its write hangs
  for (let i = 0; i < 50; i++) w.line(`line ${String(i).padStart(3, "0")}`); // 9 bytes each
  assert.equal(w.dropped, 39, "11 lines fit in 100 bytes, the rest are dropped");
  const flushed = w.flush();
  for (let i = 0; i < 10; i++) {
    out.release();
    await new Promise((r) => setTimeout(r, 0));
  }
  await flushed;
  const text = out.written.join("");
  assert.ok(text.startsWith("first\nline 000\n"), text);
  assert.ok(text.includes("line 010\n39 log lines dropped: the output could not keep up\n"), text);
  assert.ok(!text.includes("line 011"));
  assert.deepEqual(reports, []);
});

Deno.test("log writer: a failing output is reported once, and again when it works", async () => {
  let failing = true;
  const written: string[] = [];
  const reports: string[] = [];
  const w = new LineWriter(
    (b) =>
      failing
        ? Promise.reject(new Error("disk full"))
        : (written.push(decoder.decode(b)), Promise.resolve()),
    { name: "xferlog /x", report: (m) => reports.push(m) },
  );
  for (let i = 0; i < 20; i++) {
    w.line(`l${i}`);
    await w.flush();
  }
  assert.deepEqual(reports, [
    "xferlog /x cannot be written (disk full); lines are dropped until it can",
  ]);
  failing = false;
  w.line("back");
  await w.flush();
  assert.deepEqual(written, ["back\n"]);
  assert.equal(reports[1], "xferlog /x works again; 20 line(s) were lost");
});

Deno.test("log writer: the status line stays below the log lines", async () => {
  const written: string[] = [];
  const w = new LineWriter((b) => (written.push(decoder.decode(b)), Promise.resolve()), {
    name: "t",
    report: () => {},
  });
  w.status("1 client");
  await w.flush();
  w.line("a log line");
  await w.flush();
  w.status("2 clients");
  await w.flush();
  w.status(null);
  await w.flush();
  assert.deepEqual(written, [
    "1 client",
    "\r\x1b[Ka log line\n1 client",
    "\r\x1b[K2 clients",
    "\r\x1b[K",
  ]);
});

Deno.test("log writer: a line queued just as a batch ends is written without waiting for another", async () => {
  // The second line comes k microtasks after the first, for every k around the end of its batch.
  for (let k = 0; k < 8; k++) {
    const written: string[] = [];
    const w = new LineWriter((bytes) => {
      written.push(decoder.decode(bytes));
      return Promise.resolve();
    }, { name: "test output", report: () => {} });
    w.line("first");
    for (let i = 0; i < k; i++) await Promise.resolve();
    w.line("second");
    await new Promise((r) => setTimeout(r, 10)); // no further line comes to push it out
    assert.equal(written.join(""), "first\nsecond\n", `second line ${k} microtasks later`);
  }
});
