/** The two walls: Deno's permissions stop what the path module lets through, and links are resolved. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { workerPermissions } from "../../lib/sandbox.ts";
import { epsvConnect, RawClient, readAll } from "../support/raw.ts";
import { ftplib, makeTree, randomBytes, run, sameBytes, startServer } from "../support/server.ts";
import { serverOptions } from "../support/server_options.ts";

/**
 * Starts the leaky server in a Worker; `narrow` gives it the permissions the
 * real server's Worker gets (lib/sandbox.ts), else everything this test has.
 */
async function leakyServer(root: string, narrow: boolean) {
  const worker = new Worker(new URL("../support/leaky_worker.ts", import.meta.url), {
    type: "module",
    deno: {
      permissions: narrow ? workerPermissions([root]) : "inherit",
    },
  });
  const options = serverOptions(root);
  const port = await new Promise<number>((resolve) => {
    worker.onmessage = (e) => resolve(e.data as number);
    worker.postMessage(options);
  });
  return {
    port,
    /** What the Worker may do beyond files: environment, programs, more permissions. */
    probe: () =>
      new Promise<Record<string, string>>((resolve) => {
        worker.onmessage = (e) => resolve(e.data as Record<string, string>);
        worker.postMessage("probe");
      }),
    async stop() {
      await new Promise((resolve) => {
        worker.onmessage = resolve;
        worker.postMessage("stop");
      });
      worker.terminate();
    },
  };
}

const ATTACK = `
ftp = connect("u", "x")
out = {}
for p in ["../../outside/secret.txt", "/" + sys.argv[2]]:
    buf = io.BytesIO()
    out[p] = attempt(ftp.retrbinary, "RETR " + p, buf.write) + "|" + buf.getvalue().decode()
print(json.dumps(out))
`;

Deno.test("second wall: with containment switched off, Deno's sandbox alone refuses the escape", async () => {
  const top = await Deno.realPath(await Deno.makeTempDir({ prefix: "xxftp-wall-" }));
  const root = join(top, "root");
  const secretPath = join(top, "outside/secret.txt");
  await Deno.mkdir(join(root, "u"), { recursive: true });
  await Deno.mkdir(join(top, "outside"));
  await Deno.writeTextFile(secretPath, "TOP SECRET");
  const script = ATTACK.replace("sys.argv[2]", JSON.stringify(secretPath.slice(1)));
  try {
    const sandboxed = await leakyServer(root, true);
    const refused = await ftplib<Record<string, string>>(sandboxed.port, script);
    const probed = await sandboxed.probe().finally(() => sandboxed.stop());
    assert.deepEqual(probed, {
      env: "NotCapable",
      run: "NotCapable",
      request: "denied",
      readOutside: "NotCapable",
    });
    assert.equal(Object.keys(refused).length, 2);
    for (const v of Object.values(refused)) assert.match(v, /^550 Permission denied\.\|$/);

    const open = await leakyServer(root, false);
    const leaked = await ftplib<Record<string, string>>(open.port, script).finally(() =>
      open.stop()
    );
    for (const v of Object.values(leaked)) {
      assert.match(v, /^226 .*\|TOP SECRET$/, "without the sandbox the same request leaks");
    }
  } finally {
    await Deno.remove(top, { recursive: true });
  }
});

Deno.test("symlinks: links out of the tree are not listed or followed, links inside work", async () => {
  const outside = await makeTree({ "secret.txt": "outside secret", "dir/x.txt": "x" });
  const root = await makeTree({ "u/real.txt": "real", "u/sub/": "" });
  await Deno.symlink(join(outside, "dir"), join(root, "u/outdir"));
  await Deno.symlink(join(outside, "secret.txt"), join(root, "u/outfile"));
  await Deno.symlink(join(root, "u/real.txt"), join(root, "u/sub/inlink"));
  await Deno.symlink(join(root, "u/sub"), join(root, "u/insub"));
  await Deno.symlink(join(root, "u/loop2"), join(root, "u/loop1")); // a cycle
  await Deno.symlink(join(root, "u/loop1"), join(root, "u/loop2"));
  try {
    // The flags `make serve` uses: the process may read lib/, so the server runs in a Worker
    // narrowed to the root; for links, only the path module can hold.
    const lib = new URL("../../lib", import.meta.url).pathname;
    await using srv = await startServer(root, {
      denoFlags: ["--allow-net", `--allow-read=${root},${lib}`, `--allow-write=${root}`],
    });
    await srv.waitFor("confined by Deno permissions (worker)");
    const r = await ftplib<Record<string, string | string[]>>(
      srv.port,
      `
ftp = connect("u", "x")
out = {"list": sorted(ftp.nlst()), "sub": sorted(ftp.nlst("sub"))}
out["retr_file"] = attempt(ftp.retrbinary, "RETR outfile", print)
out["retr_dir"] = attempt(ftp.retrbinary, "RETR outdir/x.txt", print)
out["cwd"] = attempt(ftp.sendcmd, "CWD outdir")
out["stor"] = attempt(ftp.storbinary, "STOR outdir/new.txt", io.BytesIO(b"x"))
out["stor_file"] = attempt(ftp.storbinary, "STOR outfile", io.BytesIO(b"x"))
out["list_dir"] = attempt(ftp.retrlines, "LIST outdir", print)
buf = io.BytesIO(); ftp.retrbinary("RETR sub/inlink", buf.write); out["inlink"] = buf.getvalue().decode()
out["insub"] = ftp.sendcmd("CWD insub")
out["loop"] = [attempt(ftp.sendcmd, v + " /loop1") for v in ["CWD", "SIZE", "DELE", "MDTM"]]
out["loop_stor"] = attempt(ftp.storbinary, "STOR /loop1", io.BytesIO(b"x"))
print(json.dumps(out))
`,
    );
    assert.deepEqual(r.list, ["insub", "real.txt", "sub"]);
    assert.deepEqual(r.sub, ["sub/inlink"]);
    for (const k of ["retr_file", "retr_dir", "cwd", "stor", "stor_file", "list_dir"]) {
      assert.match(String(r[k]), /^550/, `${k}: ${r[k]}`);
    }
    assert.equal(r.inlink, "real");
    assert.match(String(r.insub), /^250/);
    for (const reply of [...(r.loop as string[]), String(r.loop_stor)]) {
      assert.match(reply, /^550 /, `a link cycle is simply not there: ${reply}`);
    }
    assert.equal(await Deno.readTextFile(join(outside, "secret.txt")), "outside secret");
    assert.deepEqual([...Deno.readDirSync(join(outside, "dir"))].map((e) => e.name), ["x.txt"]);
  } finally {
    await Deno.remove(outside, { recursive: true });
  }
});

Deno.test("the command line: --help, --version, and one-line errors with exit code 2", async () => {
  const root = await makeTree({ "anonymous/": "" });
  const main = new URL("../../main.ts", import.meta.url).pathname;
  const deno = (args: string[]) => run(Deno.execPath(), ["run", "-A", main, ...args]);
  try {
    const help = await deno(["--help"]);
    assert.equal(help.code, 0);
    for (
      const flag of [
        "--host",
        "--port",
        "--passive-ports",
        "--public-host",
        "--max-connections",
        "--max-per-ip",
        "--idle-timeout",
      ]
    ) {
      assert.ok(help.stdout.includes(flag), flag);
    }
    assert.match((await deno(["--version"])).stdout, /^xxftp \d+\.\d+\.\d+/);
    const cases: [string[], RegExp][] = [
      [["serve", root, "--bogus"], /^xxftp: .*bogus/],
      [["serve", join(root, "missing")], /^xxftp: root folder ".*missing" does not exist/],
      [["serve", root, "--port", "99999"], /^xxftp: --port needs a whole number/],
    ];
    for (const [args, message] of cases) {
      const r = await deno(args);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split("\n").length, 1, "one line");
    }
    await using srv = await startServer(root);
    const busy = await deno(["serve", root, "--port", String(srv.port)]);
    assert.equal(busy.code, 2);
    assert.match(busy.stderr, new RegExp(`^xxftp: port ${srv.port} on 127.0.0.1 is in use`));
    const narrow = await run(Deno.execPath(), [
      "run",
      "--allow-net",
      `--allow-read=${root}`,
      main,
      "serve",
      "/etc",
    ]);
    assert.equal(narrow.code, 2);
    assert.match(narrow.stderr, /^xxftp: root folder "\/etc" cannot be read/);
  } finally {
    await Deno.remove(root, { recursive: true }).catch(() => {});
  }
});

Deno.test("SIGTERM: a running download finishes within the grace period, then exit 0", async () => {
  const root = await makeTree({ "anonymous/": "" });
  const payload = randomBytes(16 << 20);
  await Deno.writeFile(join(root, "anonymous/big.bin"), payload);
  const srv = await startServer(root, { denoFlags: ["-A"] });
  try {
    using c = await RawClient.open(srv.port);
    await c.login();
    await c.cmd("TYPE I");
    const data = await epsvConnect(c);
    assert.equal((await c.cmd("RETR big.bin")).code, 150);
    const stopped = srv.stop();
    await srv.waitFor("stopping");
    const got = await readAll(data);
    assert.ok(sameBytes(got, payload), "the transfer in flight completed");
    assert.equal((await c.reply()).code, 226);
    assert.equal((await c.reply()).code, 421, "then the session is closed");
    c.close();
    assert.equal(await stopped, 0);
  } finally {
    await srv.stop();
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("SIGTERM: a client that never reads its replies does not hold up the exit", async () => {
  const spec: Record<string, string> = {};
  for (let i = 0; i < 2000; i++) spec[`anonymous/many/file-${i}.txt`] = "x";
  const root = await makeTree(spec);
  const srv = await startServer(root);
  try {
    using hog = await RawClient.open(srv.port);
    await hog.login();
    // 200 STATs of a 2,000-file folder ask for ~27 MB of replies, never read: far more than the
    // socket buffers hold, so the server's reply writes block.
    void hog.send(new TextEncoder().encode("STAT /many\r\n".repeat(200))).catch(() => {});
    await new Promise((r) => setTimeout(r, 2000));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<"hung">((r) => timer = setTimeout(() => r("hung"), 30_000));
    const code = await Promise.race([srv.stop(), hung]);
    clearTimeout(timer);
    if (code === "hung") srv.signal("SIGKILL");
    assert.equal(code, 0, "the server exited (its last reply to the hog given up)");
  } finally {
    await srv.exited;
    await Deno.remove(root, { recursive: true });
  }
});
