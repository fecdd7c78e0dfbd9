/** Real FTP clients against a server whose tree is in a real Ceph RADOS Gateway (`s3://` root). */
import assert from "node:assert/strict";
import { join } from "node:path";
import { Client } from "basic-ftp";
import { startCeph } from "../support/ceph.ts";
import {
  keysOf,
  makeBucket,
  objectBytes,
  putTree,
  S3_DENO_FLAGS,
  s3Env,
  startS3Server,
} from "../support/s3_tree.ts";
import { ftplib, lftpMirrorSession, randomBytes, run, sameBytes } from "../support/server.ts";
import { collectingSink } from "../support/sink.ts";

const MD5_OF_SECRET = "5ebe2294ecd0e0f08eab7690d2a6ee69";
const MAIN = new URL("../../main.ts", import.meta.url).pathname;

Deno.test("FTP clients on an s3:// root", async (t) => {
  await using ceph = await startCeph();
  const local = await Deno.makeTempDir({ prefix: "xxftp-s3-local-" });

  await t.step("curl: list, download, resume, upload (multipart too), quote commands", async () => {
    const s3 = await makeBucket(ceph, "curl");
    await putTree(s3, "srv/", {
      "anonymous/pub/hello.txt": "hello from anonymous\n",
      "bob/.xxftp/password": MD5_OF_SECRET,
      "bob/in/": "",
    });
    await using srv = await startS3Server(ceph, "s3://curl/srv", [
      "--passive-ports",
      "31000-31050",
    ]);
    await srv.waitFor("confined by Deno permissions");
    assert.match(srv.output(), /serving s3:\/\/curl\/srv\/ at http/);
    assert.match(srv.output(), /users: anonymous\/ftp \(any password\), bob \(password\)/);
    assert.match(srv.output(), /confined by Deno permissions \(worker\) to the store/);
    const url = `ftp://127.0.0.1:${srv.port}`;
    const list = await run("curl", ["-sS", `${url}/`]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^d[rwx-]{9} .* pub\r?$/m);
    assert.equal(
      (await run("curl", ["-sS", `${url}/pub/hello.txt`])).stdout,
      "hello from anonymous\n",
    );
    const resumed = await run("curl", ["-sS", "-C", "6", `${url}/pub/hello.txt`]);
    assert.equal(resumed.stdout, "from anonymous\n", "REST + RETR is a ranged GET");

    for (const size of [300_000, 20 * 1024 * 1024 + 7]) {
      const payload = randomBytes(size);
      await Deno.writeFile(join(local, "payload.bin"), payload);
      const up = await run("curl", [
        "-sS",
        "-u",
        "bob:secret",
        "-T",
        join(local, "payload.bin"),
        `${url}/in/`,
      ]);
      assert.equal(up.code, 0, up.stderr);
      assert.ok(
        sameBytes(await objectBytes(s3, "srv/bob/in/payload.bin"), payload),
        `${size} bytes`,
      );
      const back = await run("curl", [
        "-sS",
        "-u",
        "bob:secret",
        `${url}/in/payload.bin`,
        "-o",
        join(local, "back.bin"),
      ]);
      assert.equal(back.code, 0, back.stderr);
      assert.ok(sameBytes(await Deno.readFile(join(local, "back.bin")), payload));
    }
    assert.equal((await run("curl", ["-sS", "-u", "bob:nope", `${url}/`])).code, 67, "denied");
    const quoted = await run("curl", [
      "-sS",
      "-u",
      "bob:secret",
      `${url}/in/`,
      "-Q",
      "DELE /in/payload.bin",
      "-Q",
      "-MKD /in/made",
    ]);
    assert.equal(quoted.code, 0, quoted.stderr);
    assert.deepEqual(await keysOf(s3, "srv/bob/in/"), ["srv/bob/in/", "srv/bob/in/made/"]);
    assert.deepEqual(await s3.listMultipartUploads(""), [], "no upload left pending");
  });

  await t.step(
    "ftplib: APPE, REST+STOR, MDTM/MFMT, rename, RMD, CHMOD refused, torn upload",
    async () => {
      const s3 = await makeBucket(ceph, "ftplib");
      await putTree(s3, "", {
        "bob/.xxftp/password": MD5_OF_SECRET,
        "bob/docs/a.txt": "0123456789",
        "anonymous/.xxftp/permission": "read\n",
        "anonymous/look.txt": "look",
      });
      await using srv = await startS3Server(ceph, "s3://ftplib");
      const big = 6 * 1024 * 1024;
      const r = await ftplib<Record<string, string>>(
        srv.port,
        `
import socket
ftp = connect("bob", "secret")
out = {}
ftp.storbinary("APPE docs/a.txt", io.BytesIO(b"ABC"))
out["appe"] = ftp.retrbinary("RETR docs/a.txt", lambda b: out.__setitem__("a", out.get("a", "") + b.decode())) and out["a"]
ftp.storbinary("STOR docs/big.bin", io.BytesIO(b"x" * ${big}))
ftp.storbinary("STOR docs/big.bin", io.BytesIO(b"tail"), rest=${big - 2})
out["size"] = ftp.size("docs/big.bin")
ftp.sendcmd("TYPE I")
out["mfmt"] = ftp.sendcmd("MFMT 20010203040506 docs/a.txt")
out["mdtm"] = ftp.sendcmd("MDTM docs/a.txt")
out["mlst"] = ftp.sendcmd("MLST docs/a.txt")
out["chmod"] = attempt(ftp.sendcmd, "SITE CHMOD 600 docs/a.txt")
out["rnfr"] = ftp.sendcmd("RNFR docs")
out["rnto"] = ftp.sendcmd("RNTO papers")
out["list"] = sorted(ftp.nlst("papers"))
out["rmd_full"] = attempt(ftp.rmd, "papers")
out["hidden"] = attempt(ftp.sendcmd, "SIZE .xxftp/password")
ftp.mkd("empty")
out["rmd_empty"] = ftp.rmd("empty")
# a client that dies mid-upload: the data connection is reset, the session goes away
conn = ftp.transfercmd("STOR papers/torn.bin")
conn.sendall(b"y" * (9 * 1024 * 1024))
conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00")
conn.close()
ftp.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00")
ftp.sock.close()
ro = connect("anonymous", "x")
out["ro_stor"] = attempt(ro.storbinary, "STOR new.txt", io.BytesIO(b"no"))
out["ro_list"] = sorted(ro.nlst())
print(json.dumps(out))
`,
      );
      assert.equal(r.appe, "0123456789ABC");
      assert.equal(String(r.size), String(big + 2));
      assert.match(r.mfmt, /^213 Modify=20010203040506;/);
      assert.equal(r.mdtm, "213 20010203040506");
      assert.match(r.mlst, /modify=20010203040506;/);
      assert.match(r.chmod, /^504 /);
      assert.match(r.rnto, /^250 /);
      assert.deepEqual(r.list, ["papers/a.txt", "papers/big.bin"]);
      assert.match(r.rmd_full, /^550 .*not empty/i);
      assert.match(r.hidden, /^550 /);
      assert.match(r.rmd_empty, /^250 /);
      assert.match(r.ro_stor, /^550 /);
      assert.deepEqual(r.ro_list, ["look.txt"]);
      const tail = await objectBytes(s3, "bob/papers/big.bin");
      assert.equal(
        new TextDecoder().decode(tail.subarray(big - 4)),
        "xxtail",
        "REST STOR kept 6 MiB",
      );
      assert.equal((await s3.headObject("bob/papers/a.txt"))?.metadata.mtime, "981173106");
      await srv.waitFor("upload failed: /papers/torn.bin");
      assert.equal(
        await s3.headObject("bob/papers/torn.bin"),
        null,
        "a torn upload publishes nothing",
      );
      assert.deepEqual(await s3.listMultipartUploads(""), [], "and leaves no multipart upload");
    },
  );

  await t.step("lftp: mirror a folder up and down, rename, remove", async () => {
    const s3 = await makeBucket(ceph, "lftp");
    await putTree(s3, "", { "bob/.xxftp/password": MD5_OF_SECRET });
    await Deno.mkdir(join(local, "tree/sub/deeper"), { recursive: true });
    await Deno.writeTextFile(join(local, "tree/a.txt"), "A");
    await Deno.writeTextFile(join(local, "tree/sub/b.txt"), "B");
    await Deno.writeTextFile(join(local, "tree/sub/deeper/c.bin"), "C");
    await using srv = await startS3Server(ceph, "s3://lftp");
    const r = await lftpMirrorSession(srv.port, join(local, "tree"), join(local, "down"));
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /renamed\.txt/);
    assert.equal(await Deno.readTextFile(join(local, "down/sub/deeper/c.bin")), "C");
    assert.equal(new TextDecoder().decode(await objectBytes(s3, "bob/up/renamed.txt")), "A");
    assert.deepEqual((await keysOf(s3, "bob/up/sub/")).sort(), ["bob/up/sub/", "bob/up/sub/b.txt"]);
  });

  await t.step(
    "basic-ftp (Node): MLSD listing, upload, append, download, rename, remove",
    async () => {
      const s3 = await makeBucket(ceph, "basic");
      await putTree(s3, "", { "bob/.xxftp/password": MD5_OF_SECRET, "bob/docs/x.txt": "xx" });
      await Deno.writeTextFile(join(local, "x.txt"), "xx");
      await using srv = await startS3Server(ceph, "s3://basic");
      const client = new Client(15000);
      try {
        await client.access({ host: "127.0.0.1", port: srv.port, user: "bob", password: "secret" });
        const listed = await client.list("/docs");
        assert.deepEqual(listed.map((f) => [f.name, f.size, f.isFile]), [["x.txt", 2, true]]);
        await client.uploadFrom(join(local, "x.txt"), "/docs/y.txt");
        await client.appendFrom(join(local, "x.txt"), "/docs/y.txt");
        const got = collectingSink();
        await client.downloadTo(got.sink, "/docs/y.txt");
        assert.equal(new TextDecoder().decode(got.bytes()), "xxxx");
        await client.rename("/docs/y.txt", "/docs/z.txt");
        assert.equal(await client.size("/docs/z.txt"), 4);
        assert.ok((await client.lastMod("/docs/z.txt")) instanceof Date);
        await client.ensureDir("/made/deep");
        await client.cd("/");
        await client.removeDir("/made");
        await client.remove("/docs/z.txt");
        assert.deepEqual((await client.list("/")).map((f) => f.name), ["docs"]);
      } finally {
        client.close();
      }
    },
  );

  await t.step("xxftp passwd against a bucket; the new password works at once", async () => {
    const s3 = await makeBucket(ceph, "passwd");
    await putTree(s3, "team/", { "anonymous/": "" });
    await using srv = await startS3Server(ceph, "s3://passwd/team");
    const passwd = (args: string[]) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", ...S3_DENO_FLAGS, MAIN, "passwd", ...args, "--s3-endpoint", ceph.endpoint],
        env: s3Env(ceph),
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      });
    const feed = async (cmd: Deno.Command, text: string) => {
      const child = cmd.spawn();
      const w = child.stdin.getWriter();
      await w.write(new TextEncoder().encode(text));
      await w.close();
      const out = await child.output();
      return {
        code: out.code,
        err: new TextDecoder().decode(out.stderr),
        out: new TextDecoder().decode(out.stdout),
      };
    };
    const missing = await feed(passwd(["carol", "s3://passwd/team"]), "pw\n");
    assert.equal(missing.code, 2);
    assert.match(missing.err, /no user "carol" in s3:\/\/passwd\/team\/ .*--create/);
    const made = await feed(passwd(["carol", "s3://passwd/team", "--create"]), "horse battery\n");
    assert.equal(made.code, 0, made.err);
    assert.match(
      made.out,
      /password written to s3:\/\/passwd\/team\/ at .*: \/carol\/\.xxftp\/password/,
    );
    assert.match(
      new TextDecoder().decode(await objectBytes(s3, "team/carol/.xxftp/password")),
      /^scrypt\$/,
    );
    const r = await ftplib<string[]>(
      srv.port,
      `print(json.dumps([attempt(connect, "carol", "wrong"), str(connect("carol", "horse battery").pwd())]))`,
    );
    assert.match(r[0], /^530 /);
    assert.equal(r[1], "/");
  });

  await t.step("xxftp check reads a bucket: problems, then the users", async () => {
    const s3 = await makeBucket(ceph, "check");
    await putTree(s3, "", {
      "anonymous/pub/": "",
      "bob/.xxftp/password": MD5_OF_SECRET,
      "bob/.xxftp/permission": "read,fly\n",
      "bob/.xxftp/usage": "{}",
      "bob/data.bin": "12345",
    });
    await s3.createMultipartUpload("bob/left.bin");
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...S3_DENO_FLAGS,
        MAIN,
        "check",
        "s3://check",
        "--s3-endpoint",
        ceph.endpoint,
        "--s3-stale-upload-minutes",
        "0",
      ],
      env: s3Env(ceph),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 1, new TextDecoder().decode(out.stderr) + text);
    assert.match(text, /^\/bob\/\.xxftp\/password:1: weak/m);
    assert.match(text, /^\/bob\/\.xxftp\/permission:1: .*fly/m);
    assert.match(text, /^\/bob\/left\.bin: unfinished upload/m);
    assert.doesNotMatch(text, /usage/, "the server's own ledger is no problem");
  });

  await Deno.remove(local, { recursive: true });
});
