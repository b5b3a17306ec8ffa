"""The demo in a real browser: two tabs of one profile and a second device stay in sync,
share one socket per profile, and hand it over when its tab closes, without losing a
change. The servers are two processes on one PostgreSQL database; the first device's
tabs use one, the second device the other.
"""

from __future__ import annotations

import asyncio
import json
import re

import httpx
import pytest
import websockets
from playwright.async_api import expect

from tests.browser.conftest import WS_CAP, Browsing, three_tabs
from tests.support import ServerProcess, User

FLASHING = re.compile(r"\bflash\b")


async def test_a_change_in_any_tab_reaches_the_other_tab_and_the_other_device(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    first, second, phone = await three_tabs(browsing, servers, user)

    await first.page.fill("#new-title", "Buy milk")
    await first.page.fill("#new-due", "2026-12-01")
    await first.page.click("#add button")
    await first.expect_titles(["Buy milk"])
    for tab in (second, phone):
        await tab.expect_titles(["Buy milk"])
        await expect(tab.row("Buy milk").locator(".due")).to_have_text("due Dec 1, 2026")
        await expect(tab.row("Buy milk")).to_have_class(FLASHING)  # a change from elsewhere
    await expect(first.row("Buy milk")).not_to_have_class(FLASHING)  # its own echo is recognised

    await second.row("Buy milk").locator(".toggle").click()
    await expect(second.row("Buy milk")).to_have_class("task done")
    for tab in (first, phone):
        await expect(tab.row("Buy milk").locator(".toggle")).to_be_checked()

    await phone.row("Buy milk").locator(".title").click()
    await phone.page.locator(".title-edit").fill("Buy oat milk")
    await phone.page.keyboard.press("Enter")
    await phone.expect_titles(["Buy oat milk"])
    for tab in (first, second):
        await tab.expect_titles(["Buy oat milk"])

    await first.row("Buy oat milk").locator(".delete").click()
    await first.expect_titles([])
    for tab in (second, phone):
        await tab.expect_titles([])
        await expect(tab.page.locator("#empty")).to_have_text("No tasks yet — add one above.")


async def test_a_change_by_a_rest_only_script_reaches_every_tab(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    tabs = await three_tabs(browsing, servers, user)
    async with httpx.AsyncClient(base_url=servers[1].url, headers=user.headers) as api:
        created = (await api.post("/api/tasks", json={"title": "From a script"})).json()
        for tab in tabs:
            await tab.expect_titles(["From a script"])

        await api.patch(f"/api/tasks/{created['id']}", json={"title": "Renamed by the script"})
        for tab in tabs:
            await tab.expect_titles(["Renamed by the script"])

        await api.patch(f"/api/tasks/{created['id']}/complete")
        for tab in tabs:
            await expect(tab.row("Renamed by the script").locator(".toggle")).to_be_checked()

        assert (await api.delete(f"/api/tasks/{created['id']}")).status_code == 204
        for tab in tabs:
            await tab.expect_titles([])


async def test_two_tabs_of_one_profile_share_one_socket(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    laptop = await browsing.device(user.token)
    first, second = await browsing.tab(laptop, servers[0]), await browsing.tab(laptop, servers[0])
    assert [await first.role(), await second.role()] == ["leader", "follower"]
    await expect(second.page.locator("#role")).to_have_text("Sharing the live connection of another tab")
    assert len(first.sockets) == 1 and not first.sockets[0].is_closed()
    assert second.sockets == []

    # The server's side: the per-user cap leaves room for exactly WS_CAP - 1 more sockets.
    extra = []
    try:
        for _ in range(WS_CAP - 1):
            ws = await websockets.connect(servers[0].ws_url, additional_headers=user.headers)
            extra.append(ws)
            assert json.loads(await ws.recv())["type"] == "hello"
        async with websockets.connect(servers[0].ws_url, additional_headers=user.headers) as refused:
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(refused.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429
    finally:
        for ws in extra:
            await ws.close()

    # And the one socket carries changes to both tabs.
    async with httpx.AsyncClient(base_url=servers[1].url, headers=user.headers) as api:
        await api.post("/api/tasks", json={"title": "Shared"})
    for tab in (first, second):
        await tab.expect_titles(["Shared"])


async def test_closing_the_socket_tab_hands_over_without_losing_a_change(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    leader, follower, phone = await three_tabs(browsing, servers, user)
    assert await leader.role() == "leader"
    titles = [f"change {i:02}" for i in range(30)]
    before, during, after = titles[:10], titles[10:20], titles[20:]

    async def write(batch: list[str]) -> None:
        async with httpx.AsyncClient(base_url=servers[1].url, headers=user.headers) as api:
            for title in batch:
                assert (await api.post("/api/tasks", json={"title": title})).status_code == 201

    # Before: the follower has these through the leader's socket, having none of its own.
    await write(before)
    await follower.expect_titles(before[::-1])
    assert follower.sockets == []
    # During: the leader's tab closes while these are being written.
    writer = asyncio.create_task(write(during))
    await leader.page.close()
    await writer
    # The handover happened mid-stream: the follower took the socket over after the
    # first changes, and the rest (during and after) reach it through its own socket.
    await expect(follower.page.locator("#app")).to_have_attribute("data-role", "leader")
    await write(after)

    newest_first = titles[::-1]
    for tab in (follower, phone):
        await tab.expect_titles(newest_first)
    await follower.until_live()
    (socket,) = follower.open_sockets()
    # Resumed from its own seq, mid-stream: after the changes it had from the leader and
    # before the last ones. Not reloaded, and no resync was needed.
    resumed = re.search(r"[?&]since=(\d+)", socket.url)
    assert resumed is not None, socket.url
    assert len(before) <= int(resumed[1]) < len(titles)
    await expect(follower.page.locator(".notice")).to_have_count(0)


async def test_an_edit_while_another_device_changed_another_field_merges_without_a_word(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    laptop = await browsing.device(user.token)
    tab, other = await browsing.tab(laptop, servers[0]), await browsing.tab(laptop, servers[0])
    async with httpx.AsyncClient(base_url=servers[1].url, headers=user.headers) as api:
        task = (await api.post("/api/tasks", json={"title": "Draft"})).json()
        await tab.expect_titles(["Draft"])

        await tab.row("Draft").locator(".title").click()
        await tab.page.locator(".title-edit").fill("Mine")
        # Meanwhile another device completes it; the open editor keeps the user's text.
        await api.patch(f"/api/tasks/{task['id']}", json={"completed": True})
        await expect(other.row("Draft").locator(".toggle")).to_be_checked()
        await tab.page.keyboard.press("Enter")

        for each in (tab, other):
            await each.expect_titles(["Mine"])
            await expect(each.row("Mine").locator(".toggle")).to_be_checked()
        await expect(tab.page.locator(".notice")).to_have_count(0)
        await expect(tab.page.locator("#conflicts li")).to_have_count(0)
        await expect(tab.page.locator("#app")).to_have_attribute("data-pending", "0")
        now = (await api.get(f"/api/tasks/{task['id']}")).json()
        assert (now["title"], now["completed"]) == ("Mine", True)


async def test_filter_and_sort_apply_to_live_changes(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    tab = await browsing.tab(await browsing.device(user.token), servers[0])
    await tab.page.locator(".filters label", has_text="Pending").click()
    await tab.page.select_option("#sort", "title:asc")
    async with httpx.AsyncClient(base_url=servers[1].url, headers=user.headers) as api:
        for title in ("banana", "Apple", "cherry"):
            created = (await api.post("/api/tasks", json={"title": title})).json()
        await api.patch(f"/api/tasks/{created['id']}/complete")  # cherry: done
    await tab.expect_titles(["Apple", "banana"])
    await expect(tab.page.locator('[data-count="completed"]')).to_have_text("1")

    await tab.page.locator(".filters label", has_text="Completed").click()
    await tab.expect_titles(["cherry"])
    await tab.page.locator(".filters label", has_text="All").click()
    await tab.page.select_option("#sort", "title:desc")
    await tab.expect_titles(["cherry", "banana", "Apple"])


async def test_without_web_locks_each_tab_keeps_its_own_socket(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    laptop = await browsing.device(user.token)
    await laptop.add_init_script(
        "Object.defineProperty(Navigator.prototype, 'locks', { get: () => undefined });"
    )
    first, second = await browsing.tab(laptop, servers[0]), await browsing.tab(laptop, servers[0])
    assert [await first.role(), await second.role()] == ["solo", "solo"]
    assert len(first.open_sockets()) == len(second.open_sockets()) == 1

    await first.page.fill("#new-title", "Each on its own")
    await first.page.click("#add button")
    await first.expect_titles(["Each on its own"])
    await second.expect_titles(["Each on its own"])
