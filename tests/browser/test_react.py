"""`useLiveTasks` (`tasksync/react`) rendered by React in real Chromium, against a real
server: the component shows the store's filtered, sorted list and connection state, and
re-renders when another device writes (REST calls from the test) and when the page
writes itself.

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
  return h("section", { id: "app", "data-state": state, "data-pending": String(pending) },
    pending > 0 ? h("p", { id: "waiting" }, `${pending} changes waiting`) : null,
    h("ul", { id: "tasks" }, tasks.map((task) =>
      h("li", { key: task.id, onClick: () => store.toggle(task.id) },
        h("span", { className: "title" }, task.title)))));
}

const client = new TasksyncClient({ token: window.tasksyncToken, baseUrl: window.tasksyncApi });
const store = (window.store = new LiveStore(client));
createRoot(document.getElementById("root")).render(h(PendingTasks, { store }));
await store.start();
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


async def react_tab(browsing: Browsing, site: StaticFiles, api_server: ServerProcess, user: User) -> Tab:
    context = await browsing.device(user.token)
    await context.add_init_script(f"window.tasksyncApi = {json.dumps(api_server.url)};")
    page = await context.new_page()
    tab = Tab(page, f"tab{len(browsing.tabs) + 1}")
    page.on("console", lambda message: tab.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: tab.console.append(f"pageerror: {error}"))
    browsing.tabs.append(tab)
    await page.goto(f"{site.url}/")
    return tab


async def test_use_live_tasks_renders_the_list_and_another_devices_writes(
    browsing: Browsing,
    app_site: StaticFiles,
    api_server: ServerProcess,
    user: User,
    api: httpx.AsyncClient,
) -> None:
    alpha = (await api.post("/api/tasks", json={"title": "Alpha"})).json()
    tab = await react_tab(browsing, app_site, api_server, user)
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
