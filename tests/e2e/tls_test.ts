/** FTPS (RFC 4217): explicit AUTH TLS and implicit TLS, driven by ftplib, curl and lftp. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { makeCert } from "../support/cert.ts";
import { RawClient } from "../support/raw.ts";
import {
  ftplib,
  makeTree,
  randomBytes,
  resetFlood,
  run,
  sameBytes,
  startServer,
} from "../support/server.ts";

async function tlsTree() {
  const root = await makeTree({
    "bob/.xxftp/password": "5ebe2294ecd0e0f08eab7690d2a6ee69",
    "bob/hello.txt": "hello over tls",
    "anonymous/": "",
  });
  const certs = await Deno.makeTempDir({ prefix: "xxftp-cert-" });
  const made = await makeCert(certs);
  assert.ok(made, "openssl made a certificate (.ci/run installs it)");
  return { root, certs, cert: made.cert, key: made.key };
}

const tlsFlags = (t: { root: string; certs: string }) => [
  "--allow-net",
  `--allow-read=${t.root},${t.certs}`,
  `--allow-write=${t.root}`,
];

Deno.test("explicit FTPS: ftplib with PROT P round-trips a binary file; FEAT offers AUTH TLS", async () => {
  const t = await tlsTree();
  const payload = randomBytes(2 << 20);
  await Deno.writeFile(join(t.certs, "payload.bin"), payload);
  try {
    await using srv = await startServer(t.root, {
      args: ["--tls-cert", t.cert, "--tls-key", t.key],
      denoFlags: tlsFlags(t),
    });
    const r = await ftplib<Record<string, string | boolean>>(
      srv.port,
      `
import ssl
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
ftp = ftplib.FTP_TLS(context=ctx); ftp.connect("127.0.0.1", PORT, timeout=20)
out = {"feat": ftp.sendcmd("FEAT"), "pbsz_early": attempt(ftp.sendcmd, "PBSZ 0")}
ftp.login("bob", "secret")
out["cipher"] = ftp.sock.version()
ftp.prot_p()
src = open(${JSON.stringify(join(t.certs, "payload.bin"))}, "rb").read()
ftp.storbinary("STOR payload.bin", io.BytesIO(src))
buf = io.BytesIO(); ftp.retrbinary("RETR payload.bin", buf.write)
out["same"] = buf.getvalue() == src
out["list"] = " ".join(sorted(ftp.nlst()))
out["prot_s"] = attempt(ftp.sendcmd, "PROT S")
ftp.prot_c()
buf = io.BytesIO(); ftp.retrbinary("RETR hello.txt", buf.write); out["clear"] = buf.getvalue().decode()
out["again"] = attempt(ftp.sendcmd, "AUTH TLS")
ftp.quit()
print(json.dumps(out))
`,
    );
    assert.match(String(r.feat), /\n AUTH TLS\n PBSZ\n PROT\n/);
    assert.match(String(r.pbsz_early), /^503/);
    assert.match(String(r.cipher), /^TLSv1\.[23]$/);
    assert.equal(r.same, true);
    assert.equal(r.list, "hello.txt payload.bin");
    assert.match(String(r.prot_s), /^536/);
    assert.equal(r.clear, "hello over tls");
    assert.match(String(r.again), /^503/);
    assert.ok(sameBytes(await Deno.readFile(join(t.root, "bob/payload.bin")), payload));
  } finally {
    await Deno.remove(t.certs, { recursive: true });
  }
});

Deno.test("FTPS with curl and lftp; implicit TLS; --tls-required refuses clear text", async () => {
  const t = await tlsTree();
  try {
    await using explicit = await startServer(t.root, {
      args: ["--tls-cert", t.cert, "--tls-key", t.key, "--tls-required"],
      denoFlags: tlsFlags(t),
    });
    const url = `ftp://127.0.0.1:${explicit.port}`;
    const curl = await run("curl", [
      "-sS",
      "--ssl-reqd",
      "-k",
      "-u",
      "bob:secret",
      `${url}/hello.txt`,
    ]);
    assert.equal(curl.stdout, "hello over tls", curl.stderr);
    const clear = await run("curl", ["-sS", "-u", "bob:secret", `${url}/hello.txt`]);
    assert.notEqual(clear.code, 0, "a clear-text login is refused");
    const lftp = await run(
      "lftp",
      ["-f", "/dev/stdin"],
      [
        "set cmd:fail-exit yes",
        "set net:max-retries 1",
        "set ftp:ssl-force true",
        "set ftp:ssl-protect-data true",
        "set ssl:verify-certificate no",
        `open -u bob,secret ${url}`,
        "cat hello.txt",
        "bye",
      ].join("\n"),
    );
    assert.equal(lftp.stdout, "hello over tls", lftp.stderr);
    using raw = await RawClient.open(explicit.port);
    assert.equal((await raw.cmd("USER bob")).code, 530, "USER before AUTH TLS");
    raw.close();

    await using implicit = await startServer(t.root, {
      args: ["--tls-cert", t.cert, "--tls-key", t.key, "--implicit-tls"],
      denoFlags: tlsFlags(t),
    });
    assert.match(implicit.output(), /listening on ftps:\/\//);
    const got = await run("curl", [
      "-sS",
      "-k",
      "-u",
      "bob:secret",
      `ftps://127.0.0.1:${implicit.port}/hello.txt`,
    ]);
    assert.equal(got.stdout, "hello over tls", got.stderr);
    const plain = await Deno.connect({ hostname: "127.0.0.1", port: implicit.port });
    await plain.write(new TextEncoder().encode("USER bob\r\n"));
    const buf = new Uint8Array(256);
    const n = await plain.read(buf).catch(() => null);
    plain.close();
    const answer = new TextDecoder().decode(buf.subarray(0, n ?? 0));
    assert.doesNotMatch(answer, /^\d{3}[ -]/, "no clear-text FTP on the implicit port");
    await implicit.waitFor("TLS handshake failed");
  } finally {
    await Deno.remove(t.certs, { recursive: true });
  }
});

Deno.test("FTPS flags: missing, bad or mismatched certificate files are usage errors", async () => {
  const t = await tlsTree();
  const other = await makeCert(t.certs, "other");
  assert.ok(other);
  const main = new URL("../../main.ts", import.meta.url).pathname;
  try {
    const cases: [string[], RegExp][] = [
      [
        ["--tls-cert", t.cert, "--tls-key", other.key],
        /the key does not belong to the certificate/,
      ],
      [["--tls-cert", t.cert], /--tls-cert and --tls-key go together/],
      [["--tls-required"], /need --tls-cert and --tls-key/],
      [
        ["--tls-cert", join(t.certs, "none.pem"), "--tls-key", t.key],
        /--tls-cert ".*none.pem" cannot be read/,
      ],
      [
        ["--tls-cert", t.key, "--tls-key", t.cert],
        /^xxftp: --tls-cert\/--tls-key: the certificate is not/,
      ],
    ];
    for (const [args, message] of cases) {
      const r = await run(Deno.execPath(), [
        "run",
        "-A",
        main,
        "serve",
        t.root,
        "--port",
        "0",
        ...args,
      ]);
      assert.equal(r.code, 2, args.join(" "));
      assert.match(r.stderr, message);
    }
  } finally {
    await Deno.remove(t.certs, { recursive: true });
    await Deno.remove(t.root, { recursive: true });
  }
});

Deno.test("FTPS: garbage instead of a TLS handshake costs that connection only", async () => {
  const t = await tlsTree();
  try {
    await using srv = await startServer(t.root, {
      args: ["--tls-cert", t.cert, "--tls-key", t.key],
      denoFlags: tlsFlags(t),
    });
    for (let i = 0; i < 5; i++) {
      using c = await RawClient.open(srv.port);
      assert.equal((await c.cmd("AUTH TLS")).code, 234);
      await c.send(randomBytes(2000));
      assert.equal((await c.reply(5000)).code, 0, "the connection is closed");
      c.close();
    }
    await srv.waitFor("TLS handshake failed");
    const r = await run("curl", [
      "-sS",
      "--ssl-reqd",
      "-k",
      "-u",
      "bob:secret",
      `ftp://127.0.0.1:${srv.port}/hello.txt`,
    ]);
    assert.equal(r.stdout, "hello over tls", r.stderr);
  } finally {
    await Deno.remove(t.certs, { recursive: true });
  }
});

Deno.test("implicit FTPS: a connection over the limit is closed, never answered in clear text", async () => {
  const t = await tlsTree();
  try {
    await using srv = await startServer(t.root, {
      args: ["--tls-cert", t.cert, "--tls-key", t.key, "--implicit-tls", "--max-connections", "1"],
      denoFlags: tlsFlags(t),
    });
    const first = await Deno.connect({ hostname: "127.0.0.1", port: srv.port }); // holds the slot
    const second = await Deno.connect({ hostname: "127.0.0.1", port: srv.port });
    const buf = new Uint8Array(64);
    const n = await second.read(buf).catch(() => null);
    assert.equal(n, null, "closed without a byte (a TLS client could not read a 421)");
    second.close();
    first.close();
  } finally {
    await Deno.remove(t.certs, { recursive: true });
  }
});

Deno.test("implicit FTPS and HTTPS: connections reset before the server takes them stop neither door", async () => {
  const t = await tlsTree();
  try {
    await using srv = await startServer(t.root, {
      args: ["--tls-cert", t.cert, "--tls-key", t.key, "--implicit-tls", "--http", "0"],
      denoFlags: tlsFlags(t),
    });
    for (const port of [srv.port, srv.httpPort!]) await resetFlood(port, 500);
    // The flood came from this address: until the server has seen each reset, its connections
    // hold this address's slots (--max-per-ip 50), and a refused TLS client gets no reply. A reset
    // mid-handshake must end at once, not at the handshake's time limit (15 s).
    const fetched = async (url: string) => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const got = await run("curl", ["-sS", "-k", "-u", "bob:secret", url]);
        if (got.stdout === "hello over tls" || Date.now() > deadline) return got;
        await new Promise((r) => setTimeout(r, 100));
      }
    };
    const ftps = await fetched(`ftps://127.0.0.1:${srv.port}/hello.txt`);
    assert.equal(ftps.stdout, "hello over tls", ftps.stderr);
    const https = await fetched(`https://127.0.0.1:${srv.httpPort}/hello.txt`);
    assert.equal(https.stdout, "hello over tls", https.stderr);
    assert.ok(!/accept loop ended|accept failed/.test(srv.output()), srv.output().slice(-400));
  } finally {
    await Deno.remove(t.certs, { recursive: true });
  }
});
