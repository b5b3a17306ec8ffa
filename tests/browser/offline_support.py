"""Helpers for the offline tests: demo tabs opened through a `Netcut` proxy (so the test
can cut the page's network for real), and the server's own view of what was written.
"""

from __future__ import annotations

from typing import Any

import httpx
from playwright.async_api import BrowserContext, expect

from tests.browser.conftest import LIVE_TIMEOUT_MS, Browsing, Tab

# Back online, the socket reconnects with backoff (up to 15 s after a long outage) and
# the queue's own retry waits up to 10 s: bounds to end a hung test, not timings.
RECOVERY_MS = 30_000


async def tab_at(browsing: Browsing, context: BrowserContext, url: str, *, live: bool = True) -> Tab:
    """A demo tab loaded from `url` (a proxy's), recorded like `Browsing.tab`'s."""
    page = await context.new_page()
    tab = Tab(page, f"tab{len(browsing.tabs) + 1}")
    page.on("websocket", lambda ws: tab.sockets.append(ws))
    page.on("console", lambda message: tab.console.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: tab.console.append(f"pageerror: {error}"))
    browsing.tabs.append(tab)
    await page.goto(url + "/")
    if live:
        await tab.until_live()
    return tab


async def until_offline_ready(tab: Tab) -> None:
    """The service worker holds the page and its modules: it can open with no network."""
    await tab.page.evaluate("navigator.serviceWorker.ready.then(() => true)")


async def until_offline(tab: Tab) -> None:
    app = tab.page.locator("#app")
    await expect(app).not_to_have_attribute("data-state", "live", timeout=LIVE_TIMEOUT_MS)


async def expect_waiting(tab: Tab, count: int, timeout: float = LIVE_TIMEOUT_MS) -> None:
    """The page counts `count` changes waiting (0: the line is gone, no task marked)."""
    await expect(tab.page.locator("#app")).to_have_attribute("data-pending", str(count), timeout=timeout)
    line = tab.page.locator("#outbox")
    if count:
        await expect(line).to_be_visible()
    else:
        await expect(line).to_be_hidden()
        await expect(tab.page.locator("#tasks li.pending")).to_have_count(0)


async def add_task(tab: Tab, title: str) -> None:
    """Type a new task and add it; returns once the page shows it (it is queued by then)."""
    await tab.page.fill("#new-title", title)
    await tab.page.click("#add button")
    await tab.row(title).wait_for()


async def rename(tab: Tab, title: str, new_title: str) -> None:
    await tab.row(title).locator(".title").click()
    await tab.page.locator(".title-edit").fill(new_title)
    await tab.page.keyboard.press("Enter")


async def server_titles(api: httpx.AsyncClient) -> list[str]:
    """The titles as the server has them, newest first (the page's default order)."""
    items = (await api.get("/api/tasks", params={"limit": 500})).json()["items"]
    return [task["title"] for task in items]


async def server_tasks(api: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    items = (await api.get("/api/tasks", params={"limit": 500})).json()["items"]
    return {task["title"]: task for task in items}


async def head_seq(api: httpx.AsyncClient) -> int:
    seq: int = (await api.get("/api/tasks", params={"limit": 1})).json()["seq"]
    return seq


async def events_since(api: httpx.AsyncClient, since: int) -> list[dict[str, Any]]:
    body = (await api.get("/api/changes", params={"since": since, "limit": 1000})).json()
    events: list[dict[str, Any]] = body["events"]
    return events
