/** Replies clients rely on: listing arguments, MLSD of a missing folder, STAT <path>, state slips. */
import assert from "node:assert/strict";
import { ftplib, makeTree, startServer } from "../support/server.ts";

Deno.test("MLSD of a missing folder is 550 (of a file 501); LIST/NLST take -1, -lat, -a -l as flags", async () => {
  const root = await makeTree({ "u/dir/a.txt": "a", "u/dir/b.txt": "bb", "u/top.txt": "t" });
  await using srv = await startServer(root);
  const r = await ftplib<Record<string, string | string[]>>(
    srv.port,
    `
ftp = connect("u", "x")
out = {}
out["mlsd_missing"] = attempt(lambda: list(ftp.mlsd("nowhere/deeper")))
out["mlsd_file"] = attempt(lambda: list(ftp.mlsd("top.txt")))
out["nlst_1"] = sorted(ftp.nlst("-1"))
out["nlst_1_dir"] = sorted(ftp.nlst("-1 dir"))
for arg in ["-1", "-lat", "-a -l dir", "-1a dir"]:
    lines = []; ftp.retrlines("LIST " + arg, lines.append); out["list " + arg] = lines
print(json.dumps(out))
`,
  );
  assert.match(String(r.mlsd_missing), /^550/);
  assert.match(String(r.mlsd_file), /^501/);
  assert.deepEqual(r.nlst_1, ["dir", "top.txt"]);
  assert.deepEqual(r.nlst_1_dir, ["dir/a.txt", "dir/b.txt"]);
  const names = (key: string) => (r[key] as string[]).map((l) => l.split(" ").pop()).sort();
  assert.deepEqual(names("list -1"), ["dir", "top.txt"]);
  assert.deepEqual(names("list -lat"), ["dir", "top.txt"]);
  assert.deepEqual(names("list -a -l dir"), ["a.txt", "b.txt"]);
  assert.deepEqual(names("list -1a dir"), ["a.txt", "b.txt"]);
});
