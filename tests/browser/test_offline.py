"""The demo offline, in real Chromium: the network between the page and its server is
cut for real by a TCP proxy (tests/netcut.py), not by emulation flags. What the user
does meanwhile shows at once in every tab, survives a reload with no connection (the
service worker and IndexedDB), and reaches the server exactly once when the network
returns, even when an answer was lost on the way. The server's own state is checked
every time. (Conflicts between devices: test_conflicts.py.)
"""

from __future__ import annotations

from collections import Counter

import httpx
from playwright.async_api import expect

from tests.browser.conftest import LIVE_TIMEOUT_MS, Browsing
from tests.browser.offline_support import (
    RECOVERY_MS,
    add_task,
    events_since,
    expect_waiting,
    head_seq,
    rename,
    server_tasks,
    server_titles,
    tab_at,
    until_offline,
    until_offline_ready,
)
from tests.netcut import Netcut
from tests.support import ServerProcess, User, wait_until


async def test_offline_writes_show_in_every_tab_survive_a_reload_and_apply_once(
    browsing: Browsing, servers: list[ServerProcess], user: User, cut: Netcut, api: httpx.AsyncClient
) -> None:
    for title in ("Edit me", "Toggle me", "Delete me"):
        assert (await api.post("/api/tasks", json={"title": title})).status_code == 201
    before = ["Delete me", "Toggle me", "Edit me"]
    laptop = await browsing.device(user.token)
    first, second = await tab_at(browsing, laptop, cut.url), await tab_at(browsing, laptop, cut.url)
    for tab in (first, second):
        await tab.expect_titles(before, timeout=LIVE_TIMEOUT_MS)
    await until_offline_ready(first)
    seq = await head_seq(api)

    await cut.refuse()
    for tab in (first, second):
        await until_offline(tab)
    await add_task(second, "Made offline")
    await rename(first, "Edit me", "Edited offline")
    await first.row("Toggle me").locator(".toggle").click()
    await second.row("Delete me").locator(".delete").click()
    await rename(first, "Made offline", "Made offline, renamed")  # a task the server never saw

    after = ["Made offline, renamed", "Toggle me", "Edited offline"]
    for tab in (first, second):
        await tab.expect_titles(after)
        await expect(tab.row("Toggle me").locator(".toggle")).to_be_checked()
        await expect_waiting(tab, 5)
        await expect(tab.page.locator("#outbox")).to_have_text("Offline — 5 changes waiting")
        await expect(tab.page.locator("#tasks li.pending")).to_have_count(3)
    assert await server_titles(api) == before  # nothing got through

    await first.page.reload()  # no network: the service worker opens the page, IndexedDB the list
    await first.expect_titles(after, timeout=LIVE_TIMEOUT_MS)
    await expect(first.row("Toggle me").locator(".toggle")).to_be_checked()
    await expect_waiting(first, 5)

    await cut.restore()
    for tab in (first, second):
        await expect_waiting(tab, 0, timeout=RECOVERY_MS)
        await tab.expect_titles(after)
    assert await server_titles(api) == after
    assert (await server_tasks(api))["Toggle me"]["completed"] is True
    events = await events_since(api, seq)
    assert Counter(e["type"] for e in events) == {"task.created": 1, "task.updated": 3, "task.deleted": 1}

    phone = await browsing.tab(await browsing.device(user.token), servers[1])
    await phone.expect_titles(after)
    await expect(phone.row("Toggle me").locator(".toggle")).to_be_checked()


async def test_a_write_whose_answer_was_lost_is_applied_once(
    browsing: Browsing, user: User, cut: Netcut, api: httpx.AsyncClient
) -> None:
    await api.post("/api/tasks", json={"title": "Flip me"})
    tab = await tab_at(browsing, await browsing.device(user.token), cut.url)
    await tab.expect_titles(["Flip me"], timeout=LIVE_TIMEOUT_MS)
    seq = await head_seq(api)

    # A toggle: sent again with the same key, it must not flip back.
    await cut.lose_responses()
    await tab.row("Flip me").locator(".toggle").click()
    await wait_until(lambda: events_since(api, seq), message="the toggle never reached the server")
    await expect_waiting(tab, 1)  # committed, but the page never heard
    await cut.restore()
    await expect_waiting(tab, 0, timeout=RECOVERY_MS)
    await expect(tab.row("Flip me").locator(".toggle")).to_be_checked()
    assert (await server_tasks(api))["Flip me"]["completed"] is True
    assert [e["type"] for e in await events_since(api, seq)] == ["task.updated"]

    # A create: sent again, it must not make a second task.
    seq = await head_seq(api)
    await cut.lose_responses()
    await add_task(tab, "Only once")
    await wait_until(lambda: events_since(api, seq), message="the create never reached the server")
    await expect_waiting(tab, 1)
    await cut.restore()
    await expect_waiting(tab, 0, timeout=RECOVERY_MS)
    await tab.expect_titles(["Only once", "Flip me"])
    assert await server_titles(api) == ["Only once", "Flip me"]
    assert [e["type"] for e in await events_since(api, seq)] == ["task.created"]


async def test_closing_the_sending_tab_mid_flush_leaves_the_write_to_the_next_one_once(
    browsing: Browsing, user: User, cut: Netcut, api: httpx.AsyncClient
) -> None:
    laptop = await browsing.device(user.token)
    sender, other = await tab_at(browsing, laptop, cut.url), await tab_at(browsing, laptop, cut.url)
    assert [await sender.role(), await other.role()] == ["leader", "follower"]
    seq = await head_seq(api)

    await cut.lose_responses()
    await add_task(other, "Handed over")  # queued by the follower, sent by the socket owner
    await wait_until(lambda: events_since(api, seq), message="the create never reached the server")
    await expect_waiting(other, 1)
    await sender.page.close()  # its answer never came; the next tab takes the queue over
    await expect(other.page.locator("#app")).to_have_attribute("data-role", "leader", timeout=LIVE_TIMEOUT_MS)

    await cut.restore()
    await expect_waiting(other, 0, timeout=RECOVERY_MS)
    await other.expect_titles(["Handed over"])
    assert await server_titles(api) == ["Handed over"]
    assert [e["type"] for e in await events_since(api, seq)] == ["task.created"]


async def test_a_queued_edit_to_a_task_deleted_elsewhere_is_dropped_and_said(
    browsing: Browsing, user: User, cut: Netcut, api: httpx.AsyncClient
) -> None:
    task = (await api.post("/api/tasks", json={"title": "Soon gone"})).json()
    tab = await tab_at(browsing, await browsing.device(user.token), cut.url)
    await tab.expect_titles(["Soon gone"], timeout=LIVE_TIMEOUT_MS)

    await cut.refuse()
    await until_offline(tab)
    await rename(tab, "Soon gone", "Edited, too late")
    await expect_waiting(tab, 1)
    assert (await api.delete(f"/api/tasks/{task['id']}")).status_code == 204

    await cut.restore()
    await expect(tab.page.locator(".notice.error")).to_contain_text(
        "Not saved: that task was deleted elsewhere.", timeout=RECOVERY_MS
    )
    await tab.expect_titles([])
    await expect_waiting(tab, 0)
    assert await server_titles(api) == []
