"""The React example app (`examples/react-vite`), built by Vite on the packed `tasksync`
package, in real Chromium against a real server: the list loads and follows another
client's writes, its own writes reach the server, and after one online visit two tabs
of it, live together, go on with the API server and the app's own web server both
stopped: three writes show as waiting in both, a reload shows the app with the stored
tasks and those writes, and once the servers are back each write is applied once.

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
from playwright.async_api import BrowserContext, expect

from tests.browser.conftest import Browsing, Tab
from tests.browser.offline_support import RECOVERY_MS, events_since
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


async def open_app(
    browsing: Browsing,
    user: User,
    server: ServerProcess,
    site: StaticSite,
    context: BrowserContext | None = None,
) -> Tab:
    """The app in a new tab: of a new device, or of `context` (another tab of one)."""
    if context is None:
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


async def test_two_tabs_stay_together_offline_and_after_a_reload_each_offline_write_is_applied_once(
    browsing: Browsing, user: User, server: ServerProcess, site: StaticSite, api: httpx.AsyncClient
) -> None:
    for title in ("Buy milk", "Walk the dog"):
        (await api.post("/api/tasks", json={"title": title})).raise_for_status()
    first = await open_app(browsing, user, server, site)
    second = await open_app(browsing, user, server, site, first.page.context)
    # Installed means the app shell is cached (the worker's install step precaches it).
    await first.page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    await second.page.get_by_label("New task").fill("Seen live")
    await second.page.get_by_role("button", name="Add").click()
    for tab in (first, second):
        await tab.expect_titles(["Buy milk", "Walk the dog", "Seen live"])
    await until_on_server(api, lambda tasks: "Seen live" in tasks, "the live write never reached the server")
    before = max((event["seq"] for event in await events_since(api, 0)), default=0)

    await server.stop()
    site.stop()
    page = first.page
    await expect(page.locator("#app")).not_to_have_attribute("data-state", "live", timeout=RECOVERY_MS)
    await page.get_by_label("New task").fill("Written offline")
    await page.get_by_role("button", name="Add").click()
    await first.row("Buy milk").get_by_role("button", name="Rename").click()
    await page.get_by_label("Title").fill("Buy oat milk")
    await page.get_by_role("button", name="Save").click()
    await first.row("Walk the dog").get_by_label("Done").click()
    shown = ["Buy oat milk", "Walk the dog", "Seen live", "Written offline"]
    for tab in (first, second):
        await tab.expect_titles(shown)
        await expect(tab.page.locator("#waiting")).to_contain_text("3 changes waiting")
        await expect(tab.row("Written offline").locator(".pending")).to_be_visible()
        await expect(tab.row("Walk the dog").get_by_label("Done")).to_be_checked()
        await expect(tab.row("Seen live").locator(".pending")).to_have_count(0)

    # The queued writes are stored, not only shown: an offline reload still has them.
    await page.reload()
    await first.expect_titles(shown)
    await expect(page.locator("#waiting")).to_contain_text("3 changes waiting")
    await expect(first.row("Buy oat milk").locator(".pending")).to_be_visible()

    site.start()
    await server.start()
    for tab in (first, second):
        await tab.until_live(timeout=RECOVERY_MS)
        await expect(tab.page.locator("#app")).to_have_attribute("data-pending", "0", timeout=RECOVERY_MS)
        await tab.expect_titles(shown)
    await until_on_server(
        api,
        lambda tasks: set(tasks) == set(shown) and tasks["Walk the dog"]["completed"],
        "the three offline writes did not all reach the server",
    )
    # Once each: one event per write in the server's change log, none twice.
    events = await events_since(api, before)
    made = sorted((event["type"], event["task"].get("title")) for event in events)
    assert made == [
        ("task.created", "Written offline"),
        ("task.updated", "Buy oat milk"),
        ("task.updated", "Walk the dog"),
    ], events
