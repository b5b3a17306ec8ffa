"""`tasksync/react` rendered by React in real Chromium, against a real server: the hooks
show the store's filtered, sorted list and connection state, and re-render when another
device writes (REST calls from the test) and when the page writes itself; under
`<TasksyncProvider>` (StrictMode) the actions settle with the server's answer, a
refused write is listed as dropped, `useTask` has its own pending and conflict state,
and another user signing in gets a store of their own, never shown the previous user's
tasks.

React is npm's (react and react-dom, exact versions in `ts-consumer/package-lock.json`,
installed by `make pytest`), not a CDN's. Its npm builds are CommonJS, so the test hands
them to the page as one ES module that defines each file as a function with `module`,
`exports` and `require` (what a bundler does), plus an import map for `react` and
`react-dom/client`. The client is the npm package as it ships: `npm pack` of
`clients/js`, unpacked, imported as `tasksync` and `tasksync/react` (the import map
again). A tiny test-only static server on another port serves the page, React and the
package (the app's own origin, as a React app would be deployed); the API is a real
server that lists that origin in `CORS_ORIGINS`.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import threading
from collections.abc import AsyncIterator, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import Browsing, Tab
from tests.support import ServerProcess, User, free_port, running, skip_or_fail

MODULES = Path(__file__).resolve().parent / "ts-consumer" / "node_modules"
CLIENT_DIR = Path(__file__).resolve().parents[2] / "clients" / "js"
# The CommonJS files of React's development builds, by the name they are required as.
REACT_FILES = {
    "react": "react/cjs/react.development.js",
    "scheduler": "scheduler/cjs/scheduler.development.js",
    "react-dom": "react-dom/cjs/react-dom.development.js",
    "react-dom/client": "react-dom/cjs/react-dom-client.development.js",
}

PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>useLiveTasks</title><link rel="icon" href="data:,">
<script type="importmap">
{"imports": {"react": "/vendor/react.js", "react-dom/client": "/vendor/react-dom-client.js",
  "tasksync": "/tasksync/tasksync.js", "tasksync/react": "/tasksync/react.js"}}
</script>
<script type="module" src="/app.js"></script>
</head><body><div id="root"></div></body></html>
"""

# The README's component, without JSX (no build step in the test either).
APP = """
import { createElement as h } from "react";
import { createRoot } from "react-dom/client";
import { LiveStore, TasksyncClient } from "tasksync";
import { useLiveTasks } from "tasksync/react";

window.renders = 0;
function PendingTasks({ store }) {
  window.renders++;
  const { tasks, state, pending } = useLiveTasks(store, { status: "pending", sort: "title", order: "asc" });
  return h("section", { id: "app", "data-state": state, "data-pending": String(pending.length) },
    pending.length > 0 ? h("p", { id: "waiting" }, `${pending.length} changes waiting`) : null,
    h("ul", { id: "tasks" }, tasks.map((task) =>
      h("li", { key: task.id, onClick: () => store.complete(task.id, !task.completed) },
        h("span", { className: "title" }, task.title)))));
}

const client = new TasksyncClient({ token: window.tasksyncToken, baseUrl: window.tasksyncApi });
const store = (window.store = new LiveStore(client));
createRoot(document.getElementById("root")).render(h(PendingTasks, { store }));
await store.start();
"""


# An app that makes its own store: once at module scope, started by an effect and closed
# by its cleanup (React runs both twice in development), with the hooks' loading state,
# error, per-task pending flag and conflicts in the markup.
# `window.seen` records what was ever rendered, for the states that pass too quickly
# to wait for.
STRICT_APP = """
import { StrictMode, createElement as h, useEffect } from "react";
import { createRoot } from "react-dom/client";
import { LiveStore, TasksyncClient } from "tasksync";
import { useLiveTasks, useTask } from "tasksync/react";

const client = new TasksyncClient({ token: window.tasksyncToken, baseUrl: window.tasksyncApi });
const store = (window.store = new LiveStore(client, { startTimeout: window.startTimeout }));
window.seen = { loading: [], pending: [], errors: [] };

function Detail({ id }) {
  const { task, isPending, conflicts } = useTask(store, id);
  if (!task) return null;
  const counts = { "data-pending": String(isPending), "data-conflicts": String(conflicts.length) };
  return h("p", { id: "detail", ...counts }, task.title);
}

function App() {
  useEffect(() => {
    store.start().catch(() => {}); // the hook's `error` shows why
    return () => store.close();
  }, []);
  const { tasks, isLoading, error, state, conflicts, isPending } =
    useLiveTasks(store, { sort: "title", order: "asc" });
  window.seen.loading.push(isLoading);
  if (error) window.seen.errors.push(error.message);
  for (const task of tasks) if (isPending(task.id)) window.seen.pending.push(task.title);
  return h("section", { id: "app", "data-state": state, "data-loading": String(isLoading),
      "data-conflicts": String(conflicts.length) },
    error ? h("p", { id: "error", role: "alert" }, error.message) : null,
    h("ul", { id: "tasks" }, tasks.map((task) =>
      h("li", { key: task.id, "data-pending": String(isPending(task.id)) },
        h("span", { className: "title" }, task.title)))),
    tasks.length > 0 ? h(Detail, { id: tasks[tasks.length - 1].id }) : null);
}

createRoot(document.getElementById("root")).render(h(StrictMode, null, h(App)));
"""


# The provider path: `<TasksyncProvider>` under StrictMode makes the store of whoever's
# token it is given; `window.signIn(token)` hands it another. Every render notes whose
# token it was rendered for and the titles it showed (`window.seen`), and every store it
# was given (`window.stores`); `window.actions` are the hooks' actions.
PROVIDER_APP = """
import { StrictMode, createElement as h, useState } from "react";
import { createRoot } from "react-dom/client";
import { TasksyncProvider, useLiveTasks, useTask, useTaskActions, useTasksync } from "tasksync/react";

window.seen = [];
window.stores = [];
const subOf = (token) => JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/"))).sub;

function Detail({ id }) {
  const { task, isPending, pending, conflicts } = useTask(id);
  if (!task) return null;
  return h("p", { id: "detail", "data-pending": String(isPending), "data-writes": String(pending.length),
    "data-conflicts": String(conflicts.length) }, task.title);
}

function Tasks({ user }) {
  const store = useTasksync();
  if (store && !window.stores.includes(store)) window.stores.push(store);
  const { tasks, state, isLoading, pending, conflicts, dropped } =
    useLiveTasks({ sort: "title", order: "asc" });
  window.actions = useTaskActions();
  window.seen.push({ user, titles: tasks.map((task) => task.title) });
  return h("section", { id: "app", "data-user": user, "data-state": state, "data-loading": String(isLoading),
      "data-pending": String(pending.length), "data-conflicts": String(conflicts.length) },
    h("ul", { id: "tasks" }, tasks.map((task) =>
      h("li", { key: task.id }, h("span", { className: "title" }, task.title)))),
    h("ul", { id: "dropped" }, dropped.map((write) =>
      h("li", { key: write.key, "data-reason": write.reason }, write.error.message))),
    tasks.length > 0 ? h(Detail, { id: tasks[0].id }) : null);
}

function Root() {
  const [token, setToken] = useState(window.tasksyncToken);
  window.signIn = setToken;
  const options = { startTimeout: window.startTimeout };
  return h(TasksyncProvider, { token, baseUrl: window.tasksyncApi, options },
    h(Tasks, { user: token ? subOf(token) : "" }));
}

createRoot(document.getElementById("root")).render(h(StrictMode, null, h(Root)));
"""


def cjs_bundle() -> str:
    """React's CommonJS files as one ES module exporting `require`."""
    definitions = ",\n".join(
        f"{json.dumps(name)}: function (module, exports, require) {{\n{(MODULES / path).read_text()}\n}}"
        for name, path in REACT_FILES.items()
    )
    return f"""const process = {{ env: {{ NODE_ENV: "development" }} }};
const definitions = {{
{definitions}
}};
const loaded = {{}};
export function require(name) {{
  if (!loaded[name]) {{
    const module = (loaded[name] = {{ exports: {{}} }});
    definitions[name](module, module.exports, require);
  }}
  return loaded[name].exports;
}}
"""


def facade(name: str) -> str:
    """An ES module re-exporting what `require(name)` exports (names asked of Node)."""
    node = shutil.which("node")
    if node is None:
        skip_or_fail("node (>= 20) is not on PATH")
    keys = subprocess.run(
        [node, "-e", f"console.log(JSON.stringify(Object.keys(require({json.dumps(name)}))))"],
        cwd=MODULES.parent,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    names = [key for key in json.loads(keys) if key.isidentifier()]
    return (
        f'import {{ require }} from "/vendor/cjs.js";\n'
        f"const m = require({json.dumps(name)});\nexport default m;\n"
        f"export const {{ {', '.join(names)} }} = m;\n"
    )


class StaticFiles:
    """A test-only HTTP server for the app: the page, React, and the package's files."""

    def __init__(self, files: dict[str, tuple[str, bytes]], package: Path) -> None:
        self.files = files
        self.port = free_port()

        served = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
                path = self.path.split("?")[0]
                module = package / path.removeprefix("/tasksync/")
                found: tuple[str, bytes] | None = served.files.get(path)
                if path.startswith("/tasksync/") and ".." not in path and module.is_file():
                    found = ("text/javascript", module.read_bytes())
                if found is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Type", found[0])
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(found[1])

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def unpacked_package(folder: Path) -> Path:
    """`npm pack` of clients/js, unpacked into `folder`: the package's root."""
    npm = shutil.which("npm")
    if npm is None:
        skip_or_fail("npm (Node >= 20) is not on PATH")
    packed = subprocess.run(
        [npm, "pack", CLIENT_DIR, "--json", "--pack-destination", folder],
        cwd=folder,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    with tarfile.open(folder / json.loads(packed.stdout)[0]["filename"]) as tarball:
        tarball.extractall(folder, filter="data")
    return folder / "package"


@pytest.fixture(scope="module")
def app_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaticFiles]:
    if not all((MODULES / path).exists() for path in REACT_FILES.values()):
        skip_or_fail("React is not installed: run `npm ci --prefix tests/browser/ts-consumer`")
    package = unpacked_package(tmp_path_factory.mktemp("package"))
    js = "text/javascript"
    site = StaticFiles(
        {
            "/": ("text/html", PAGE.encode()),
            "/app.js": (js, APP.encode()),
            "/strict/": ("text/html", PAGE.replace("/app.js", "/strict.js").encode()),
            "/strict.js": (js, STRICT_APP.encode()),
            "/provider/": ("text/html", PAGE.replace("/app.js", "/provider.js").encode()),
            "/provider.js": (js, PROVIDER_APP.encode()),
            "/vendor/cjs.js": (js, cjs_bundle().encode()),
            "/vendor/react.js": (js, facade("react").encode()),
            "/vendor/react-dom-client.js": (js, facade("react-dom/client").encode()),
        },
        package,
    )
    site.thread.start()
    yield site
    site.httpd.shutdown()
    site.httpd.server_close()


@pytest.fixture(scope="module")
async def api_server(pg_url: str, artifacts_dir: Path, app_site: StaticFiles) -> AsyncIterator[ServerProcess]:
    """The API, allowing the app's origin."""
    env = {"DATABASE_URL": pg_url, "CORS_ORIGINS": app_site.url}
    async with running(ServerProcess(env, artifacts_dir, "react")) as (server,):
        yield server


@pytest.fixture
async def api(api_server: ServerProcess, user: User) -> AsyncIterator[httpx.AsyncClient]:
    """Another device of the user: REST calls."""
    async with httpx.AsyncClient(base_url=api_server.url, headers=user.headers) as client:
        yield client


async def react_tab(
    browsing: Browsing,
    site: StaticFiles,
    api_url: str,
    user: User,
    path: str = "/",
    start_timeout: int = 15_000,
) -> Tab:
    context = await browsing.device(user.token)
    await context.add_init_script(
        f"window.tasksyncApi = {json.dumps(api_url)}; window.startTimeout = {start_timeout};"
    )
    page = await context.new_page()
    tab = Tab(page, f"tab{len(browsing.tabs) + 1}")
    page.on("console", lambda message: tab.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: tab.console.append(f"pageerror: {error}"))
    browsing.tabs.append(tab)
    await page.goto(f"{site.url}{path}")
    return tab


async def test_use_live_tasks_renders_the_list_and_another_devices_writes(
    browsing: Browsing,
    app_site: StaticFiles,
    api_server: ServerProcess,
    user: User,
    api: httpx.AsyncClient,
) -> None:
    alpha = (await api.post("/api/tasks", json={"title": "Alpha"})).json()
    tab = await react_tab(browsing, app_site, api_server.url, user)
    await tab.until_live()
    await tab.expect_titles(["Alpha"])

    # Another device writes: created, completed (out of the pending list), renamed.
    for title in ("Charlie", "Beta"):
        assert (await api.post("/api/tasks", json={"title": title})).status_code == 201
    await tab.expect_titles(["Alpha", "Beta", "Charlie"])
    done = await api.patch(f"/api/tasks/{alpha['id']}", json={"completed": True})
    assert done.status_code == 200
    await tab.expect_titles(["Beta", "Charlie"])

    # The page's own write shows at once, counted as waiting until the server answers.
    await tab.page.evaluate("store.create({ title: 'Aardvark' })")
    await tab.expect_titles(["Aardvark", "Beta", "Charlie"])
    await expect(tab.page.locator("#app")).to_have_attribute("data-pending", "0")
    titles = {task["title"] for task in (await api.get("/api/tasks")).json()["items"]}
    assert titles == {"Aardvark", "Alpha", "Beta", "Charlie"}

    # A click in the component writes through the store: Beta is done, on both devices.
    await tab.row("Beta").click()
    await tab.expect_titles(["Aardvark", "Charlie"])
    await expect(tab.page.locator("#app")).to_have_attribute("data-pending", "0")
    pending = (await api.get("/api/tasks", params={"status": "pending"})).json()["items"]
    assert sorted(task["title"] for task in pending) == ["Aardvark", "Charlie"]

    # Idle, it stays put: a snapshot that changed on every read would re-render forever.
    renders = await tab.page.evaluate("window.renders")
    await tab.page.wait_for_timeout(1000)
    assert await tab.page.evaluate("window.renders") == renders
    assert not [line for line in tab.console if line.startswith(("error", "pageerror"))], tab.console


async def test_under_strict_mode_the_hooks_show_loading_pending_and_conflicts(
    browsing: Browsing,
    app_site: StaticFiles,
    api_server: ServerProcess,
    user: User,
    api: httpx.AsyncClient,
) -> None:
    original = (await api.post("/api/tasks", json={"title": "Original"})).json()
    tab = await react_tab(browsing, app_site, api_server.url, user, "/strict/")
    # The effect started, closed and started the store again: it goes live all the same.
    await tab.until_live()
    await tab.expect_titles(["Original"])
    app = tab.page.locator("#app")
    await expect(app).to_have_attribute("data-loading", "false")
    seen = await tab.page.evaluate("window.seen")
    assert seen["loading"][0] is True and seen["errors"] == []

    # A write shows at once, flagged as waiting until the server has answered it.
    await tab.page.evaluate("store.create({ title: 'Mine' })")
    await tab.expect_titles(["Mine", "Original"])
    await expect(tab.row("Mine")).to_have_attribute("data-pending", "false")
    assert "Mine" in await tab.page.evaluate("window.seen.pending")

    # Renamed elsewhere while this page's editor still showed "Original": a conflict,
    # in the list's hook and in the task's own.
    renamed = await api.patch(f"/api/tasks/{original['id']}", json={"title": "Theirs"})
    assert renamed.status_code == 200
    await tab.expect_titles(["Mine", "Theirs"])
    await tab.page.evaluate(
        "([id]) => store.update(id, { title: 'Typed' }, { seen: { title: 'Original' } })", [original["id"]]
    )
    await expect(app).to_have_attribute("data-conflicts", "1")
    detail = tab.page.locator("#detail")  # useTask of the last task listed: this one
    await expect(detail).to_have_text("Theirs")
    await expect(detail).to_have_attribute("data-conflicts", "1")
    await expect(detail).to_have_attribute("data-pending", "false")
    conflicts = await tab.page.evaluate("store.conflicts.map((c) => [c.taskId, c.field, c.wanted])")
    assert conflicts == [[original["id"], "title", "Typed"]]
    # The browser logs the 409 itself; React would log a warning or error of its own.
    logged = [line for line in tab.console if line.startswith(("error", "warning", "pageerror"))]
    assert [line for line in logged if "status of 409" not in line] == [], tab.console


async def test_the_hook_says_why_when_the_api_cannot_be_reached(
    browsing: Browsing, app_site: StaticFiles, user: User
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    tab = await react_tab(browsing, app_site, nowhere, user, "/strict/", start_timeout=1_500)
    alert = tab.page.locator("#error")
    await expect(alert).to_contain_text(f"could not reach {nowhere}")
    app = tab.page.locator("#app")
    await expect(app).to_have_attribute("data-loading", "true")
    assert await app.get_attribute("data-state") in ("connecting", "offline")


# A project on `moduleResolution: node10` (older TypeScript setups, `module: commonjs`)
# reads no `exports` map: it finds `tasksync/react`'s types through `typesVersions` only.
NODE10_APP = """
import { LiveStore, TasksyncClient, type TaskEvent } from "tasksync";
import { useLiveTasks, useTask, type LiveTasks } from "tasksync/react";

const store = new LiveStore(new TasksyncClient({ baseUrl: "https://api.example.com", token: "t" }));
export function usePending(): LiveTasks {
  return useLiveTasks(store, { status: "pending" });
}
export const title = (id: string): string | undefined => useTask(store, id).task?.title;
export const seq = (event: TaskEvent): number => event.seq;
"""


def test_a_node10_typescript_project_finds_the_react_entry_points_types(tmp_path: Path) -> None:
    tsc = MODULES / ".bin" / "tsc"
    if not tsc.exists():
        skip_or_fail("TypeScript is not installed: run `npm ci --prefix tests/browser/ts-consumer`")
    project = tmp_path / "app"
    (project / "node_modules").mkdir(parents=True)
    shutil.move(unpacked_package(tmp_path), project / "node_modules" / "tasksync")
    (project / "node_modules" / "@types").symlink_to(MODULES / "@types")
    (project / "app.ts").write_text(NODE10_APP)
    options = {
        "strict": True,
        "noEmit": True,
        "target": "es2022",
        "module": "commonjs",
        "moduleResolution": "node10",
        "lib": ["es2022", "dom"],
        "types": [],
        "skipLibCheck": False,
    }
    (project / "tsconfig.json").write_text(json.dumps({"compilerOptions": options, "files": ["app.ts"]}))
    done = subprocess.run([tsc, "-p", project], cwd=project, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


async def test_under_the_provider_actions_settle_with_the_servers_answer_and_refusals_are_listed(
    browsing: Browsing,
    app_site: StaticFiles,
    api_server: ServerProcess,
    user: User,
    api: httpx.AsyncClient,
) -> None:
    original = (await api.post("/api/tasks", json={"title": "Original"})).json()
    tab = await react_tab(browsing, app_site, api_server.url, user, "/provider/")
    # StrictMode ran the provider's effect twice: one store, started, closed, started.
    await tab.until_live()
    await tab.expect_titles(["Original"])
    assert await tab.page.evaluate("window.stores.length") == 1

    # An action resolves once the server has applied the write, with the task it has.
    answer = await tab.page.evaluate("actions.create({ title: 'Applied' })")
    assert answer["status"] == "applied" and answer["task"]["title"] == "Applied"
    assert answer["task"]["version"] == 1
    await tab.expect_titles(["Applied", "Original"])

    # Refused for good: the action says so, and the hook lists it until dismissed.
    # (A NUL character, which only the server refuses.)
    answer = await tab.page.evaluate(
        "actions.create({ title: 'Refused', description: 'nul\\u0000' })"
        ".then((a) => [a.status, a.write.reason, a.error.status, a.error === a.write.error])"
    )
    assert answer == ["dropped", "rejected", 422, True]
    dropped = tab.page.locator("#dropped li")
    await expect(dropped).to_have_count(1)
    await expect(dropped).to_have_attribute("data-reason", "rejected")
    await tab.expect_titles(["Applied", "Original"])
    await tab.page.evaluate("actions.dismissDropped()")
    await expect(dropped).to_have_count(0)

    # A rename elsewhere while this page's editor showed "Original": the action's answer
    # is the conflict, which the task's own hook shows too.
    assert (await api.patch(f"/api/tasks/{original['id']}", json={"title": "Theirs"})).status_code == 200
    await tab.expect_titles(["Applied", "Theirs"])
    answer = await tab.page.evaluate(
        "([id]) => actions.update(id, { title: 'Mine' }, { seen: { title: 'Original' } })", [original["id"]]
    )
    assert answer["status"] == "conflict"
    assert [(c["taskId"], c["field"], c["wanted"], c["server"]) for c in answer["conflicts"]] == [
        (original["id"], "title", "Mine", "Theirs")
    ]
    app = tab.page.locator("#app")
    await expect(app).to_have_attribute("data-conflicts", "1")
    # Two fields, one of them in conflict: the other is sent again and applied, and the
    # answer, once that is in, is the conflict.
    again = await api.patch(f"/api/tasks/{original['id']}", json={"title": "Theirs again"})
    assert again.status_code == 200
    await tab.expect_titles(["Applied", "Theirs again"])
    answer = await tab.page.evaluate(
        "([id]) => actions.update(id, { title: 'Mine again', description: 'Agreed' },"
        " { seen: { title: 'Theirs' } })",
        [original["id"]],
    )
    assert answer["status"] == "conflict"
    assert [(c["field"], c["wanted"]) for c in answer["conflicts"]] == [("title", "Mine again")]
    server = (await api.get(f"/api/tasks/{original['id']}")).json()
    assert (server["title"], server["description"]) == ("Theirs again", "Agreed")
    await tab.page.evaluate("([id]) => actions.delete(id)", [original["id"]])
    await tab.expect_titles(["Applied"])

    # One task's own state: a write to the first task listed (the detail) and nothing else.
    applied = await tab.page.evaluate("window.stores[0].list()[0].id")
    detail = tab.page.locator("#detail")
    await expect(detail).to_have_attribute("data-conflicts", "0")
    answer = await tab.page.evaluate("([id]) => actions.complete(id)", [applied])
    assert answer["status"] == "applied" and answer["task"]["completed"] is True
    await expect(detail).to_have_attribute("data-pending", "false")
    await expect(detail).to_have_attribute("data-writes", "0")
    # The browser logs the 409 and the 422, and the store the refusal (no onDropped was
    # given); React would log a warning or error of its own.
    logged = [line for line in tab.console if line.startswith(("error", "warning", "pageerror"))]
    expected = ("status of 409", "status of 422", ": 422 invalid body")
    unexpected = [line for line in logged if not any(text in line for text in expected)]
    assert unexpected == [], tab.console


async def test_another_user_signing_in_gets_a_store_of_their_own_and_never_sees_the_first_users_tasks(
    browsing: Browsing,
    app_site: StaticFiles,
    api_server: ServerProcess,
    user: User,
    api: httpx.AsyncClient,
) -> None:
    other = User()
    assert (await api.post("/api/tasks", json={"title": "Alice's secret"})).status_code == 201
    async with httpx.AsyncClient(base_url=api_server.url, headers=other.headers) as other_api:
        assert (await other_api.post("/api/tasks", json={"title": "Bob's list"})).status_code == 201
    tab = await react_tab(browsing, app_site, api_server.url, user, "/provider/")
    await tab.until_live()
    await tab.expect_titles(["Alice's secret"])

    await tab.page.evaluate("([token]) => window.signIn(token)", [other.token])
    await expect(tab.page.locator("#app")).to_have_attribute("data-user", other.id)
    await tab.until_live()
    await tab.expect_titles(["Bob's list"])
    seen = await tab.page.evaluate("window.seen")
    shown_to_bob = {title for render in seen if render["user"] == other.id for title in render["titles"]}
    assert shown_to_bob == {"Bob's list"}
    # The first user's store was closed; the second user's is another store.
    states = await tab.page.evaluate("window.stores.map((store) => store.state)")
    assert states == ["closed", "live"]

    # Signing out: no store, nothing shown; back in, the first user's list is theirs again.
    await tab.page.evaluate("window.signIn(null)")
    await tab.expect_titles([])
    await expect(tab.page.locator("#app")).to_have_attribute("data-state", "closed")
    await tab.page.evaluate("([token]) => window.signIn(token)", [user.token])
    await tab.expect_titles(["Alice's secret"])
    await tab.until_live()
    states = await tab.page.evaluate("window.stores.map((store) => store.state)")
    assert states == ["closed", "closed", "live"]
