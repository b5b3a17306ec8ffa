"""Slow (about 35 s): a 20-second outage with 10 writes typed during it, every one shown
at once and applied exactly once when the network returns. The first half of the
outage refuses connections (the Wi-Fi is gone); in the second the link is dead (open
and silent), so a write sent into it is given up on when its answer is overdue and sent
again with the same key, and a socket handshake that got no answer is replaced.
"""

from __future__ import annotations

import asyncio
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
    tab_at,
    until_offline,
)
from tests.netcut import Netcut
from tests.support import ServerProcess, User

OUTAGE_S = 20.0


async def test_a_20_second_outage_with_10_writes_applies_each_once(
    browsing: Browsing, servers: list[ServerProcess], user: User
) -> None:
    async with (
        Netcut(servers[0].port) as cut,
        httpx.AsyncClient(base_url=servers[1].url, headers=user.headers) as api,
    ):
        tab = await tab_at(browsing, await browsing.device(user.token), cut.url)
        seq = await head_seq(api)

        await cut.refuse()
        loop = asyncio.get_running_loop()
        cut_at = loop.time()
        await until_offline(tab)
        titles = [f"written offline {i}" for i in range(8)]
        for i, title in enumerate(titles):
            if i == len(titles) // 2:
                await cut.blackhole()
            await add_task(tab, title)
            await asyncio.sleep(OUTAGE_S / 12)  # spread over the outage, as a person types
        await tab.row(titles[0]).locator(".toggle").click()
        await rename(tab, titles[1], "renamed offline")
        await expect_waiting(tab, 10)
        await expect(tab.page.locator("#outbox")).to_have_text("Offline — 10 changes waiting")
        await asyncio.sleep(max(0.0, OUTAGE_S - (loop.time() - cut_at)))  # the outage lasts 20 s

        await cut.restore()
        await expect_waiting(tab, 0, timeout=RECOVERY_MS)
        await tab.until_live(LIVE_TIMEOUT_MS)
        stored = await server_tasks(api)
        assert sorted(stored) == sorted([*titles[2:], titles[0], "renamed offline"])
        assert stored[titles[0]]["completed"] is True
        events = await events_since(api, seq)
        assert Counter(e["type"] for e in events) == {"task.created": 8, "task.updated": 2}
        assert len({e["task"]["id"] for e in events if e["type"] == "task.created"}) == 8
