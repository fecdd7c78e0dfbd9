/** `xxftp share` explains itself: a generated password, expiry, a QR code, network URLs. */
import assert from "node:assert/strict";
import { gridOfHalfBlocks, pbmOf, zbarDecode } from "../support/qr_image.ts";
import { ftplib, makeTree, startServer } from "../support/server.ts";

const LIB = new URL("../../lib", import.meta.url).pathname;

Deno.test("share --password: anonymous is refused, the printed password logs in as share", async () => {
  const dir = await makeTree({ "hello.txt": "hello" });
  await using srv = await startServer(dir, {
    command: "share",
    args: ["--password", "--login-fail-delay", "10"],
  });
  const password = /\n {2}password: (\S+) \(made for this run/.exec(srv.output())?.[1];
  assert.ok(password !== undefined && /^[a-z0-9]{16}$/.test(password), srv.output());
  assert.match(
    srv.output(),
    /users: share \(anonymous is refused\), this folder as "\/", read-only/,
  );
  const r = await ftplib<string[]>(
    srv.port,
    `
out = [attempt(connect), attempt(connect, "ftp", "x"), attempt(connect, "share", "wrong")]
ftp = connect("share", sys.argv[2])
out.append(",".join(ftp.nlst()))
print(json.dumps(out))
`.replace("sys.argv[2]", JSON.stringify(password)),
  );
  assert.match(r[0], /^530/, "anonymous refused");
  assert.match(r[1], /^530/, "ftp (anonymous) refused");
  assert.match(r[2], /^530/, "a wrong password refused");
  assert.equal(r[3], "hello.txt");
  assert.equal(srv.output().split(password).length - 1, 1, "the password is printed once");
});

Deno.test("share --expire stops the share by itself and says so", async () => {
  const dir = await makeTree({ "a.txt": "a" });
  await using srv = await startServer(dir, { command: "share", args: ["--expire", "2s"] });
  assert.match(
    srv.output(),
    /expires in 2s \(at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\): the share then stops by itself/,
  );
  assert.equal(await srv.exited, 0, "it ended by itself, with success");
  assert.match(srv.output(), /the share expired after 2s: stopping\n.*stopped\n$/);
});

Deno.test("share --qr prints a QR code of the URL that a real decoder reads", async () => {
  const dir = await makeTree({ "a.txt": "a" });
  await using srv = await startServer(dir, { command: "share", args: ["--qr"] });
  await srv.waitFor("(QR code of ");
  const url = `ftp://127.0.0.1:${srv.port}/`;
  assert.ok(srv.output().includes(`  (QR code of ${url})`), srv.output());
  assert.ok(!srv.output().includes("\x1b["), "no colours when the output is not a terminal");
  assert.deepEqual(await zbarDecode(pbmOf(gridOfHalfBlocks(srv.output()))), [url]);
});

Deno.test("share --host 0.0.0.0 prints a URL per network address, or says how to list them", async () => {
  /** A fresh folder (a stopped server removes its own) and the permission flags for it. */
  const share = async (sys: boolean) => {
    const dir = await makeTree({ "a.txt": "a" });
    const denoFlags = [
      "--allow-net",
      `--allow-read=${dir},${LIB}`,
      `--allow-write=${dir}`,
      ...(sys ? ["--allow-sys=networkInterfaces"] : []),
    ];
    // A password and an expiry: nobody else can use it while it listens on every address.
    const args = ["--host", "0.0.0.0", "--password", "--expire", "30s"];
    return await startServer(dir, { command: "share", args, denoFlags });
  };
  {
    await using srv = await share(true);
    const want = Deno.networkInterfaces()
      .filter((i) => i.family === "IPv4" && !i.address.startsWith("127."))
      .map((i) => `ftp://${i.address}:${srv.port}/`);
    const shown = [...srv.output().matchAll(/^ {2}(?:on this network:| {16}) (ftp:\S+)$/gm)]
      .map((m) => m[1]);
    assert.deepEqual(shown, [...new Set(want)]);
    if (want.length === 0) assert.match(srv.output(), /no network address besides loopback/);
  }
  {
    await using srv = await share(false);
    assert.match(
      srv.output(),
      /on every address of this machine \(to list them here, run deno with --allow-sys=networkInterfaces\)/,
    );
    assert.match(srv.output(), new RegExp(`try: curl -u share ftp://127\\.0\\.0\\.1:${srv.port}/`));
  }
});

Deno.test({
  name: "share on a terminal keeps a live status line of clients and transfers",
  ignore: !(await Deno.stat("/usr/bin/script").then(() => true, () => false)),
  async fn() {
    const dir = await makeTree({ "a.txt": "a" });
    const main = new URL("../../main.ts", import.meta.url).pathname;
    // `script` runs the share on a pseudo-terminal, as a person would.
    const command = `${Deno.execPath()} run -A ${main} share ${dir} --port 0 --expire 60s`;
    const child = new Deno.Command("script", {
      args: ["-qfec", command, "/dev/null"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
    }).spawn();
    let text = "";
    const pump = (async () => {
      const decoder = new TextDecoder();
      for await (const chunk of child.stdout) text += decoder.decode(chunk, { stream: true });
    })();
    const waitFor = async (needle: RegExp | string) => {
      const found = () => typeof needle === "string" ? text.includes(needle) : needle.test(text);
      for (let i = 0; i < 600 && !found(); i++) await new Promise((r) => setTimeout(r, 50));
      assert.ok(found(), `${needle} in ${JSON.stringify(text)}`);
    };
    const redraw = "\r\x1b[K"; // back to the line start, erase it
    const stdin = child.stdin.getWriter();
    try {
      await waitFor(/listening on ftp:\/\/127\.0\.0\.1:(\d+)/);
      const port = Number(/listening on ftp:\/\/127\.0\.0\.1:(\d+)/.exec(text)![1]);
      await waitFor(`${redraw}0 clients connected, 0 transfers running; stops in `);
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await waitFor(`${redraw}1 client connected, 0 transfers running; stops in `);
      conn.close();
      await stdin.write(new TextEncoder().encode("\x03")); // Ctrl-C
      await waitFor(/stopped\r?\n$/);
      const afterErase = text.slice(text.lastIndexOf(redraw) + redraw.length);
      // Log lines written at the end may follow the erase; the status line is never drawn again.
      assert.doesNotMatch(afterErase, /connected, \d+ transfers? running/, "erased at the end");
      assert.match(afterErase, /\S+ stopped\r?\n$/);
    } finally {
      await stdin.close().catch(() => {});
      const status = await Promise.race([
        child.status,
        new Promise((r) => setTimeout(r, 10_000)),
      ]);
      if (status === undefined) child.kill("SIGKILL");
      await child.status;
      await pump;
      await Deno.remove(dir, { recursive: true });
    }
  },
});
