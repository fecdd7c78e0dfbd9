/**
 * The pages' style and script, compiled into the binary and served under
 * `/.assets/`. The script only improves the page: sorting, local times, and
 * the write tools (upload by PUT, new folder by MKCOL, rename by MOVE, delete
 * by DELETE), each request carrying the session's CSRF token.
 */

/** The style sheet: plain, readable on a phone, dark when the system is. */
export const STYLE = `:root { color-scheme: light dark; --fg: #1d1f21; --bg: #fff; --muted: #6a737d;
  --line: #e1e4e8; --accent: #0b62c4; --hover: #f3f6fa; --err: #b3261e; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e6e6; --bg: #16181b; --muted: #9aa4ae;
  --line: #30353b; --accent: #6cb0ff; --hover: #20242a; --err: #ff8a80; } }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: var(--fg); background: var(--bg); }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center;
  justify-content: space-between; padding: .75rem 1rem; border-bottom: 1px solid var(--line); }
.crumbs { font-weight: 600; overflow-wrap: anywhere; }
.crumbs .sep { color: var(--muted); margin: 0 .3rem; }
.who { display: flex; gap: .5rem; align-items: center; color: var(--muted); }
.who form { margin: 0; }
main { padding: 1rem; max-width: 70rem; margin: 0 auto; }
button, .button { font: inherit; font-size: .9rem; padding: .3rem .7rem; border-radius: 6px;
  border: 1px solid var(--line); background: var(--bg); color: var(--fg); cursor: pointer;
  display: inline-block; }
button:hover, .button:hover { background: var(--hover); text-decoration: none; }
.tools { display: flex; flex-wrap: wrap; gap: .5rem; margin-bottom: .75rem; }
.drop { border: 2px dashed var(--line); border-radius: 8px; padding: .75rem 1rem; margin-bottom: .75rem;
  display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: center; }
.drop.over { border-color: var(--accent); background: var(--hover); }
.drop progress { flex: 1 1 10rem; }
#status:empty { display: none; }
#status { color: var(--muted); }
#status.error, .error { color: var(--err); }
table { width: 100%; border-collapse: collapse; }
th { text-align: left; font-weight: 600; border-bottom: 1px solid var(--line); }
th button { border: 0; padding: .4rem .2rem; background: none; font-weight: 600; }
th[aria-sort="ascending"] button::after { content: " ▲"; font-size: .7em; }
th[aria-sort="descending"] button::after { content: " ▼"; font-size: .7em; }
td { padding: .45rem .2rem; border-bottom: 1px solid var(--line); vertical-align: middle; }
tr:hover td { background: var(--hover); }
td.name { overflow-wrap: anywhere; }
a.dir { font-weight: 600; }
.size { text-align: right; white-space: nowrap; width: 7rem; }
th.size { text-align: right; }
.when { white-space: nowrap; color: var(--muted); width: 12rem; padding-left: 1rem; }
.actions { white-space: nowrap; text-align: right; width: 1%; }
.actions button { font-size: .8rem; padding: .15rem .5rem; margin-left: .25rem; }
.sr { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
.empty, .more { color: var(--muted); }
.login { max-width: 22rem; margin: 12vh auto; }
.login form { display: grid; gap: .75rem; }
.login label { display: grid; gap: .25rem; }
.login input { font: inherit; padding: .45rem .6rem; border: 1px solid var(--line); border-radius: 6px;
  background: var(--bg); color: var(--fg); }
.login button { padding: .5rem; background: var(--accent); color: #fff; border: 0; }
.error-page { text-align: center; margin-top: 12vh; }
@media (max-width: 40rem) {
  .when { display: none; }
  main { padding: .5rem; }
  .actions button { padding: .15rem .35rem; }
}
`;

/** The page script (plain ES2020, no dependencies). */
export const SCRIPT = `"use strict";
(() => {
  const meta = document.querySelector('meta[name="xxftp-csrf"]');
  const csrf = meta ? meta.content : null;
  const status = document.getElementById("status");
  const say = (text, bad) => {
    if (!status) return;
    status.textContent = text;
    status.className = bad ? "error" : "";
  };
  const withToken = (headers) => (csrf ? Object.assign({ "X-CSRF-Token": csrf }, headers) : headers);

  for (const t of document.querySelectorAll("time[datetime]")) {
    const d = new Date(t.dateTime);
    t.title = t.dateTime;
    t.textContent = d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }

  const table = document.getElementById("listing");
  if (!table) return;
  const body = table.tBodies[0];
  const rows = () => [...body.querySelectorAll("tr[data-name]")];
  const collator = new Intl.Collator(undefined, { numeric: true, sensitivity: "base" });
  for (const th of table.querySelectorAll("th[data-key]")) {
    th.querySelector("button").addEventListener("click", () => {
      const key = th.dataset.key;
      const dir = th.getAttribute("aria-sort") === "ascending" ? -1 : 1;
      for (const other of table.querySelectorAll("th[data-key]")) other.removeAttribute("aria-sort");
      th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
      const sorted = rows().sort((a, b) => {
        if (a.dataset.dir !== b.dataset.dir) return b.dataset.dir - a.dataset.dir;
        const by = key === "name"
          ? collator.compare(a.dataset.name, b.dataset.name)
          : Number(a.dataset[key]) - Number(b.dataset[key]);
        return dir * (by || collator.compare(a.dataset.name, b.dataset.name));
      });
      for (const r of sorted) body.appendChild(r);
    });
  }

  const here = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
  const urlOf = (name) => here + encodeURIComponent(name);
  const send = async (method, url, headers) => {
    const r = await fetch(url, { method, headers: withToken(headers || {}), credentials: "same-origin" });
    if (!r.ok) throw new Error((await r.text()).trim() || r.status + " " + r.statusText);
  };
  const act = (work, done) => work.then(() => location.reload(), (e) => say(done + ": " + e.message, true));

  const mkdir = document.getElementById("mkdir");
  if (mkdir) {
    mkdir.addEventListener("click", () => {
      const name = prompt("New folder name:");
      if (name) act(send("MKCOL", urlOf(name) + "/"), "Could not make the folder");
    });
  }
  body.addEventListener("click", (e) => {
    const button = e.target.closest("button[data-act]");
    if (!button) return;
    const tr = button.closest("tr");
    const name = tr.dataset.name;
    const folder = tr.dataset.dir === "1";
    if (button.dataset.act === "delete") {
      if (confirm("Delete " + name + (folder ? "/ (it must be empty)" : "") + "?")) {
        act(send("DELETE", urlOf(name)), "Could not delete " + name);
      }
    } else {
      const to = prompt("Rename " + name + " to:", name);
      if (to && to !== name) {
        act(send("MOVE", urlOf(name), { Destination: urlOf(to) }), "Could not rename " + name);
      }
    }
  });

  const form = document.getElementById("upload");
  if (!form) return;
  const input = form.querySelector("input[type=file]");
  const bar = form.querySelector("progress");
  const put = (file) => new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("PUT", urlOf(file.name));
    if (csrf) xhr.setRequestHeader("X-CSRF-Token", csrf);
    xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.value = e.loaded / e.total; };
    xhr.onload = () => xhr.status < 300 ? resolve() : reject(new Error(xhr.responseText.trim() || String(xhr.status)));
    xhr.onerror = () => reject(new Error("the connection failed"));
    xhr.send(file);
  });
  const upload = async (files) => {
    const list = [...files];
    if (list.length === 0) return say("Choose a file first.", true);
    const names = new Set(rows().map((r) => r.dataset.name));
    const clash = list.filter((f) => names.has(f.name)).map((f) => f.name);
    if (clash.length > 0 && !confirm("Replace " + clash.join(", ") + "?")) return;
    bar.hidden = false;
    for (const [i, file] of list.entries()) {
      say("Uploading " + file.name + " (" + (i + 1) + " of " + list.length + ")…");
      bar.value = 0;
      try {
        await put(file);
      } catch (e) {
        bar.hidden = true;
        return say("Could not upload " + file.name + ": " + e.message, true);
      }
    }
    location.reload();
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    upload(input.files);
  });
  for (const target of [document.body, form]) {
    target.addEventListener("dragover", (e) => {
      e.preventDefault();
      form.classList.add("over");
    });
  }
  document.body.addEventListener("dragleave", (e) => {
    if (e.target === document.body) form.classList.remove("over");
  });
  document.body.addEventListener("drop", (e) => {
    e.preventDefault();
    form.classList.remove("over");
    if (e.dataTransfer && e.dataTransfer.files.length > 0) upload(e.dataTransfer.files);
  });
})();
`;
