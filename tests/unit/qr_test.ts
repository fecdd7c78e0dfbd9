/** The QR encoder, read back by a real decoder (zbarimg). */
import assert from "node:assert/strict";
import { encodeQr, qrTerminal, QUIET_ZONE, rsRemainder } from "../../lib/share/qr.ts";
import { gridOfHalfBlocks, pbmOf, zbarDecode } from "../support/qr_image.ts";

/** The code with its quiet zone, as a grid of dark modules. */
function withQuietZone(dark: boolean[][]): boolean[][] {
  const span = dark.length + 2 * QUIET_ZONE;
  return Array.from(
    { length: span },
    (_, y) =>
      Array.from({ length: span }, (_, x) => dark[y - QUIET_ZONE]?.[x - QUIET_ZONE] ?? false),
  );
}

Deno.test("QR: Reed-Solomon matches the standard's worked example (1-M)", () => {
  const data = [32, 91, 11, 120, 209, 114, 220, 77, 67, 64, 236, 17, 236, 17, 236, 17];
  assert.deepEqual([...rsRemainder(Uint8Array.from(data), 10)], [
    196,
    35,
    39,
    119,
    235,
    215,
    231,
    226,
    93,
    23,
  ]);
});

Deno.test("QR: URLs of many lengths, levels M and L, decode with zbarimg", async () => {
  const base = "ftp://192.168.100.200:2121/";
  const urls = [
    "ftp://h/",
    base,
    "http://[fe80::1234:5678:9abc:def0]:8080/",
    `${base}${"shared-folder/".repeat(4)}`,
    `${base}${"a-longer-path-segment/".repeat(6)}`,
    `${base}${"x".repeat(186)}`,
    "ftp://ünïcödé.example/ä/",
  ];
  const versions = new Set<number>();
  for (const url of urls) {
    for (const level of ["M", "L"] as const) {
      const code = encodeQr(url, level);
      versions.add(code.version);
      assert.equal(code.size, code.version * 4 + 17);
      assert.deepEqual(await zbarDecode(pbmOf(withQuietZone(code.dark))), [url], `${level} ${url}`);
    }
  }
  assert.ok(
    versions.has(1) && versions.has(10) && [...versions].some((v) => v >= 7),
    [...versions].join(),
  );
});

Deno.test("QR: the half-block terminal text decodes back to the URL", async () => {
  for (
    const url of [
      "ftp://127.0.0.1:2121/",
      "ftp://[2001:db8::42]:2121/",
      `ftp://10.0.0.7:21/${"d/".repeat(40)}`,
    ]
  ) {
    const text = qrTerminal(encodeQr(url));
    assert.match(text, /^[█▀▄ \n]+$/, "only half blocks, full blocks and spaces");
    assert.deepEqual(await zbarDecode(pbmOf(gridOfHalfBlocks(text))), [url]);
    const colored = qrTerminal(encodeQr(url), true);
    assert.ok(
      colored.split("\n").every((l) => l.startsWith("\x1b[97;40m") && l.endsWith("\x1b[0m")),
    );
  }
});

Deno.test("QR: too long for version 10 is a RangeError", () => {
  assert.throws(() => encodeQr("x".repeat(214)), RangeError);
  assert.equal(encodeQr("x".repeat(213)).version, 10);
});
