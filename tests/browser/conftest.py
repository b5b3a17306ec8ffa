"""Real-browser fixtures: Debian's Chromium driven by Playwright (never `playwright
install`), the demo page served by real server processes, and a screenshot of every
open page when a test fails.

`make test` installs Chromium when it is missing. Without it these tests skip, except
under CI (`CI=1`, `true` or `yes`), where a missing browser fails them (as a missing
PostgreSQL does).

Every wait on the page is for a condition, bounded by `WAIT_MS` (10 s or more): the bound
ends a test that would hang under load; it is no speed target (latency is measured in
`bench/`).
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from playwright.async_api import (
    Browser,
    BrowserContext,
    Locator,
    Page,
    WebSocket,
    async_playwright,
    expect,
)

from tests.netcut import Netcut
from tests.support import ServerProcess, User, running, skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Small enough that a test can fill the cap and so count the sockets the server holds.
WS_CAP = 3
WAIT_MS = 15_000
LIVE_TIMEOUT_MS = WAIT_MS
# Every `expect(...)` without its own timeout waits this long (Playwright's default is 5 s).
expect.set_options(timeout=WAIT_MS)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    # Keeps each phase's report on the item, so fixtures can tell a failed test at teardown.
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        skip_or_fail(f"no Chromium at {CHROMIUM}; `make test` installs it (apt-get install chromium)")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        await launched.close()


def start_servers(pg_url: str, artifacts_dir: Path, count: int, name: str) -> list[ServerProcess]:
    """Server processes on one database, each allowing the others' pages as origins
    (not started yet: start them with `running()`)."""
    servers = [
        ServerProcess(
            {"DATABASE_URL": pg_url, "MAX_STREAMS_PER_USER": str(WS_CAP)}, artifacts_dir, f"{name}{i}"
        )
        for i in range(count)
    ]
    origins = ",".join(server.url for server in servers)
    for server in servers:
        server.env["CORS_ORIGINS"] = origins
    return servers


@pytest.fixture(scope="module")
async def servers(pg_url: str, artifacts_dir: Path) -> AsyncIterator[list[ServerProcess]]:
    """Two server processes on this module's PostgreSQL database."""
    async with running(*start_servers(pg_url, artifacts_dir, 2, "browser")) as started:
        yield started


@pytest.fixture
async def cut(servers: list[ServerProcess]) -> AsyncIterator[Netcut]:
    """The first server behind a cuttable link (a new origin per test: nothing stored yet)."""
    async with Netcut(servers[0].port) as proxy:
        yield proxy


@pytest.fixture
async def api(servers: list[ServerProcess], user: User) -> AsyncIterator[httpx.AsyncClient]:
    """The user's REST view of the server (the second one, around the cut)."""
    async with httpx.AsyncClient(base_url=servers[1].url, headers=user.headers) as client:
        yield client


@dataclass
class Tab:
    """One page of the demo, with the sockets it opened and what it logged."""

    page: Page
    name: str
    sockets: list[WebSocket] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def open_sockets(self) -> list[WebSocket]:
        return [ws for ws in self.sockets if not ws.is_closed()]

    async def role(self) -> str | None:
        return await self.page.locator("#app").get_attribute("data-role")

    def row(self, title: str) -> Locator:
        exact = re.compile(f"^{re.escape(title)}$")
        return self.page.locator("#tasks li", has=self.page.locator(".title", has_text=exact))

    async def until_live(self, timeout: float = LIVE_TIMEOUT_MS) -> None:
        await expect(self.page.locator("#app")).to_have_attribute("data-state", "live", timeout=timeout)

    async def is_live(self) -> bool:
        """Whether the page says it is live right now (no waiting)."""
        return await self.page.locator("#app").get_attribute("data-state") == "live"

    async def expect_titles(self, titles: list[str], timeout: float = WAIT_MS) -> None:
        """The list shows exactly these titles, in this order."""
        await expect(self.page.locator("#tasks li .title")).to_have_text(titles, timeout=timeout)


class Browsing:
    """Devices (browser contexts) and tabs (pages) opened by one test."""

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.contexts: list[BrowserContext] = []
        self.tabs: list[Tab] = []

    async def device(self, token: str | None = None) -> BrowserContext:
        """A browser profile; `token` is handed over as the host page's `window.tasksyncToken`."""
        context = await self.browser.new_context(viewport={"width": 900, "height": 700})
        if token is not None:
            await context.add_init_script(f"window.tasksyncToken = {json.dumps(token)};")
        self.contexts.append(context)
        return context

    async def tab(self, context: BrowserContext, server: ServerProcess, *, live: bool = True) -> Tab:
        page = await context.new_page()
        tab = Tab(page, f"tab{len(self.tabs) + 1}")
        page.on("websocket", lambda ws: tab.sockets.append(ws))
        page.on("console", lambda message: tab.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: tab.console.append(f"pageerror: {error}"))
        self.tabs.append(tab)
        await page.goto(server.url + "/")
        if live:
            await tab.until_live()
        return tab

    async def save_evidence(self, folder: Path, test_name: str) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^\w.-]+", "_", test_name)
        for tab in self.tabs:
            if tab.page.is_closed():
                continue
            await tab.page.screenshot(path=folder / f"{stem}-{tab.name}.png", full_page=True)
            (folder / f"{stem}-{tab.name}.console.txt").write_text("\n".join(tab.console))

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()


async def three_tabs(browsing: Browsing, servers: list[ServerProcess], user: User) -> tuple[Tab, Tab, Tab]:
    """Two tabs of one profile on the first server, one tab of another device on the second."""
    laptop = await browsing.device(user.token)
    first, second = await browsing.tab(laptop, servers[0]), await browsing.tab(laptop, servers[0])
    phone = await browsing.device(user.token)
    return first, second, await browsing.tab(phone, servers[1])


@pytest.fixture
async def browsing(
    browser: Browser, request: pytest.FixtureRequest, artifacts_dir: Path
) -> AsyncIterator[Browsing]:
    """Opens devices and tabs; on a failed test, saves a screenshot and the console of each tab."""
    session = Browsing(browser)
    yield session
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        await session.save_evidence(artifacts_dir / "screenshots", request.node.name)
    await session.close()
