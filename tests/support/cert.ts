/** Throw-away self-signed certificates for localhost, for FTPS tests and the benchmark. */
import { join } from "node:path";

/** Where a certificate and its key were written, and the certificate's PEM text. */
export interface TestCert {
  cert: string;
  key: string;
  pem: string;
}

/**
 * Writes `<name>-cert.pem` and `<name>-key.pem` into `dir` with openssl; null
 * when openssl is missing or fails. The certificate names localhost and is not
 * a CA (rustls, Deno's TLS client, refuses a CA certificate as a server's own).
 */
export async function makeCert(dir: string, name = "server"): Promise<TestCert | null> {
  const cert = join(dir, `${name}-cert.pem`), key = join(dir, `${name}-key.pem`);
  const args = [
    ...["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost"],
    ...["-addext", "subjectAltName=DNS:localhost", "-addext", "basicConstraints=critical,CA:FALSE"],
    ...["-keyout", key, "-out", cert],
  ];
  try {
    const made = await new Deno.Command("openssl", { args, stdout: "null", stderr: "null" })
      .output();
    return made.success ? { cert, key, pem: await Deno.readTextFile(cert) } : null;
  } catch {
    return null; // no openssl on this machine
  }
}
