/**
 * The listing cache of big folders, through a real client: a folder of 2,000
 * files is changed from outside the server (every kind of change) and listed
 * again at once, round after round without a pause; every change must show.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeTree, startServer } from "../support/server.ts";

/** A python3 ftplib session kept open, driven one command per line; each answer is a JSON line. */
const DRIVER = `
import ftplib, io, json, sys
ftp = ftplib.FTP()
ftp.connect("127.0.0.1", int(sys.argv[1]), timeout=20)
ftp.login("anonymous", "t@example.com")
for line in sys.stdin:
    cmd, _, arg = line.rstrip("\\n").partition(" ")
    try:
        if cmd == "LIST":
            out = []
            ftp.retrlines("LIST " + arg, out.append)
        elif cmd == "MLSD":
            out = [[name, facts] for name, facts in ftp.mlsd(arg)]
        elif cmd == "STOR":
            name, _, text = arg.partition(" ")
            out = ftp.storbinary("STOR " + name, io.BytesIO(text.encode()))
        elif cmd == "DELE":
            out = ftp.delete(arg)
        elif cmd == "RENAME":
            a, b = arg.split(" ")
            out = ftp.rename(a, b)
    except ftplib.all_errors as e:
        out = {"error": str(e)}
    print(json.dumps(out), flush=True)
`;

class Client {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #lines: AsyncIterator<string>;

  constructor(port: number) {
    this.#child = new Deno.Command("python3", {
      args: ["-c", DRIVER, String(port)],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#lines = this.#child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(
      new TransformStream<string, string>(
        {
          buf: "",
          transform(chunk, ctl) {
            const parts = (this.buf + chunk).split("\n");
            this.buf = parts.pop()!;
            for (const p of parts) ctl.enqueue(p);
          },
        } as Transformer<string, string> & { buf: string },
      ),
    )[Symbol.asyncIterator]();
  }

  async send<T>(line: string): Promise<T> {
    await this.#writer.write(new TextEncoder().encode(line + "\n"));
    const got = await this.#lines.next();
    if (got.done) throw new Error(`the ftplib driver ended before answering ${line}`);
    const out = JSON.parse(got.value);
    if (out?.error) throw new Error(`${line}: ${out.error}`);
    return out as T;
  }

  /** LIST of `dir`: name → [mode string, size, date column]. */
  async list(dir: string): Promise<Map<string, [string, number, string]>> {
    const lines = await this.send<string[]>(`LIST ${dir}`);
    const m = new Map<string, [string, number, string]>();
    for (const l of lines) {
      const f = /^(\S{10})\s+\d+\s+\S+\s+\S+\s+(\d+) (\w{3} [ \d]\d (?: \d{4}|\d\d:\d\d)) (.*)$/
        .exec(l);
      assert.ok(f, `an ls -l line: ${l}`);
      m.set(f[4], [f[1], Number(f[2]), f[3]]);
    }
    return m;
  }

  /** MLSD of `dir`: name → facts. */
  async mlsd(dir: string): Promise<Map<string, Record<string, string>>> {
    return new Map(await this.send<[string, Record<string, string>][]>(`MLSD ${dir}`));
  }

  async close(): Promise<void> {
    await this.#writer.close();
    await this.#child.status;
  }
}

/** inotify instances the process holds (each Deno.watchFs is one). */
function inotifyInstances(pid: number): number {
  let n = 0;
  for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      if (Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`) === "anon_inode:inotify") n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

const FILES = 2000;
const ROUNDS = 20;

Deno.test("listing cache: every change made outside shows in the next LIST and MLSD, round after round", async () => {
  const spec: Record<string, string> = {
    "anonymous/aside/t0": "a",
    "anonymous/aside/t1": "bb",
    "anonymous/big/sub/": "",
  };
  for (let i = 0; i < FILES; i++) spec[`anonymous/big/file-${i}`] = "x";
  const root = await makeTree(spec);
  const big = join(root, "anonymous/big");
  const aside = join(root, "anonymous/aside");
  Deno.symlinkSync(join(aside, "t0"), join(big, "ln"));
  Deno.writeTextFileSync(join(big, "hl"), "h");
  Deno.linkSync(join(big, "hl"), join(aside, "hl2"));
  const srv = await startServer(root);
  const client = new Client(srv.port);
  try {
    assert.equal((await client.list("big")).size, FILES + 3);
    assert.ok(Deno.statSync(join(root, ".xxftp-watch")).isDirectory, "the cache is in use");
    assert.equal(inotifyInstances(srv.pid), 1);
    let appended = 1;
    let hard = 1;
    for (let r = 0; r < ROUNDS; r++) {
      Deno.writeTextFileSync(join(big, `new-${r}`), "n".repeat(r + 1)); // create
      Deno.removeSync(join(big, `file-${r}`)); // delete
      Deno.writeTextFileSync(join(big, "file-1000"), "a", { append: true }); // append
      appended++;
      Deno.truncateSync(join(big, "file-1001"), r); // truncate
      Deno.utimeSync(join(big, "file-1002"), 0, new Date(Date.UTC(2000 + r, 0, 15))); // utime
      Deno.chmodSync(join(big, "file-1003"), r % 2 ? 0o600 : 0o640); // chmod
      Deno.writeTextFileSync(join(aside, `in-${r}`), "in");
      Deno.renameSync(join(aside, `in-${r}`), join(big, `in-${r}`)); // rename in
      Deno.renameSync(join(big, `file-${500 + r}`), join(aside, `out-${r}`)); // rename out
      Deno.writeTextFileSync(join(aside, "new-over"), "o".repeat(r + 3));
      Deno.renameSync(join(aside, "new-over"), join(big, "file-1004")); // overwrite by rename
      Deno.utimeSync(join(big, "sub"), 0, new Date(Date.UTC(1990, 5, 1))); // the folder's own time
      const target = join(aside, `t${r % 2}`);
      Deno.symlinkSync(target, join(big, ".ln-new"));
      Deno.renameSync(join(big, ".ln-new"), join(big, "ln")); // symlink retarget
      Deno.writeTextFileSync(target, "t".repeat(r + 5)); // its target changed: no event in big/
      Deno.writeTextFileSync(join(aside, "hl2"), "h", { append: true }); // through the other name
      hard++;

      const check = (l: Map<string, [string, number, string]>, when: string) => {
        const at = `round ${r} ${when}`;
        assert.equal(l.get(`new-${r}`)?.[1], r + 1, `${at}: created`);
        assert.ok(!l.has(`file-${r}`), `${at}: deleted`);
        assert.equal(l.get("file-1000")?.[1], appended, `${at}: appended`);
        assert.equal(l.get("file-1001")?.[1], r, `${at}: truncated`);
        assert.equal(l.get("file-1002")?.[2], `Jan 15  ${2000 + r}`, `${at}: utime`);
        assert.equal(l.get("file-1003")?.[0], r % 2 ? "-rw-------" : "-rw-r-----", `${at}: chmod`);
        assert.equal(l.get(`in-${r}`)?.[1], 2, `${at}: renamed in`);
        assert.ok(!l.has(`file-${500 + r}`), `${at}: renamed out`);
        assert.equal(l.get("file-1004")?.[1], r + 3, `${at}: overwritten by rename`);
        assert.equal(l.get("ln")?.[1], r + 5, `${at}: link retargeted, target written`);
        assert.equal(l.get("hl")?.[1], hard, `${at}: written through another name`);
      };
      const listed = await client.list("big");
      check(listed, "LIST");
      assert.equal(listed.get("sub")?.[2], "Jun  1  1990", `round ${r}: sub's own time`);
      assert.equal(listed.size, FILES + 3 + (r > 0 ? 1 : 0), `round ${r}: count`);

      Deno.writeTextFileSync(join(big, "sub", `inner-${r}`), "i"); // inside: no event in big/
      const again = await client.list("big");
      check(again, "LIST again");
      assert.notEqual(again.get("sub")?.[2], "Jun  1  1990", `round ${r}: a change inside sub`);

      const facts = await client.mlsd("big");
      assert.equal(facts.get(`new-${r}`)?.size, String(r + 1), `round ${r}: MLSD created`);
      assert.ok(!facts.has(`file-${r}`), `round ${r}: MLSD deleted`);
      assert.equal(facts.get("file-1000")?.size, String(appended), `round ${r}: MLSD appended`);
      assert.equal(
        facts.get("file-1002")?.modify,
        `${2000 + r}0115000000`,
        `round ${r}: MLSD utime`,
      );
      assert.equal(facts.get("ln")?.size, String(r + 5), `round ${r}: MLSD link`);
      assert.equal(facts.get("hl")?.size, String(hard), `round ${r}: MLSD hard link`);

      // The server's own changes show at once.
      await client.send(`STOR big/own-${r} ${"s".repeat(r + 1)}`);
      if (r > 0) await client.send(`DELE big/own2-${r - 1}`);
      await client.send(`RENAME big/own-${r} big/own2-${r}`);
      const own = await client.list("big");
      assert.equal(own.get(`own2-${r}`)?.[1], r + 1, `round ${r}: STOR then RNFR/RNTO`);
      assert.ok(!own.has(`own-${r}`), `round ${r}: renamed away`);
      assert.ok(!own.has(`own2-${r - 1}`), `round ${r}: DELE`);
    }
    assert.equal(inotifyInstances(srv.pid), 1, "one watcher for the one big folder");
  } finally {
    await client.close();
    await srv.stop();
  }
  try {
    assert.doesNotMatch(srv.output(), /^\s+at .*:\d+:\d+\)?$/m);
    assert.doesNotMatch(srv.output(), /unexpected error/);
    assert.throws(() => Deno.statSync(join(root, ".xxftp-watch")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("listing cache: the HTTP door sees every change made outside at once, too", async () => {
  const spec: Record<string, string> = {};
  for (let i = 0; i < FILES; i++) spec[`anonymous/big/file-${i}`] = "x";
  const root = await makeTree(spec);
  const big = join(root, "anonymous/big");
  const srv = await startServer(root, { args: ["--http", "0"] });
  /** The folder's names as curl gets them (one per line). */
  const names = async () => {
    const r = await new Deno.Command("curl", {
      args: ["-sS", `http://127.0.0.1:${srv.httpPort}/big/`],
      stdout: "piped",
    }).output();
    return new Set(new TextDecoder().decode(r.stdout).trim().split("\n"));
  };
  try {
    assert.equal((await names()).size, FILES);
    assert.equal((await names()).size, FILES);
    for (let r = 0; r < 10; r++) {
      Deno.writeTextFileSync(join(big, `new-${r}`), "n");
      Deno.removeSync(join(big, `file-${r}`));
      Deno.renameSync(join(big, `file-${r + 100}`), join(big, `moved-${r}`));
      const seen = await names();
      assert.ok(seen.has(`new-${r}`), `round ${r}: created outside`);
      assert.ok(!seen.has(`file-${r}`), `round ${r}: deleted outside`);
      assert.ok(seen.has(`moved-${r}`) && !seen.has(`file-${r + 100}`), `round ${r}: renamed`);
    }
    assert.ok(Deno.statSync(join(root, ".xxftp-watch")).isDirectory, "the cache was in use");
  } finally {
    await srv.stop();
  }
  assert.doesNotMatch(srv.output(), /^\s+at .*:\d+:\d+\)?$/m);
  await Deno.remove(root, { recursive: true });
});
