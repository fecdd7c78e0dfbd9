/**
 * Test support for faults and FTPS: a server with a throw-away certificate,
 * Python scripts that control how a data connection ends (reset, bare FIN,
 * close_notify), and the check that a server log holds no stack trace.
 */
import assert from "node:assert/strict";
import { makeCert } from "./cert.ts";
import { run, startServer, type TestServer, type TreeSpec, writeTree } from "./server.ts";

/** MD5 of "secret": bob's password in test trees. */
export const MD5_OF_SECRET = "5ebe2294ecd0e0f08eab7690d2a6ee69";

/** A server over a tree given by `spec` (plus bob/secret), with FTPS when `tls`. */
export async function serveTree(
  spec: TreeSpec,
  tls = true,
): Promise<TestServer> {
  const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "xxftp-test-" }));
  await writeTree(root, { "bob/.xxftp/password": MD5_OF_SECRET, ...spec });
  if (!tls) return await startServer(root);
  const certs = await Deno.makeTempDir({ prefix: "xxftp-cert-" });
  const made = await makeCert(certs);
  assert.ok(made, "openssl made a certificate");
  const srv = await startServer(root, {
    args: ["--tls-cert", made.cert, "--tls-key", made.key],
    denoFlags: ["--allow-net", `--allow-read=${root},${certs}`, `--allow-write=${root}`],
  });
  const dispose = srv[Symbol.asyncDispose];
  return {
    ...srv,
    async [Symbol.asyncDispose]() {
      await dispose();
      await Deno.remove(certs, { recursive: true });
    },
  };
}

/** Fails when the server printed a stack trace ("    at ..." lines). */
export function assertNoStackTrace(srv: TestServer): void {
  const text = srv.output();
  assert.doesNotMatch(text, /^\s+at /m, `the server log has a stack trace:\n${text}`);
}

const PY_PRELUDE = `
import ftplib, io, json, os, socket, ssl, struct, sys, time
PORT = int(sys.argv[1])
ROOT = sys.argv[2]
CTX = ssl.create_default_context(); CTX.check_hostname = False; CTX.verify_mode = ssl.CERT_NONE

def login(tls=True, user="bob", password="secret"):
    ftp = ftplib.FTP_TLS(context=CTX) if tls else ftplib.FTP()
    ftp.connect("127.0.0.1", PORT, timeout=20)
    ftp.login(user, password)
    if tls:
        ftp.prot_p()
    ftp.voidcmd("TYPE I")
    return ftp

def reset(sock):
    """Ends a connection with a TCP reset (SO_LINGER 0)."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()

def bare_fin(sock):
    """Ends a connection with a TCP FIN and, over TLS, no close_notify."""
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()

def reply(ftp):
    try:
        return ftp.getresp()
    except ftplib.all_errors as e:
        return str(e)

def attempt(fn, *args):
    try:
        return str(fn(*args))
    except ftplib.all_errors as e:
        return str(e)

def read_to_end(conn):
    """All bytes of a data connection, and whether a TLS one ended with close_notify."""
    if isinstance(conn, ssl.SSLSocket):
        conn.suppress_ragged_eofs = False
    chunks = []
    try:
        while True:
            b = conn.recv(65536)
            if not b:
                return b"".join(chunks), True
            chunks.append(b)
    except ssl.SSLEOFError:
        return b"".join(chunks), False

def disk(path):
    """A file of bob's, read from the served tree."""
    with open(os.path.join(ROOT, "bob", path), "rb") as f:
        return f.read()

def temps(folder):
    return [n for n in os.listdir(os.path.join(ROOT, "bob", folder)) if n.startswith(".xxftp-part-")]
`;

/** Runs a python3 script against the server (PORT, ROOT and the helpers above); returns its last line as JSON. */
export async function python<T>(srv: TestServer, body: string): Promise<T> {
  const r = await run("python3", ["-c", PY_PRELUDE + body, String(srv.port), srv.root]);
  if (r.code !== 0) throw new Error(`python3 failed (${r.code}):\n${r.stderr}\n${r.stdout}`);
  const lines = r.stdout.trim().split("\n");
  return JSON.parse(lines[lines.length - 1]) as T;
}

/** lftp settings for FTPS without certificate checks, failing fast instead of retrying. */
export const LFTP_FTPS = [
  "set cmd:fail-exit yes",
  "set net:timeout 5",
  "set net:max-retries 1",
  "set net:reconnect-interval-base 1",
  "set ftp:ssl-force true",
  "set ftp:ssl-protect-data true",
  "set ssl:verify-certificate no",
];
