/**
 * The door's HTML: the folder listing, the login page and the error page,
 * built from escaped values. Their style and script are served from
 * `assets.ts` under `/.assets/`; pages hold no inline script or style.
 */
import { encodePath } from "./paths.ts";

/** One row of a listing. */
export interface ListedEntry {
  name: string;
  dir: boolean;
  size: number;
  mtime: Date;
}

/** What the listing page shows. */
export interface ListingModel {
  /** The folder, as a user path. */
  path: string;
  user: string;
  /** Logged in through the form (a logout button), by Basic, or anonymous (a login link). */
  via: "session" | "basic" | "anonymous";
  /** The session's CSRF token, for the page's script and the logout form. */
  csrf: string | null;
  /** Folders first, then by name. */
  entries: ListedEntry[];
  /** More entries exist than are shown. */
  truncated: boolean;
  /** Files may be uploaded here. */
  canWrite: boolean;
  /** Entries may be renamed and deleted, folders made. */
  canModify: boolean;
}

const ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/** Text made safe for HTML content and quoted attributes. */
export function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/** A byte count as people read it: `512 B`, `1.5 KiB`, `3.2 GiB`. */
export function humanSize(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/** `2026-11-25 21:21` (UTC; the script shows local time). */
function when(d: Date): string {
  return d.toISOString().slice(0, 16).replace("T", " ");
}

function page(title: string, body: string, head = ""): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/.assets/style.css">
<script src="/.assets/app.js" defer></script>
${head}</head>
<body>
${body}
</body>
</html>
`;
}

/** Links to each folder above and including `path`. */
function crumbs(path: string): string {
  const parts = path.split("/").filter((p) => p !== "");
  const links = [`<a href="/">home</a>`];
  parts.forEach((name, i) => {
    const href = encodePath(parts.slice(0, i + 1).join("/"), true);
    links.push(
      i === parts.length - 1
        ? `<span aria-current="page">${esc(name)}</span>`
        : `<a href="${esc(href)}">${esc(name)}</a>`,
    );
  });
  return `<nav class="crumbs" aria-label="Folders">${
    links.join(`<span class="sep">/</span>`)
  }</nav>`;
}

/** Who is here: the user with a logout button, or anonymous with a login link. */
function whoBox(m: { user: string; via: ListingModel["via"]; csrf: string | null; path: string }) {
  if (m.via === "anonymous") {
    const next = encodeURIComponent(encodePath(m.path, true));
    return `<div class="who">anonymous · <a href="/.login?next=${esc(next)}">Log in</a></div>`;
  }
  const logout = m.via === "session"
    ? `<form method="post" action="/.logout"><input type="hidden" name="csrf" value="${
      esc(m.csrf ?? "")
    }"><button type="submit">Log out</button></form>`
    : "";
  return `<div class="who"><span class="user">${esc(m.user)}</span>${logout}</div>`;
}

function row(e: ListedEntry, folder: string, canModify: boolean): string {
  const href = encodePath(`${folder}/${e.name}`, e.dir);
  const label = e.dir ? `${e.name}/` : e.name;
  const actions = canModify
    ? `<td class="actions"><button type="button" data-act="rename">Rename</button>` +
      `<button type="button" data-act="delete">Delete</button></td>`
    : "";
  return `<tr data-name="${esc(e.name)}" data-dir="${e.dir ? 1 : 0}" data-size="${
    e.dir ? -1 : e.size
  }" data-mtime="${e.mtime.getTime()}">` +
    `<td class="name"><a href="${esc(href)}"${e.dir ? ` class="dir"` : ""}>${esc(label)}</a></td>` +
    `<td class="size">${e.dir ? "—" : humanSize(e.size)}</td>` +
    `<td class="when"><time datetime="${e.mtime.toISOString()}">${when(e.mtime)}</time></td>` +
    actions + `</tr>`;
}

/** The listing of a folder: breadcrumbs, a sortable table, and the tools the user may use. */
export function listingPage(m: ListingModel): string {
  const title = m.path === "/" ? "/" : m.path;
  const tools = [`<a class="button" href="?zip">Download folder (.zip)</a>`];
  if (m.canModify) tools.push(`<button type="button" id="mkdir">New folder</button>`);
  const upload = m.canWrite
    ? `<form id="upload" class="drop">
<label>Drop files here, or choose: <input type="file" name="files" multiple></label>
<button type="submit">Upload</button>
<progress hidden max="1" value="0"></progress>
</form>
<noscript><p>Uploading from this page needs JavaScript; <code>curl -T FILE URL</code> works too.</p></noscript>`
    : "";
  const rows = m.entries.map((e) => row(e, m.path, m.canModify)).join("\n");
  const up = m.path === "/"
    ? ""
    : `<tr class="up"><td class="name"><a href="../">../</a></td><td></td><td class="when"></td>${
      m.canModify ? "<td></td>" : ""
    }</tr>\n`;
  const empty = m.entries.length === 0 ? `<p class="empty">This folder is empty.</p>` : "";
  const more = m.truncated
    ? `<p class="more">Only the first ${m.entries.length} entries are shown.</p>`
    : "";
  const csrf = m.csrf === null ? "" : `<meta name="xxftp-csrf" content="${esc(m.csrf)}">\n`;
  return page(
    `${title} — xxftp`,
    `<header>
${crumbs(m.path)}
${whoBox(m)}
</header>
<main>
<div class="tools">${tools.join(" ")}</div>
${upload}
<p id="status" role="status"></p>
<table id="listing">
<thead><tr><th data-key="name" aria-sort="ascending"><button type="button">Name</button></th>` +
      `<th data-key="size" class="size"><button type="button">Size</button></th>` +
      `<th data-key="mtime" class="when"><button type="button">Modified</button></th>${
        m.canModify ? `<th class="actions"><span class="sr">Actions</span></th>` : ""
      }</tr></thead>
<tbody>
${up}${rows}
</tbody>
</table>
${empty}${more}
</main>`,
    csrf,
  );
}

/** The login form; after a failed attempt `error` is shown above it and `user` refilled. */
export function loginPage(
  m: { next: string; user: string; error: string | null; anonymous: boolean },
): string {
  const error = m.error === null ? "" : `<p class="error" role="alert">${esc(m.error)}</p>\n`;
  const anon = m.anonymous ? `<p><a href="/">Browse as anonymous</a></p>` : "";
  return page(
    "Log in — xxftp",
    `<main class="login">
<h1>xxftp</h1>
${error}<form method="post" action="/.login">
<input type="hidden" name="next" value="${esc(m.next)}">
<label>User <input name="user" value="${
      esc(m.user)
    }" autocomplete="username" autocapitalize="none" required${m.user ? "" : " autofocus"}></label>
<label>Password <input type="password" name="password" autocomplete="current-password"${
      m.user ? " autofocus" : ""
    }></label>
<button type="submit">Log in</button>
</form>
${anon}
</main>`,
  );
}

/** A failure, for a browser. */
export function errorPage(status: number, message: string, path: string): string {
  const next = encodeURIComponent(encodePath(path));
  return page(
    `${status} — xxftp`,
    `<main class="error-page">
<h1>${status}</h1>
<p>${esc(message)}</p>
<p><a href="/">Home</a> · <a href="/.login?next=${esc(next)}">Log in as someone else</a></p>
</main>`,
  );
}
