"""The React example app (`examples/react-vite`), built by Vite on the packed `tasksync`
package, in real Chromium against a real server: the list loads and follows another
client's writes, its own writes reach the server, and after one online visit it opens
with the API server and the app's own web server both stopped, with the stored tasks
and a write queued offline, which is sent once they are back.

The app is served as deployed: its `dist/` by a tiny static server on its own origin (a
port of its own, the same across restarts, so its service worker, IndexedDB and token
stay), the API by a real server that lists that origin in `CORS_ORIGINS`. The token and
the API's address are handed over as the app's README says (`window.tasksyncToken`,
`window.tasksyncApi`). `make pytest` builds `dist/` (`npm ci` and `npm run build` in the
example); without it these tests skip (and fail under CI).
"""

from __future__ import annotations

import functools
import json
import threading
from collections.abc import AsyncIterator, Callable
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import expect

from tests.browser.conftest import Browsing, Tab
from tests.browser.offline_support import RECOVERY_MS
from tests.support import ServerProcess, User, free_port, running, skip_or_fail, wait_until

DIST = Path(__file__).resolve().parents[2] / "examples" / "react-vite" / "dist"


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class StaticSite:
    """The built app on 127.0.0.1:`port`; stopped, its port refuses connections."""

    def __init__(self) -> None:
        self.port = free_port()
        self.httpd: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        handler = functools.partial(QuietHandler, directory=str(DIST))
        self.httpd = ThreadingHTTPServer(("127.0.0.1", self.port), handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()
            self.httpd = None


@pytest.fixture
async def site() -> AsyncIterator[StaticSite]:
    if not (DIST / "index.html").exists() or not (DIST / "sw.js").exists():
        skip_or_fail("the example app is not built: make examples/react-vite/dist/index.html")
    served = StaticSite()
    served.start()
    yield served
    served.stop()


@pytest.fixture
async def server(pg_url: str, artifacts_dir: Path, site: StaticSite) -> AsyncIterator[ServerProcess]:
    process = ServerProcess({"DATABASE_URL": pg_url, "CORS_ORIGINS": site.url}, artifacts_dir, "example")
    async with running(process):
        yield process


@pytest.fixture
async def api(server: ServerProcess, user: User) -> AsyncIterator[httpx.AsyncClient]:
    """Another client of the same user: REST calls from the test."""
    async with httpx.AsyncClient(base_url=server.url, headers=user.headers) as client:
        yield client


@pytest.fixture
def user() -> User:
    return User()


async def open_app(browsing: Browsing, user: User, server: ServerProcess, site: StaticSite) -> Tab:
    context = await browsing.device(user.token)
    await context.add_init_script(f"window.tasksyncApi = {json.dumps(server.url)};")
    page = await context.new_page()
    tab = Tab(page, f"tab{len(browsing.tabs) + 1}")
    page.on("console", lambda message: tab.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: tab.console.append(f"pageerror: {error}"))
    browsing.tabs.append(tab)
    await page.goto(site.url + "/")
    await tab.until_live()
    return tab


async def titles_on_server(api: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    response = await api.get("/api/tasks", params={"limit": 100})
    response.raise_for_status()
    return {task["title"]: task for task in response.json()["items"]}


async def until_on_server(
    api: httpx.AsyncClient, check: Callable[[dict[str, dict[str, Any]]], bool], message: str
) -> None:
    async def holds() -> bool:
        return bool(check(await titles_on_server(api)))

    await wait_until(holds, timeout=15, message=lambda: message)


async def test_the_list_loads_follows_other_clients_and_sends_its_own_writes(
    browsing: Browsing, user: User, server: ServerProcess, site: StaticSite, api: httpx.AsyncClient
) -> None:
    (await api.post("/api/tasks", json={"title": "Buy milk"})).raise_for_status()
    tab = await open_app(browsing, user, server, site)
    await tab.expect_titles(["Buy milk"])

    (await api.post("/api/tasks", json={"title": "Walk the dog"})).raise_for_status()
    await tab.expect_titles(["Buy milk", "Walk the dog"])

    page = tab.page
    await page.get_by_label("New task").fill("Call mum")
    await page.get_by_role("button", name="Add").click()
    await tab.expect_titles(["Buy milk", "Walk the dog", "Call mum"])
    await until_on_server(api, lambda tasks: "Call mum" in tasks, "the added task never reached the server")

    await tab.row("Buy milk").get_by_role("button", name="Rename").click()
    await page.get_by_label("Title").fill("Buy oat milk")
    await page.get_by_role("button", name="Save").click()
    # A click, not `check()`: the box shows the store's state, which changes a moment later.
    await tab.row("Walk the dog").get_by_label("Done").click()
    await expect(tab.row("Walk the dog").get_by_label("Done")).to_be_checked()
    await tab.row("Call mum").get_by_role("button", name="Delete").click()
    await tab.expect_titles(["Buy oat milk", "Walk the dog"])
    await until_on_server(
        api,
        lambda tasks: set(tasks) == {"Buy oat milk", "Walk the dog"} and tasks["Walk the dog"]["completed"],
        "the rename, the completion and the delete never all reached the server",
    )
    await expect(page.locator("#app")).to_have_attribute("data-pending", "0")


async def test_after_one_visit_the_app_opens_with_both_servers_stopped_and_sends_its_queue_later(
    browsing: Browsing, user: User, server: ServerProcess, site: StaticSite, api: httpx.AsyncClient
) -> None:
    (await api.post("/api/tasks", json={"title": "Buy milk"})).raise_for_status()
    tab = await open_app(browsing, user, server, site)
    await tab.expect_titles(["Buy milk"])
    page = tab.page
    # Installed means the app shell is cached (the worker's install step precaches it).
    await page.evaluate("navigator.serviceWorker.ready.then(() => true)")

    await server.stop()
    site.stop()
    await page.reload()
    await tab.expect_titles(["Buy milk"])
    await expect(page.locator("#app")).not_to_have_attribute("data-state", "live")

    await page.get_by_label("New task").fill("Written offline")
    await page.get_by_role("button", name="Add").click()
    await expect(tab.row("Written offline").locator(".pending")).to_be_visible()
    await expect(page.locator("#waiting")).to_contain_text("1 change waiting")

    # The queued write is stored, not only shown: a second offline reload still has it.
    await page.reload()
    await tab.expect_titles(["Buy milk", "Written offline"])
    await expect(tab.row("Written offline").locator(".pending")).to_be_visible()
    await expect(tab.row("Buy milk").locator(".pending")).to_have_count(0)

    site.start()
    await server.start()
    await tab.until_live(timeout=RECOVERY_MS)
    await expect(page.locator("#app")).to_have_attribute("data-pending", "0", timeout=RECOVERY_MS)
    await expect(tab.row("Written offline").locator(".pending")).to_have_count(0)
    await until_on_server(
        api, lambda tasks: set(tasks) == {"Buy milk", "Written offline"}, "the queued write was not sent once"
    )
