// @ts-check
/**
 * The demo page: a live task list on top of `LiveStore`.
 *
 * Where the token comes from, first match wins:
 *  1. the host page: `window.tasksyncToken`, a token or a function returning one (a
 *     Better Auth frontend sets `() => authClient.token().then((r) => r.data?.token)`);
 *  2. development mode: a user name, exchanged for a token at `POST /api/dev/token`;
 *  3. a pasted token, kept in this tab's sessionStorage.
 * Never the URL.
 *
 * Offline: a service worker (`/sw.js`) keeps the page and the modules, the store keeps
 * the list, the queued writes and the conflicts in IndexedDB; the page marks pending
 * tasks and counts the changes waiting. Edits of different fields on several devices
 * merge without a word; a field two devices set differently is shown as a conflict, with
 * the three values and a choice (docs/sync-model.md).
 */

import { AuthError, LiveStore, QuotaExceededError, TasksyncClient, tokenClaims } from "../tasksync.js";

/** @typedef {import("../tasksync.js").Task} Task */
/** @typedef {import("../tasksync.js").Change} Change */
/** @typedef {import("../tasksync.js").Conflict} Conflict */
/** @typedef {import("../tasksync.js").DroppedWrite} DroppedWrite */
/** @typedef {import("../tasksync.js").ConnectionState} ConnectionState */
/** @typedef {import("../tasksync.js").TokenProvider} TokenProvider */

const DEV_USER_KEY = "tasksync.devUser";
const TOKEN_KEY = "tasksync.token";
const VIEW_KEY = "tasksync.view";
const DEV_TOKEN_KEY = "tasksync.devToken";
const NOTICE_MS = 10_000;
const MAX_NOTICES = 4;

const devMode = document.querySelector('meta[name="tasksync-dev-mode"]')?.getAttribute("content") === "true";
const apiBase = new URL(".", document.baseURI);

/** @param {string} id */
function $(id) {
  const found = document.getElementById(id);
  if (!found) throw new Error(`#${id} is missing`);
  return found;
}

const app = $("app");
const list = /** @type {HTMLUListElement} */ ($("tasks"));
const conflictList = /** @type {HTMLUListElement} */ ($("conflicts"));
const notices = $("notices");
const sortSelect = /** @type {HTMLSelectElement} */ ($("sort"));

/** @type {LiveStore | null} */
let store = null;
/** @type {Map<string, HTMLLIElement>} */
const rows = new Map();
/** The conflicts shown, by key. @type {Map<string, HTMLLIElement>} */
const conflictRows = new Map();
const view = loadView();

/** The filter and sort last chosen in this browser. */
function loadView() {
  const view = { status: "all", sort: "created:desc" };
  try {
    const saved = JSON.parse(localStorage.getItem(VIEW_KEY) || "{}");
    const statuses = [...document.querySelectorAll('input[name="status"]')].map((r) => (/** @type {HTMLInputElement} */ (r)).value);
    if (statuses.includes(saved.status)) view.status = saved.status;
    if ([...sortSelect.options].some((o) => o.value === saved.sort)) view.sort = saved.sort;
  } catch {
    // unreadable: the defaults do
  }
  return view;
}

// ---- signing in ------------------------------------------------------------------

/** @returns {{provider: TokenProvider, hosted: boolean} | null} */
function tokenSource() {
  const hosted = /** @type {any} */ (window).tasksyncToken;
  if (hosted) return { provider: hosted, hosted: true };
  const devUser = devMode ? localStorage.getItem(DEV_USER_KEY) : null;
  if (devUser) return { provider: () => devToken(devUser), hosted: false };
  const pasted = sessionStorage.getItem(TOKEN_KEY);
  if (pasted) return { provider: pasted, hosted: false };
  return null;
}

/**
 * A development token; offline, the last one minted for this user (the page can open
 * and queue writes; the server checks the token once it is reachable again).
 * @param {string} user @returns {Promise<string | null>}
 */
async function devToken(user) {
  const kept = JSON.parse(localStorage.getItem(DEV_TOKEN_KEY) || "null");
  let response;
  try {
    response = await fetch(new URL("api/dev/token", apiBase), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ user }),
    });
  } catch (error) {
    if (kept?.user === user) return kept.token;
    throw error;
  }
  if (!response.ok) return null;
  const { token } = await response.json();
  localStorage.setItem(DEV_TOKEN_KEY, JSON.stringify({ user, token }));
  return token;
}

function showSignIn() {
  $("signin").hidden = false;
  $("workspace").hidden = true;
  $("dev-signin").hidden = !devMode;
  setConnection("closed", null);
}

async function connect() {
  store?.close();
  const source = tokenSource();
  if (!source) return showSignIn();
  $("signin").hidden = true;
  $("workspace").hidden = false;
  $("signout").hidden = source.hosted;
  const client = new TasksyncClient({ token: source.provider, baseUrl: apiBase });
  let started = false;
  store = new LiveStore(client, {
    onChange: (change) => render(change),
    onState: (state, detail) => setConnection(state, detail.role, detail.code),
    onDropped: (write, error) => showDropped(write, error),
    onPending: () => showPending(),
    onStorage: ({ reason }) => {
      const note = $("storage-note");
      note.textContent = `Changes are kept in this tab only and are lost if it closes before they are sent: ${reason}.`;
      note.hidden = false;
    },
    onSignedOut: () => signOut("Signed out in another tab.", { clear: false }),
    onResync: ({ reason, count }) =>
      notice("info", `Resynced (${resyncReasons[reason] ?? reason}): reloaded ${count} tasks from the server.`),
    onError: (error) => {
      // A refused start is told by its rejection, below.
      if (!(error instanceof AuthError)) notice("error", error.message);
      else if (started) signOut("Your session ended; sign in again.", { clear: false });
    },
  });
  store.subscribe(renderConflicts);
  try {
    await store.start();
  } catch (error) {
    // Anything else was shown by onError; after a timeout the store goes on trying.
    if (error instanceof AuthError) signOut("That token was not accepted.", { clear: false });
    return;
  }
  started = true;
  const user = client.userId ?? "?";
  $("who").textContent = `Signed in as ${user}`;
  app.dataset.user = user;
}

/**
 * Back to the sign-in form. `clear`: the user signed out, so this browser forgets their
 * tasks and queued writes; a session that ended keeps them for the next sign-in.
 * @param {string} [why] @param {{clear?: boolean}} [options]
 */
function signOut(why, { clear = true } = {}) {
  if (clear) void store?.signOut();
  else store?.close();
  store = null;
  localStorage.removeItem(DEV_USER_KEY);
  localStorage.removeItem(DEV_TOKEN_KEY);
  sessionStorage.removeItem(TOKEN_KEY);
  rows.clear();
  list.replaceChildren();
  renderConflicts();
  notices.replaceChildren();
  showSignIn();
  if (why) notice("error", why, $("signin"));
}

$("dev-signin").addEventListener("submit", (event) => {
  event.preventDefault();
  const user = /** @type {HTMLInputElement} */ ($("dev-user")).value.trim();
  if (!user) return;
  localStorage.setItem(DEV_USER_KEY, user);
  void connect();
});

$("token-signin").addEventListener("submit", (event) => {
  event.preventDefault();
  const input = /** @type {HTMLTextAreaElement} */ ($("token-input"));
  const token = input.value.trim().replace(/^Bearer\s+/i, "");
  if (!tokenClaims(token)) return notice("error", "That does not look like a JWT.", $("signin"));
  sessionStorage.setItem(TOKEN_KEY, token);
  input.value = "";
  void connect();
});

$("signout").addEventListener("click", () => {
  const waiting = store?.pending.length ?? 0;
  if (!waiting) return signOut();
  const text = `${waiting} ${waiting === 1 ? "change has" : "changes have"} not reached the server yet; signing out discards them.`;
  const item = notice("error", text, notices, [button("Sign out anyway", "primary", () => signOut())]);
  item.dataset.signout = "";
});

// ---- connection state and notices ---------------------------------------------

/** @type {Record<string, string>} */
const stateLabels = {
  live: "Live",
  connecting: "Connecting…",
  offline: "Offline — reconnecting…",
  resyncing: "Resyncing…",
  idle: "Not connected",
  closed: "Not connected",
};
/** @type {Record<string, string>} */
const roleLabels = {
  leader: "This tab holds the live connection for all tabs",
  follower: "Sharing the live connection of another tab",
  solo: "This tab has its own live connection",
};
/** @type {Record<string, string>} */
const resyncReasons = {
  server: "the server could not replay the missed changes",
  gap: "a change went missing",
  "since refused": "the server refused the resume point",
};

// After a 1012 the failed attempts that follow are the same restart, until live again.
let restarting = false;

/** @param {ConnectionState} state @param {string | null} role @param {number} [code] */
function setConnection(state, role, code) {
  if (code === 1012) restarting = true;
  else if (state === "live" || state === "closed") restarting = false;
  const badge = $("connection");
  badge.dataset.state = state;
  badge.textContent =
    restarting && (state === "offline" || state === "connecting") ? "Server restarting — reconnecting…" : stateLabels[state];
  $("role").textContent = role && state !== "closed" ? roleLabels[role] : "";
  app.dataset.state = state;
  app.dataset.role = role ?? "";
  showPending();
}

/** "offline — N changes waiting", or "saving N changes…" while they are being sent. */
function showPending() {
  const line = $("outbox");
  const waiting = store?.pending.length ?? 0;
  const offline = app.dataset.state !== "live";
  const changes = `${waiting} ${waiting === 1 ? "change" : "changes"}`;
  line.hidden = waiting === 0;
  line.textContent = offline ? `Offline — ${changes} waiting` : `Saving ${changes}…`;
  app.dataset.pending = String(waiting);
}

/**
 * @param {"info" | "error"} kind @param {string} text
 * @param {HTMLElement} [where] @param {HTMLElement[]} [actions]
 */
function notice(kind, text, where = notices, actions = []) {
  const item = document.createElement("div");
  item.className = `notice ${kind}`;
  item.setAttribute("role", kind === "info" ? "status" : "alert");
  const message = document.createElement("span");
  message.textContent = text;
  const close = button("Dismiss", "link", () => item.remove());
  item.append(message, ...actions, close);
  where.prepend(item);
  while (where.children.length > MAX_NOTICES) where.lastElementChild?.remove();
  if (kind === "info") setTimeout(() => item.remove(), NOTICE_MS);
  return item;
}

/** @param {string} label @param {string} className @param {() => void} onClick */
function button(label, className, onClick) {
  const b = document.createElement("button");
  b.type = "button";
  b.className = className;
  b.textContent = label;
  b.addEventListener("click", onClick);
  return b;
}

// ---- conflicts -------------------------------------------------------------------

/** @type {Record<string, string>} */
const fieldLabels = { title: "Title", description: "Description", completed: "Done", due_date: "Due date" };

/** A field's value as the page shows it. @param {string | null} field @param {unknown} value */
function shownValue(field, value) {
  if (field === "completed") return value ? "done" : "not done";
  if (field === "due_date") return typeof value === "string" ? formatDate(value) : "no date";
  return typeof value === "string" ? (value ? `“${value}”` : "(empty)") : String(value);
}

/**
 * Every open conflict, one row per task and field: what this device had, what its user
 * typed, what the other device has; "Keep theirs" or "Use mine". Rows are kept by key, so
 * a re-render never replaces a button under the pointer.
 */
function renderConflicts() {
  const open = store?.conflicts ?? [];
  const keys = new Set(open.map((c) => c.key));
  for (const [key, row] of conflictRows) {
    if (keys.has(key)) continue;
    row.remove();
    conflictRows.delete(key);
  }
  for (const conflict of open) {
    const row = conflictRows.get(conflict.key) ?? createConflictRow(conflict);
    updateConflictRow(row, conflict);
    if (!row.isConnected) conflictList.append(row);
  }
  $("conflicts-box").hidden = open.length === 0;
  app.dataset.conflicts = String(open.length);
}

/** @param {Conflict} conflict */
function createConflictRow(conflict) {
  const row = document.createElement("li");
  row.className = "conflict";
  row.dataset.key = conflict.key;
  row.dataset.field = conflict.field ?? "delete";
  row.dataset.task = conflict.taskId;
  const what = document.createElement("p");
  what.className = "what";
  const values = document.createElement("dl");
  for (const [name, label] of [["seen", "You had"], ["wanted", "You typed"], ["server", "Other device"]]) {
    const term = document.createElement("dt");
    term.textContent = label;
    const value = document.createElement("dd");
    value.className = name;
    values.append(term, value);
  }
  const key = conflict.key;
  const keep = button("Keep theirs", "keep-theirs", () => attempt(store?.keepTheirs(key) ?? Promise.resolve()));
  const mine = button("Use mine", "use-mine primary", () => attempt(store?.useMine(key) ?? Promise.resolve()));
  const actions = document.createElement("div");
  actions.className = "actions";
  actions.append(keep, mine);
  row.append(what, values, actions);
  conflictRows.set(key, row);
  return row;
}

/** @param {HTMLLIElement} row @param {Conflict} conflict */
function updateConflictRow(row, conflict) {
  const what = /** @type {HTMLElement} */ (row.querySelector(".what"));
  const [seen, wanted, server] = ["seen", "wanted", "server"].map((name) => /** @type {HTMLElement} */ (row.querySelector(`dd.${name}`)));
  if (conflict.field === null) {
    what.textContent = `You deleted “${conflict.server.title}”, which another device changed since.`;
    row.querySelector("dl")?.setAttribute("hidden", "");
    seen.textContent = shownValue("title", conflict.seen?.title ?? null);
    wanted.textContent = "deleted";
    server.textContent = shownValue("title", conflict.server.title);
    return;
  }
  const title = store?.get(conflict.taskId)?.title ?? "";
  what.textContent = `${fieldLabels[conflict.field]} of “${title}” was changed on another device too.`;
  seen.textContent = shownValue(conflict.field, conflict.seen);
  wanted.textContent = shownValue(conflict.field, conflict.wanted);
  server.textContent = shownValue(conflict.field, conflict.server);
}

/**
 * A queued write the server refused for good (`404` to an edit, or another `4xx`).
 * @param {DroppedWrite} write @param {import("../tasksync.js").TasksyncError} error
 */
function showDropped(write, error) {
  if (write.reason === "missing") {
    notice("error", "Not saved: that task was deleted elsewhere.");
    return;
  }
  const what = write.changes.title ? ` “${write.changes.title}”` : "";
  if (error instanceof QuotaExceededError) {
    const limit = error.limit === null ? "tasks" : `${error.limit.toLocaleString("en")} tasks`;
    const text = `You have reached the limit of ${limit}:${what || " the task"} was not saved. Delete a task to make room.`;
    notice("error", text).dataset.dropped = "quota";
    return;
  }
  const problem = error.problem?.errors?.map((/** @type {any} */ e) => `${e.field}: ${e.msg}`).join("; ");
  notice("error", `Not saved${what}: ${problem || error.problem?.detail || error.message}`);
}

/** Queue a write; only storage trouble can fail it here (the server's answer comes later). @param {Promise<unknown>} write */
function attempt(write) {
  write.catch((error) => notice("error", `Not saved: ${error instanceof Error ? error.message : error}`));
}

// ---- the list ----------------------------------------------------------------------

/** @param {Change} [change] */
function render(change) {
  if (!store) return;
  const [sort, order] = view.sort.split(":");
  const all = [...store.tasks.values()];
  const shown = store.list(/** @type {any} */ ({ status: view.status, sort, order }));
  for (const [id, row] of rows) {
    if (!store.tasks.has(id)) {
      row.remove();
      rows.delete(id);
    }
  }
  shown.forEach((task, index) => {
    const row = rows.get(task.id) ?? createRow(task.id);
    updateRow(row, task);
    if (list.children[index] !== row) list.insertBefore(row, list.children[index] ?? null);
  });
  const visible = new Set(shown.map((t) => t.id));
  for (const [id, row] of rows) if (!visible.has(id)) row.remove();
  if (change?.id && !change.echo) rows.get(change.id)?.classList.add("flash");

  const done = all.filter((t) => t.completed).length;
  for (const [key, count] of Object.entries({ all: all.length, pending: all.length - done, completed: done })) {
    const span = document.querySelector(`[data-count="${key}"]`);
    if (span) span.textContent = String(count);
  }
  const empty = $("empty");
  empty.hidden = shown.length > 0;
  empty.textContent = all.length === 0 ? "No tasks yet — add one above." : `Nothing ${view.status} here.`;
  $("seq").textContent = `seq ${store.seq}`;
  app.dataset.seq = String(store.seq);
}

/** @param {string} id */
function createRow(id) {
  const row = document.createElement("li");
  row.className = "task";
  row.dataset.id = id;
  const toggle = document.createElement("input");
  toggle.type = "checkbox";
  toggle.className = "toggle";
  toggle.addEventListener("change", () => {
    const completed = toggle.checked;
    toggle.checked = !completed; // the store's answer decides
    attempt(store?.complete(id, completed) ?? Promise.resolve());
  });
  const title = button("", "title", () => startEdit(row));
  title.title = "Click to edit";
  const due = document.createElement("span");
  due.className = "due";
  const remove = button("×", "delete", () => attempt(store?.delete(id) ?? Promise.resolve()));
  row.append(toggle, title, due, remove);
  row.addEventListener("animationend", () => row.classList.remove("flash"));
  rows.set(id, row);
  return row;
}

/** @param {HTMLLIElement} row @param {Task} task */
function updateRow(row, task) {
  const [toggle, title, due, remove] = /** @type {[HTMLInputElement, HTMLElement, HTMLElement, HTMLElement]} */ (
    /** @type {unknown} */ ([...row.children])
  );
  row.classList.toggle("done", task.completed);
  const pending = store?.isPending(task.id) ?? false;
  row.classList.toggle("pending", pending);
  row.title = pending ? "Not saved yet: waiting to reach the server" : "";
  row.dataset.version = String(task.version);
  toggle.checked = task.completed;
  toggle.setAttribute("aria-label", `Done: ${task.title}`);
  if (title instanceof HTMLButtonElement) title.textContent = task.title;
  remove.setAttribute("aria-label", `Delete “${task.title}”`);
  const overdue = task.due_date !== null && !task.completed && task.due_date < new Date().toISOString().slice(0, 10);
  due.textContent = task.due_date ? `due ${formatDate(task.due_date)}` : "";
  due.classList.toggle("overdue", overdue);
}

/** @param {string} date */
function formatDate(date) {
  const [y, m, d] = date.split("-").map(Number);
  return new Date(y, m - 1, d).toLocaleDateString(undefined, { month: "short", day: "numeric", year: "numeric" });
}

/**
 * Inline title editing. The edit is made when it is saved, but tested against the title
 * shown when editing started (`seen`): the user typed over that one, so a rename from
 * another device that arrives while the editor is open becomes a conflict instead of
 * being overwritten (docs/sync-model.md).
 * @param {HTMLLIElement} row
 */
function startEdit(row) {
  const id = row.dataset.id ?? "";
  const task = store?.get(id);
  const shown = row.querySelector(".title");
  if (!task || !shown) return;
  const seen = task.title;
  const input = document.createElement("input");
  input.className = "title-edit";
  input.value = seen;
  input.maxLength = 200;
  input.setAttribute("aria-label", "Title");
  let done = false;
  const finish = (/** @type {boolean} */ save) => {
    if (done) return;
    done = true;
    const title = input.value.trim();
    input.replaceWith(shown);
    const current = store?.get(id);
    if (current) shown.textContent = current.title;
    if (save && title && title !== seen) attempt(store?.update(id, { title }, { seen: { title: seen } }) ?? Promise.resolve());
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") finish(true);
    else if (event.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(true));
  shown.replaceWith(input);
  input.focus();
  input.select();
}

$("add").addEventListener("submit", (event) => {
  event.preventDefault();
  const title = /** @type {HTMLInputElement} */ ($("new-title"));
  const due = /** @type {HTMLInputElement} */ ($("new-due"));
  if (!store || !title.value.trim()) return;
  const fields = { title: title.value.trim(), due_date: due.value || null };
  title.value = "";
  due.value = "";
  title.focus();
  attempt(store.create(fields));
});

for (const radio of document.querySelectorAll('input[name="status"]')) {
  const input = /** @type {HTMLInputElement} */ (radio);
  input.checked = input.value === view.status;
  input.addEventListener("change", () => {
    view.status = input.value;
    saveView();
  });
}
sortSelect.value = view.sort;
sortSelect.addEventListener("change", () => {
  view.sort = sortSelect.value;
  saveView();
});

function saveView() {
  localStorage.setItem(VIEW_KEY, JSON.stringify(view));
  render();
}

// The page and its modules, kept for opening with no connection (not on plain http://
// other than localhost, where browsers have no service workers).
navigator.serviceWorker?.register(new URL("sw.js", apiBase)).catch((error) => console.warn("tasksync: no offline page:", error));

void connect();
