/** Command lines as clients send them before ABOR: Telnet bytes and urgent data. */
import assert from "node:assert/strict";
import { LineReader, stripTelnet } from "../../lib/ftp/line_reader.ts";
import type { ByteStream } from "../../lib/net/stream.ts";
import { chunks } from "../support/chunks.ts";

const bytes = (...parts: (number[] | string)[]) =>
  Uint8Array.from(
    parts.flatMap((p) => typeof p === "string" ? [...new TextEncoder().encode(p)] : p),
  );

const text = (b: Uint8Array) => new TextDecoder("utf-8", { fatal: true }).decode(b);

Deno.test("stripTelnet: any run of Telnet bytes before the verb goes, the verb stays whole", () => {
  const rows: [Uint8Array, string][] = [
    [bytes([0xff, 0xf4, 0xff, 0xf2], "ABOR"), "ABOR"], // all inline (over TLS)
    [bytes([0xff, 0xf4, 0xff], "ABOR"), "ABOR"], // DM went out of band (lftp)
    [bytes([0xff, 0xf4, 0xf2], "ABOR"), "ABOR"], // the second IAC went out of band (BSD ftp)
    [bytes([0xf4, 0xff, 0xf2], "ABOR"), "ABOR"], // the first IAC went out of band
    [bytes([0xf2], "ABOR"), "ABOR"],
    [bytes([0xff], "ABOR"), "ABOR"],
    [bytes([0xff, 0xff, 0xf4], "abor"), "abor"],
    [bytes("ABOR"), "ABOR"],
    [bytes("STOR a", [0xff, 0xf1], "b"), "STOR ab"], // IAC NOP inside
    [bytes("STOR a", [0xff], "b"), "STOR ab"], // a dangling IAC takes nothing with it
    [bytes("STOR a", [0xff]), "STOR a"],
  ];
  for (const [line, want] of rows) assert.equal(text(stripTelnet(line)), want, String([...line]));
  assert.deepEqual([...stripTelnet(bytes("X ", [0xff, 0xff]))], [...bytes("X "), 0xff]);
});

async function lines(r: LineReader): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < 20; i++) {
    const n = await r.next();
    if (n.kind !== "line") return out;
    out.push(text(stripTelnet(n.bytes)));
  }
  return out;
}

Deno.test("line reader: ABOR whose LF was urgent data (ftplib) ends at its CR", async () => {
  // The reader must answer "ABOR\r" without waiting for an LF that never comes.
  const given = chunks(bytes("ABOR\r"));
  const stalls: ByteStream = {
    read: async (buf) => await given.read(buf) ?? await new Promise<null>(() => {}),
    write: () => Promise.resolve(),
    close() {},
  };
  const first = await new LineReader(stalls).next();
  assert.equal(first.kind === "line" ? text(first.bytes) : first.kind, "ABOR");

  const rows: [Uint8Array[], string[]][] = [
    [[bytes("ABOR\rNOOP\r\n")], ["ABOR", "NOOP"]],
    [[bytes("ABOR\r"), bytes("\nNOOP\r\n")], ["ABOR", "NOOP"]], // the LF came late: not an empty line
    [[bytes([0xff, 0xf4, 0xff, 0xf2], "abor\r"), bytes("STAT\r\n")], ["abor", "STAT"]],
    [[bytes("QUIT\r")], ["QUIT"]],
    [[bytes("ABORT\r\n")], ["ABORT"]],
    [[bytes("NOOP\rX\r\n")], ["NOOP\rX"]], // only urgent verbs end at a bare CR
    [[bytes("STAT x\r"), bytes("y\r\n")], ["STAT x\ry"]],
  ];
  for (const [parts, want] of rows) {
    assert.deepEqual(await lines(new LineReader(chunks(...parts))), want);
  }
});

Deno.test("line reader: reads one byte at a time until the line holds more than Telnet bytes", async () => {
  // A read stopped at the urgent mark must not be a short one (see LineReader).
  const sizes: number[] = [];
  const given = chunks(bytes([0xff, 0xf4, 0xff], "ABOR\r\nNOOP\r\n"));
  const r = new LineReader({ ...given, read: (buf) => (sizes.push(buf.length), given.read(buf)) });
  assert.deepEqual(await lines(r), ["ABOR", "NOOP"]);
  assert.deepEqual(sizes.slice(0, 4), [1, 1, 1, 1]);
  assert.ok(sizes[4] > 1, "then in bulk");
});
