/**
 * The bench's Deno floor: the least FTP server Deno can run, with none of
 * xxftp's layers (no accounts, permissions, quotas, logging, safe uploads or
 * sandbox). It greets, takes any login, and moves bytes with one reused 1 MiB
 * buffer, as xxftp does. What it measures is what Deno itself costs: a row
 * where this floor is behind the best peer cannot be won inside Deno.
 *
 *   deno run --allow-net --allow-read=ROOT --allow-write=ROOT floor_server.ts ROOT PORT
 */
const [root, portText] = Deno.args;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const BUFFER = 1 << 20;

/** Passive ports above Linux's ephemeral range, as xxftp's default. */
let nextPassive = 0;
function passiveListener(): Deno.TcpListener {
  for (let tries = 0; tries < 4000; tries++) {
    const port = 61000 + (nextPassive++ % 4500);
    try {
      return Deno.listen({ hostname: "127.0.0.1", port });
    } catch (err) {
      if (!(err instanceof Deno.errors.AddrInUse)) throw err;
    }
  }
  return Deno.listen({ hostname: "127.0.0.1", port: 0 });
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) off += await conn.write(data.subarray(off));
}

/** RETR: file to data connection. */
async function send(path: string, data: Deno.Conn, buffer: Uint8Array): Promise<void> {
  using file = Deno.openSync(path, { read: true });
  for (let n = file.readSync(buffer); n !== null; n = file.readSync(buffer)) {
    await writeAll(data, n === buffer.length ? buffer : buffer.subarray(0, n));
  }
}

/** STOR: data connection to file. */
async function receive(path: string, data: Deno.Conn, buffer: Uint8Array): Promise<void> {
  using file = Deno.openSync(path, { write: true, create: true, truncate: true });
  for (let n = await data.read(buffer); n !== null; n = await data.read(buffer)) {
    for (let off = 0; off < n;) off += file.writeSync(buffer.subarray(off, n));
  }
}

async function session(conn: Deno.TcpConn): Promise<void> {
  conn.setNoDelay(true);
  const reply = (text: string) => writeAll(conn, encoder.encode(`${text}\r\n`));
  const line = new Uint8Array(1024);
  let passive: Deno.TcpListener | null = null;
  let buffer: Uint8Array | null = null;
  let cwd = root;
  await reply("220 ready");
  // One read, one command: true of curl and the load generator, which wait for each reply.
  for (let n = await conn.read(line); n !== null; n = await conn.read(line)) {
    const text = decoder.decode(line.subarray(0, n)).trim();
    const space = text.indexOf(" ");
    const verb = (space < 0 ? text : text.slice(0, space)).toUpperCase();
    const arg = space < 0 ? "" : text.slice(space + 1);
    if (verb === "USER") await reply("331 password");
    else if (verb === "PASS") await reply("230 in");
    else if (verb === "TYPE") await reply("200 type");
    else if (verb === "PWD") await reply('257 "/"');
    else if (verb === "CWD") {
      cwd = arg.startsWith("/") ? `${root}${arg}` : `${cwd}/${arg}`;
      await reply("250 here");
    } else if (verb === "PASV" || verb === "EPSV") {
      passive?.close();
      passive = passiveListener();
      const port = (passive.addr as Deno.NetAddr).port;
      await reply(
        verb === "EPSV"
          ? `229 passive (|||${port}|)`
          : `227 passive (127,0,0,1,${port >> 8},${port & 255})`,
      );
    } else if ((verb === "RETR" || verb === "STOR") && passive !== null) {
      const path = arg.startsWith("/") ? `${root}${arg}` : `${cwd}/${arg}`;
      await reply("150 data");
      const data = await passive.accept();
      passive.close();
      passive = null;
      buffer ??= new Uint8Array(BUFFER);
      try {
        if (verb === "RETR") await send(path, data, buffer);
        else await receive(path, data, buffer);
      } finally {
        data.close();
      }
      await reply("226 done");
    } else if (verb === "QUIT") {
      await reply("221 bye");
      break;
    } else await reply("502 not here");
  }
  passive?.close();
}

const listener = Deno.listen({ hostname: "127.0.0.1", port: Number(portText) });
for await (const conn of listener) {
  session(conn).catch(() => {}).finally(() => {
    try {
      conn.close();
    } catch {
      // closed by the client already
    }
  });
}
