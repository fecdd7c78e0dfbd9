/** The door's passive port picker: a cursor through the range, skipping ports in use. */
import assert from "node:assert/strict";
import { PassivePorts } from "../../lib/ftp/passive_ports.ts";

/** A free range of `n` ports on loopback, found by trying. */
function freeRange(n: number): [number, number] {
  for (let low = 41000; low < 60000; low += n) {
    const held: Deno.TcpListener[] = [];
    try {
      for (let p = low; p < low + n; p++) {
        held.push(Deno.listen({ hostname: "127.0.0.1", port: p }));
      }
      return [low, low + n - 1];
    } catch {
      // one of them is taken: try the next block
    } finally {
      for (const l of held) l.close();
    }
  }
  throw new Error("no free range");
}

Deno.test("passive ports: consecutive listeners move through the range and skip a taken port", () => {
  const [low, high] = freeRange(4);
  const ports = new PassivePorts([low, high]);
  const taken = Deno.listen({ hostname: "127.0.0.1", port: low + 1 });
  const open: Deno.TcpListener[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      const l = ports.listen("127.0.0.1");
      assert.ok(l !== null);
      open.push(l);
    }
    const got = open.map((l) => l.addr.port).sort();
    assert.deepEqual(got, [low, low + 2, low + 3], "every free port once, the taken one skipped");
    assert.equal(
      ports.listen("127.0.0.1"),
      null,
      "a full configured range is refused, not widened",
    );
  } finally {
    for (const l of open) l.close();
    taken.close();
  }
});

Deno.test("passive ports: without a range, a port is always found", () => {
  const ports = new PassivePorts(null);
  const open = Array.from({ length: 5 }, () => ports.listen("127.0.0.1"));
  try {
    const seen = new Set(open.map((l) => l?.addr.port));
    assert.equal(seen.size, 5);
  } finally {
    for (const l of open) l?.close();
  }
});
