/**
 * Smoke test of the compiled binary. `make build` needs the denort runtime
 * from dl.deno.land; where it cannot get it, this test is reported as
 * ignored (never as passed) and the reason is printed.
 */
import assert from "node:assert/strict";
import { run } from "../support/server.ts";

const top = new URL("../..", import.meta.url).pathname;
const build = await run("make", ["-C", top, "--no-print-directory", "build"], undefined, 300000);
const reason = build.code === 0 ? null : build.stderr.trim().split("\n").filter((l) => l !== "")[0];
if (reason) console.log(`binary smoke test SKIPPED, make build failed: ${reason}`);

Deno.test({
  name: "compiled binary: --version, --help, serves a tree",
  ignore: reason !== null,
  async fn() {
    const binary = `${top}dist/xxftp`;
    assert.match((await run(binary, ["--version"])).stdout, /^xxftp /);
    assert.match((await run(binary, ["--help"])).stdout, /xxftp serve \[ROOT\]/);
    const root = await Deno.makeTempDir({ prefix: "xxftp-bin-" });
    await Deno.mkdir(`${root}/anonymous`);
    await Deno.writeTextFile(`${root}/anonymous/hi.txt`, "hi from the binary");
    const child = new Deno.Command(binary, {
      args: ["serve", root, "--port", "0"],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    try {
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      for (let i = 0; i < 50 && !text.includes("confined by"); i++) {
        const { value, done } = await reader.read();
        if (done) break;
        text += value;
      }
      const port = /listening on ftp:\/\/\S+:(\d+)/.exec(text)?.[1];
      assert.ok(port, text);
      assert.match(text, /confined by Deno permissions \(worker\)/);
      const got = await run("curl", ["-sS", `ftp://127.0.0.1:${port}/hi.txt`]);
      assert.equal(got.stdout, "hi from the binary");
      reader.releaseLock();
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await child.stdout.cancel().catch(() => {});
      await Deno.remove(root, { recursive: true });
    }
  },
});
