/**
 * The FTP door through its byte-stream seam: command lines in, replies out,
 * a real core over a temporary tree, no sockets on the control side.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { MemoryFtp } from "../support/memory_ftp.ts";
import { makeTree } from "../support/server.ts";

/** Runs `lines` in one session; returns each reply's code. */
async function codes(root: string, lines: string[]): Promise<string[]> {
  await using ftp = new MemoryFtp(root);
  assert.match(await ftp.reply(), /^220 /);
  const out: string[] = [];
  for (const line of lines) out.push((await ftp.cmd(line)).slice(0, 3));
  return out;
}

Deno.test("door: the table's columns are checked before any handler", async () => {
  const root = await makeTree({ "u/f.txt": "x", "ro/.xxftp/permission": "read", "ro/g.txt": "g" });
  try {
    const rows: [string[], string[]][] = [
      [["PWD"], ["530"]],
      [["PASS x"], ["503"]],
      [["USER u", "PASS x", "PWD extra"], ["331", "230", "501"]],
      [["USER u", "PASS x", "DELE"], ["331", "230", "501"]],
      [["USER u", "PASS x", "RNTO b"], ["331", "230", "503"]],
      [["USER u", "PASS x", "FOO"], ["331", "230", "500"]],
      [["USER u", "PASS x", "SIZE .xxftp/x"], ["331", "230", "550"]],
      [["USER u", "PASS x", "TYPE I", "SIZE f.txt", "MDTM f.txt"], [
        "331",
        "230",
        "200",
        "213",
        "213",
      ]],
      [["USER ro", "PASS x", "DELE g.txt", "MKD d"], ["331", "230", "550", "550"]],
      [["USER u", "PASS x", "MKD d", "MKD d", "RMD d", "RMD d"], [
        "331",
        "230",
        "257",
        "550",
        "250",
        "550",
      ]],
      [["USER u", "PASS x", "RNFR f.txt", "RNTO h.txt", "MDTM h.txt"], [
        "331",
        "230",
        "350",
        "250",
        "213",
      ]],
      [["USER u", "PASS x", "CWD /", "CDUP", "PWD"], ["331", "230", "250", "250", "257"]],
      [["USER nobody", "PASS x"], ["331", "530"]],
      [["USER bad-name"], ["530"]],
    ];
    for (const [lines, want] of rows) {
      assert.deepEqual(await codes(root, lines), want, lines.join(" / "));
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("door: tree changes reach the storage and the log", async () => {
  const root = await makeTree({ "u/a.txt": "aaa" });
  try {
    await using ftp = new MemoryFtp(root);
    await ftp.reply();
    await ftp.cmd("USER u");
    await ftp.cmd("PASS x");
    assert.match(await ftp.cmd("MKD new"), /^257 "\/new" created/);
    assert.match(await ftp.cmd("RNFR a.txt"), /^350/);
    assert.match(await ftp.cmd("RNTO new/b.txt"), /^250/);
    assert.match(await ftp.cmd("MFMT 20200102030405 new/b.txt"), /^213/);
    assert.equal(
      (await Deno.stat(join(root, "u/new/b.txt"))).mtime?.toISOString(),
      "2020-01-02T03:04:05.000Z",
    );
    assert.match(await ftp.cmd("DELE new/b.txt"), /^250/);
    assert.match(await ftp.cmd("RMD new"), /^250/);
    assert.deepEqual([...Deno.readDirSync(join(root, "u"))], []);
    const log = ftp.log.join("\n");
    for (
      const what of [
        "made folder /new",
        "renamed /a.txt to /new/b.txt",
        "deleted /new/b.txt",
        "removed folder /new",
      ]
    ) {
      assert.ok(log.includes(what), `log has "${what}"`);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
