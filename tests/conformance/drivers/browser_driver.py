"""The browser client under the scenarios: each device is a Playwright browser context
(its own IndexedDB, Web Locks and BroadcastChannel) in Debian's Chromium, whose tabs
open a document of the device's proxy origin (the client package's `package.json`,
which the server serves at `/client/`) and drive a `LiveStore`, imported from the
module the server serves there, through `page.evaluate`
(tests/conformance/drivers/device.js, answered by the browser itself).

The document comes from the server, not from `context.route`: Chromium lets a page
open a socket to a loopback address only if the page itself was loaded from one.

Closing the sending tab mid-flush: a second tab of the same context is opened (it
follows the leader), then the leader tab, the one sending the queue, is closed; the
follower takes the lock and the queue over.
"""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, BrowserContext, Page, Route

from tests.conformance.drivers.base import STEP_TIMEOUT, DeviceState
from tests.support import wait_until

HARNESS = Path(__file__).with_name("device.js")
# Any document of the origin will do; this one is small and rendered, not downloaded.
DOCUMENT = "/client/package.json"
STEP_MS = int(STEP_TIMEOUT * 1000)


class BrowserDevice:
    """One browser profile: its tabs, of which one (`active`) is driven."""

    def __init__(self, name: str, url: str, token: str, context: BrowserContext) -> None:
        self.name = name
        self.url = url
        self.token = token
        self.context = context
        self.tabs: list[Page] = []
        self.console: dict[int, list[str]] = {}
        # Reports received by tabs closed since, kept so that the device's count holds.
        self._closed_reports: list[dict[str, Any]] = []
        self._closed_dropped: list[dict[str, Any]] = []

    @property
    def active(self) -> Page:
        return self.tabs[0]

    async def open_tab(self) -> Page:
        page = await self.context.new_page()
        lines = self.console.setdefault(id(page), [])
        page.on("console", lambda message: lines.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: lines.append(f"pageerror: {error}"))
        page.set_default_timeout(STEP_MS)
        answer = await page.goto(self.url + DOCUMENT)
        assert answer is not None and answer.ok, f"{self.name} could not open {DOCUMENT}"
        await page.evaluate(
            "async (token) => (await import('/conformance/device.js')).openDevice(token)", self.token
        )
        self.tabs.append(page)
        return page

    async def _call(self, method: str, *args: Any) -> Any:
        return await self.active.evaluate(
            "([method, args]) => window.device[method](...args)", [method, list(args)]
        )

    async def create(self, fields: dict[str, Any]) -> str:
        task_id: str = await self._call("create", fields)
        return task_id

    async def update(self, task_id: str, fields: dict[str, Any]) -> None:
        await self._call("update", task_id, fields)

    async def replace(self, task_id: str, fields: dict[str, Any]) -> None:
        await self._call("replace", task_id, fields)

    async def complete(self, task_id: str, completed: bool) -> None:
        await self._call("complete", task_id, completed)

    async def delete(self, task_id: str) -> None:
        await self._call("delete", task_id)

    async def keep_theirs(self, key: str) -> None:
        await self._call("keepTheirs", key)

    async def use_mine(self, key: str) -> None:
        await self._call("useMine", key)

    async def state(self) -> DeviceState:
        raw: dict[str, Any] = await self._call("state")
        tasks = {
            task_id: {
                name: task.get(name) for name in ("title", "description", "completed", "due_date", "version")
            }
            for task_id, task in raw["tasks"].items()
        }
        return DeviceState(
            tasks=tasks,
            conflicts=raw["conflicts"],
            reported=self._closed_reports + raw["reported"],
            dropped=self._closed_dropped + raw["dropped"],
            seq=raw["seq"],
            pending=raw["pending"],
            connected=raw["connected"],
            errors=raw["errors"],
        )

    async def flushed(self, timeout: float) -> None:
        await self._call("flushed", int(timeout * 1000))

    async def prepare_handover(self) -> None:
        follower = await self.open_tab()
        await wait_until(
            lambda: self._role(follower, "follower"),
            timeout=STEP_TIMEOUT,
            message=f"the second tab of {self.name} does not follow the first",
        )

    async def handover(self) -> None:
        leader: Page | None = None
        for tab in self.tabs:
            if await self._role(tab, "leader"):
                leader = tab
        assert leader is not None, f"no tab of {self.name} holds the queue"
        raw: dict[str, Any] = await leader.evaluate("() => window.device.state()")
        self._closed_reports += raw["reported"]
        self._closed_dropped += raw["dropped"]
        self.tabs.remove(leader)
        await leader.close()
        await wait_until(
            lambda: self._role(self.active, "leader"),
            timeout=STEP_TIMEOUT,
            message=f"no tab of {self.name} took the queue over",
        )

    async def _role(self, page: Page, role: str) -> bool:
        found: str | None = await page.evaluate("() => window.device.store.role")
        return found == role

    async def close(self) -> None:
        await self.context.close()


class BrowserDriver:
    """Devices of the browser client for one user, each a context of `browser`."""

    name = "browser"

    def __init__(self, browser: Browser, token: str, evidence: Path) -> None:
        self.browser = browser
        self.token = token
        self.evidence = evidence
        self.devices: list[BrowserDevice] = []

    async def open(self, name: str, url: str) -> BrowserDevice:
        context = await self.browser.new_context()
        await context.route(f"{url}/conformance/{HARNESS.name}", _serve_harness)
        device = BrowserDevice(name, url, self.token, context)
        self.devices.append(device)
        await device.open_tab()
        return device

    async def close(self) -> None:
        await asyncio.gather(*(device.close() for device in self.devices), return_exceptions=True)

    async def save_evidence(self, test_name: str) -> None:
        self.evidence.mkdir(parents=True, exist_ok=True)
        stem = re.sub(r"[^\w.-]+", "_", test_name)
        for device in self.devices:
            for number, page in enumerate(device.tabs, 1):
                name = f"{stem}-{device.name}-tab{number}"
                if not page.is_closed():
                    await page.screenshot(path=self.evidence / f"{name}.png")
                (self.evidence / f"{name}.console.txt").write_text(
                    "\n".join(device.console.get(id(page), []))
                )
            try:
                state = (await device.state()).__dict__
            except Exception as exc:  # a crashed page is evidence too
                state = {"error": repr(exc)}
            (self.evidence / f"{stem}-{device.name}.state.json").write_text(
                json.dumps(state, indent=2, default=str)
            )


async def _serve_harness(route: Route) -> None:
    await route.fulfill(body=HARNESS.read_bytes(), content_type="text/javascript")
