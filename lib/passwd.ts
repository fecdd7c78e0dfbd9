/** `xxftp passwd`: writes a user's salted scrypt password file. */
import { join } from "node:path";
import { USER_NAME } from "./core/accounts.ts";
import { hashPassword } from "./core/passwords.ts";
import { type Storage, StorageError } from "./storage/storage.ts";
import { UsageError } from "./cli.ts";
import { CONFIG_DIR } from "./core/tree_files.ts";

/** Reads one line from a terminal without echoing it. */
async function promptHidden(question: string): Promise<string> {
  const out = new TextEncoder();
  Deno.stdin.setRaw(true); // before the prompt, so nothing typed after it is echoed
  await Deno.stdout.write(out.encode(question));
  const bytes: number[] = [];
  const buf = new Uint8Array(64);
  try {
    reading: for (;;) {
      const n = await Deno.stdin.read(buf);
      if (n === null) break;
      for (const b of buf.subarray(0, n)) {
        if (b === 3) throw new UsageError("cancelled");
        if (b === 13 || b === 10) break reading;
        if (b === 127 || b === 8) bytes.pop();
        else bytes.push(b);
      }
    }
  } finally {
    Deno.stdin.setRaw(false);
    await Deno.stdout.write(out.encode("\n"));
  }
  return new TextDecoder().decode(new Uint8Array(bytes));
}

/** The new password: asked twice on a terminal, else the first line of stdin. */
async function readPassword(): Promise<string> {
  if (Deno.stdin.isTerminal()) {
    const first = await promptHidden("New password: ");
    if (first !== await promptHidden("Repeat password: ")) {
      throw new UsageError("the passwords differ");
    }
    return first;
  }
  const text = await new Response(Deno.stdin.readable).text();
  return text.split(/\r?\n/)[0];
}

/**
 * Sets USER's password in the tree at `root` of `storage` (named `shown` in
 * messages); returns the path of the file written.
 */
export async function setPassword(
  storage: Storage,
  root: string,
  shown: string,
  user: string,
  create: boolean,
): Promise<string> {
  if (!USER_NAME.test(user)) {
    throw new UsageError(`"${user}" is not a user name (letters, digits, _)`);
  }
  const isFolder = (path: string) =>
    storage.stat(path).then((i) => i?.isDir === true, (err) => {
      if (err instanceof StorageError && err.kind === "unavailable") throw err;
      return false;
    });
  if (!await isFolder(root)) throw new UsageError(`root folder "${shown}" does not exist`);
  const home = join(root, user);
  const exists = await isFolder(home);
  if (!exists && !create) {
    throw new UsageError(`no user "${user}" in ${shown} (add --create to make the folder)`);
  }
  const password = await readPassword();
  if (password === "") throw new UsageError("empty password refused");
  const file = join(home, CONFIG_DIR, "password");
  await storage.writeText(file, (await hashPassword(password)) + "\n");
  return file;
}
