"""The demo across a server restart: the page says so, comes back by itself and loses
no change made meanwhile; where the log no longer reaches back, it resyncs and says so.
"""

from __future__ import annotations

import asyncpg
import httpx
from playwright.async_api import expect

from tests.browser.conftest import Browsing, Tab, three_tabs
from tests.support import ServerProcess, User

RESTARTING = "Server restarting — reconnecting…"
RECOVERY_MS = 30_000  # reconnect backoff with jitter while the server was away


async def titles_in_database(api: httpx.AsyncClient) -> list[str]:
    items = (await api.get("/api/tasks", params={"limit": 500})).json()["items"]
    return [task["title"] for task in items]  # newest first, as the page shows them


async def expect_restarting(tabs: tuple[Tab, ...]) -> None:
    for tab in tabs:
        await expect(tab.page.locator("#connection")).to_have_text(RESTARTING)


async def test_a_server_restart_recovers_without_losing_a_change(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    first, second, phone = await three_tabs(browsing, servers, user)
    restarted, other = servers
    async with httpx.AsyncClient(base_url=other.url, headers=user.headers) as api:
        kept = (await api.post("/api/tasks", json={"title": "before the restart"})).json()
        for tab in (first, second, phone):
            await tab.expect_titles(["before the restart"])

        await restarted.stop()  # SIGTERM: its sockets close with 1012
        await expect_restarting((first, second))
        assert await phone.is_live()  # the other process's device never noticed

        # Changes while the first tabs' server is away, through the other process.
        for i in range(5):
            await api.post("/api/tasks", json={"title": f"while away {i}"})
        await api.patch(f"/api/tasks/{kept['id']}/complete")
        expected = await titles_in_database(api)
        await phone.expect_titles(expected)

        await restarted.start()
        for tab in (first, second):
            await tab.expect_titles(expected, timeout=RECOVERY_MS)
            await expect(tab.row("before the restart").locator(".toggle")).to_be_checked()
            await tab.until_live()
            await expect(tab.page.locator(".notice")).to_have_count(0)  # resumed, not reloaded

        # And live again: a change after the restart arrives as fast as before it.
        await api.post("/api/tasks", json={"title": "after the restart"})
        for tab in (first, second, phone):
            await tab.expect_titles(await titles_in_database(api))


async def test_a_resync_after_the_log_moved_on_is_shown_and_converges(
    browsing: Browsing, servers: list[ServerProcess], user: User, pg_url: str
) -> None:
    laptop = await browsing.device(user.token)
    first, second = await browsing.tab(laptop, servers[0]), await browsing.tab(laptop, servers[0])
    async with httpx.AsyncClient(base_url=servers[1].url, headers=user.headers) as api:
        await api.post("/api/tasks", json={"title": "seen"})
        for tab in (first, second):
            await tab.expect_titles(["seen"])

        await servers[0].stop()
        await expect_restarting((first, second))
        for title in ("missed 1", "missed 2"):
            await api.post("/api/tasks", json={"title": title})
        # Retention removes events the page never saw: its `since` is now older than the log.
        conn = await asyncpg.connect(pg_url)
        try:
            await conn.execute("DELETE FROM events WHERE user_id = $1 AND seq <= 2", user.id)
        finally:
            await conn.close()
        expected = await titles_in_database(api)

        await servers[0].start()
        for tab in (first, second):
            await tab.expect_titles(expected, timeout=RECOVERY_MS)
            resync = tab.page.locator(".notice.info")
            await expect(resync).to_contain_text("Resynced (the server could not replay the missed changes)")
            await expect(resync).to_contain_text("reloaded 3 tasks")
            await tab.until_live()

        await api.post("/api/tasks", json={"title": "after the resync"})
        for tab in (first, second):
            await tab.expect_titles(await titles_in_database(api))
