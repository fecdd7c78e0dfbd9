/** Test support for the HTTP door: curl with the status, headers and body of the last response. */
import { join } from "node:path";
import { run } from "./server.ts";

/** The last response curl got (after any `100 Continue`). */
export interface CurlResult {
  /** curl's exit code (0 unless the transfer itself failed). */
  code: number;
  status: number;
  headers: Headers;
  body: string;
  stderr: string;
}

/** Parses the last header block of a `curl -D` dump. */
function lastHeaders(dump: string): { status: number; headers: Headers } {
  const blocks = dump.split(/\r?\n\r?\n/).filter((b) => b.trim() !== "");
  const last = blocks[blocks.length - 1] ?? "";
  const [statusLine, ...lines] = last.split(/\r?\n/);
  const headers = new Headers();
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) headers.append(line.slice(0, colon).trim(), line.slice(colon + 1).trim());
  }
  return { status: Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine)?.[1] ?? 0), headers };
}

/** Runs curl with `args` (no `-o`/`-D` of your own); bounded in time. */
export async function curl(args: string[], timeoutMs = 60000): Promise<CurlResult> {
  const dir = await Deno.makeTempDir({ prefix: "xxftp-curl-" });
  const [head, body] = [join(dir, "head"), join(dir, "body")];
  try {
    const r = await run(
      "curl",
      ["-s", "-S", "-D", head, "-o", body, ...args],
      undefined,
      timeoutMs,
    );
    const dump = await Deno.readTextFile(head).catch(() => "");
    const text = await Deno.readTextFile(body).catch(() => "");
    return { code: r.code, ...lastHeaders(dump), body: text, stderr: r.stderr };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The arguments that make curl ask like a browser (it accepts HTML). */
export const AS_BROWSER = ["-H", "Accept: text/html,application/xhtml+xml,*/*;q=0.8"];
