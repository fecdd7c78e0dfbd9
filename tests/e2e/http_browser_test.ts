/**
 * A real browser on the HTTP door: Debian's headless Chromium, driven by
 * puppeteer-core, logs in through the form (after a failed attempt), lists,
 * downloads, uploads through the form, makes and deletes a folder, and takes
 * screenshots of the listing and of the failed login. Set
 * XXFTP_SCREENSHOT_DIR to keep the screenshots.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import puppeteer, { type Page } from "puppeteer-core";
import { makeTree, randomBytes, sameBytes, startServer } from "../support/server.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** Waits (bounded) until `path` exists with `size` bytes and no download is in progress. */
async function downloaded(dir: string, name: string, size: number): Promise<Uint8Array> {
  for (let i = 0; i < 200; i++) {
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    if (names.includes(name) && !names.some((n) => n.endsWith(".crdownload"))) {
      const bytes = await Deno.readFile(join(dir, name));
      if (bytes.length === size) return bytes;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${name} was not downloaded to ${dir}`);
}

/** The names in the listing table, as shown. */
const listed = (page: Page) =>
  page.$$eval("#listing tbody tr[data-name] td.name a", (as) => as.map((a) => a.textContent));

/** Checks a screenshot is a PNG of some substance. */
async function assertPng(path: string) {
  const png = await Deno.readFile(path);
  assert.deepEqual([...png.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], `${path} is a PNG`);
  assert.ok(png.length > 10_000, `${path} holds a real picture (${png.length} bytes)`);
}

Deno.test({
  name: "a browser logs in through the form, lists, downloads, uploads and changes the tree",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const payload = randomBytes(300_000);
    const root = await makeTree({
      "alice/.xxftp/password": "5ebe2294ecd0e0f08eab7690d2a6ee69", // "secret"
      "alice/data.bin": payload,
      "alice/notes.txt": "some notes\n",
      "alice/Reports 2026/summary.txt": "all good",
      "alice/photos/": "",
      "alice/.hidden": "HIDDEN",
    });
    const lib = new URL("../../lib", import.meta.url).pathname;
    await using srv = await startServer(root, {
      args: ["--http", "0", "--login-fail-delay", "0"],
      denoFlags: ["--allow-net", `--allow-read=${root},${lib}`, `--allow-write=${root}`],
    });
    await srv.waitFor("confined by Deno permissions (worker)");
    const base = `http://127.0.0.1:${srv.httpPort}`;
    const work = await Deno.makeTempDir({ prefix: "xxftp-browser-" });
    const shots = Deno.env.get("XXFTP_SCREENSHOT_DIR") ?? join(work, "shots");
    await Deno.mkdir(shots, { recursive: true });
    const downloads = join(work, "downloads");
    await Deno.mkdir(downloads);
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        `--user-data-dir=${join(work, "profile")}`,
      ],
    });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(20_000);
      await page.setViewport({ width: 1100, height: 700 });
      const problems: string[] = [];
      page.on("pageerror", (e) => problems.push(`page error: ${e}`));
      page.on("console", (m) => {
        if (m.type() === "error" && !/status of 401/.test(m.text())) problems.push(m.text());
      });

      // No anonymous folder: the login page, then a failed login.
      const first = await page.goto(`${base}/`);
      assert.equal(first?.status(), 401);
      await page.type("input[name=user]", "alice");
      await page.type("input[name=password]", "wrong");
      const failed = await Promise.all([
        page.waitForNavigation(),
        page.click("button[type=submit]"),
      ]);
      assert.equal(failed[0]?.status(), 401);
      assert.equal(await page.$eval(".error", (e) => e.textContent), "Login incorrect.");
      await page.screenshot({ path: join(shots, "failed-login.png") });

      // The right password (the name is kept): a session, and the listing.
      assert.equal(await page.$eval("input[name=user]", (e) => e.value), "alice");
      await page.type("input[name=password]", "secret");
      await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
      assert.equal(new URL(page.url()).pathname, "/");
      assert.deepEqual(await listed(page), [
        "photos/",
        "Reports 2026/",
        "data.bin",
        "notes.txt",
      ]);
      const cookies = await browser.cookies();
      const session = cookies.find((c) => c.name === "xxftp_session");
      assert.ok(session?.httpOnly && session.sameSite === "Strict", "HttpOnly, SameSite=Strict");

      // Into a folder with a space in its name, and back by the breadcrumbs.
      await Promise.all([page.waitForNavigation(), page.click('a[href="/Reports%202026/"]')]);
      assert.deepEqual(await listed(page), ["summary.txt"]);
      await Promise.all([page.waitForNavigation(), page.click('.crumbs a[href="/"]')]);

      // A download by clicking its link.
      const cdp = await page.createCDPSession();
      await cdp.send("Browser.setDownloadBehavior", { behavior: "allow", downloadPath: downloads });
      await page.click('a[href="/data.bin"]');
      assert.ok(sameBytes(await downloaded(downloads, "data.bin", payload.length), payload));

      // An upload through the form: the file picker, then Upload (a PUT with the page's token).
      const upload = join(work, "from the browser.bin");
      const uploaded = randomBytes(500_000);
      await Deno.writeFile(upload, uploaded);
      const input = await page.$("#upload input[type=file]");
      await input!.uploadFile(upload);
      await Promise.all([page.waitForNavigation(), page.click("#upload button[type=submit]")]);
      assert.ok((await listed(page)).includes("from the browser.bin"));
      assert.ok(sameBytes(await Deno.readFile(join(root, "alice/from the browser.bin")), uploaded));

      // New folder and delete, through the page's prompts.
      page.once("dialog", (d) => d.accept("made in chromium"));
      await Promise.all([page.waitForNavigation(), page.click("#mkdir")]);
      assert.ok((await listed(page)).includes("made in chromium/"));
      assert.ok((await Deno.stat(join(root, "alice/made in chromium"))).isDirectory);
      page.once("dialog", (d) => d.accept());
      await Promise.all([
        page.waitForNavigation(),
        page.click('tr[data-name="notes.txt"] button[data-act="delete"]'),
      ]);
      assert.ok(!(await listed(page)).includes("notes.txt"));

      // Sorting by size puts the biggest file first (folders stay first).
      await page.click('th[data-key="size"] button');
      await page.click('th[data-key="size"] button');
      const bySize = await listed(page);
      assert.equal(bySize[bySize.findIndex((n) => !n!.endsWith("/"))], "from the browser.bin");

      await page.screenshot({ path: join(shots, "listing.png"), fullPage: true });
      await page.setViewport({ width: 390, height: 760, isMobile: true });
      await page.reload();
      await page.screenshot({ path: join(shots, "listing-phone.png"), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
    }
    await assertPng(join(shots, "failed-login.png"));
    await assertPng(join(shots, "listing.png"));
    await assertPng(join(shots, "listing-phone.png"));
    assert.doesNotMatch(srv.output(), /\n\s+at /, "no stack trace in the log");
    await Deno.remove(work, { recursive: true });
  },
});
