/**
 * Test support: a real one-node Ceph RADOS Gateway (./ceph-rgw/start.sh) on free loopback
 * ports under its own temp dir, and clients for it. One cluster per test file; stop it at the end.
 */
import { S3Client, type S3ClientOptions } from "../../lib/storage/s3/client.ts";

/** start.sh and stop.sh: the repository's copy of ../shared/ceph-rgw, unless CEPH_RGW_DIR names others. */
const SCRIPTS = Deno.env.get("CEPH_RGW_DIR") ?? new URL("./ceph-rgw/", import.meta.url).pathname;
const PACKAGES = "ceph-mon ceph-osd radosgw ceph-common";

/** A running cluster. */
export interface Ceph {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
  /** The cluster's ceph.conf, for `radosgw-admin -c`. */
  conf: string;
  /** A client for `bucket` (not created). */
  client(bucket: string, opts?: Partial<S3ClientOptions>): S3Client;
  /** Runs `radosgw-admin` on this cluster; throws with its output when it fails. */
  admin(...args: string[]): Promise<string>;
  /** Freezes radosgw (SIGSTOP): connections stay open and nothing answers, like a hung store. */
  pause(): Promise<void>;
  /** Lets a paused radosgw go on (SIGCONT). */
  resume(): Promise<void>;
  /** Kills the daemons and removes the directory. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr;
  listener.close();
  return port;
}

function isFree(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** 40 ports for the OSD's messengers, below the ephemeral range (where freePort lands), 10 free now. */
function osdPortWindow(): [number, number] {
  for (let attempt = 0; attempt < 50; attempt++) {
    const min = 20000 + Math.floor(Math.random() * 300) * 40;
    if (Array.from({ length: 10 }, (_, i) => min + i).every(isFree)) return [min, min + 39];
  }
  throw new Error("no free port window for the Ceph OSD");
}

async function run(cmd: string, args: string[], env: Record<string, string> = {}): Promise<string> {
  const out = await new Deno.Command(cmd, {
    args,
    env,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}):\n${text}`);
  return text;
}

/** Starts a cluster; throws (does not skip) when the Ceph packages are missing. */
export async function startCeph(): Promise<Ceph> {
  try {
    await run("sh", ["-c", "command -v radosgw && command -v ceph-osd && command -v ceph-mon"]);
  } catch {
    throw new Error(
      `Ceph is not installed: apt-get install -y --no-install-recommends ${PACKAGES}`,
    );
  }
  // A start now and then loses a race for a port (or radosgw dies young): try afresh, twice.
  let dir = "";
  let failures = "";
  for (let attempt = 1; dir === ""; attempt++) {
    const tried = await Deno.makeTempDir({ prefix: "xxftp-ceph-" });
    const [osdMin, osdMax] = osdPortWindow();
    const vars = {
      CEPH_DIR: tried,
      MON_PORT: String(freePort()),
      RGW_PORT: String(freePort()),
      OSD_PORT_MIN: String(osdMin),
      OSD_PORT_MAX: String(osdMax),
    };
    try {
      await run("bash", [`${SCRIPTS}/start.sh`], vars);
      dir = tried;
    } catch (err) {
      const log = await Deno.readTextFile(`${tried}/log/client.rgw.test.log`).catch(() => "");
      failures += `attempt ${attempt}: ${(err as Error).message}\nradosgw log tail:\n` +
        `${log.split("\n").slice(-15).join("\n")}\n`;
      await run("bash", [`${SCRIPTS}/stop.sh`], { CEPH_DIR: tried });
      if (attempt === 3) throw new Error(`the Ceph cluster did not start:\n${failures}`);
    }
  }
  if (failures !== "") console.warn(`Ceph started after failing:\n${failures}`);
  const stop = async () => {
    await run("bash", [`${SCRIPTS}/stop.sh`], { CEPH_DIR: dir });
  };
  const env = Object.fromEntries(
    (await Deno.readTextFile(`${dir}/env`)).split("\n").filter((l) => l.includes("="))
      .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
  );
  const signalRgw = async (signal: Deno.Signal) => {
    Deno.kill(Number((await Deno.readTextFile(`${dir}/rgw.pid`)).trim()), signal);
  };
  const ceph: Ceph = {
    endpoint: env.S3_ENDPOINT,
    accessKeyId: env.AWS_ACCESS_KEY_ID,
    secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
    region: env.AWS_DEFAULT_REGION,
    conf: env.CEPH_CONF,
    client: (bucket, opts = {}) =>
      new S3Client({
        endpoint: ceph.endpoint,
        region: ceph.region,
        bucket,
        accessKeyId: ceph.accessKeyId,
        secretAccessKey: ceph.secretAccessKey,
        ...opts,
      }),
    admin: (...args) => run("radosgw-admin", ["-c", ceph.conf, ...args]),
    pause: () => signalRgw("SIGSTOP"),
    resume: () => signalRgw("SIGCONT"),
    stop,
    [Symbol.asyncDispose]: stop,
  };
  return ceph;
}
