"""The browser client under the server's limits, in real Chromium against real servers:
a reconnect refused by the stream-open budget (`4429`, "retry in N s") waits at least
N seconds; a socket refused by the cap on open streams (`4429`, no number) waits at
least 5 s; a burst of queued writes over the write budget (`429` + `Retry-After`) is
sent as the server says, each write applied exactly once (and a `503`'s `Retry-After`
is waited out even when a new write wakes the queue); a queued create refused by
the task quota (`403` quota-exceeded) is dropped, shown, and never sent again. The
server's own metrics (`tasksync_rate_limited_total`) count what it refused.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from playwright.async_api import BrowserContext, Route, expect
from websockets.typing import Origin

from tests.browser.conftest import Browsing, Tab
from tests.browser.offline_support import (
    RECOVERY_MS,
    add_task,
    events_since,
    expect_waiting,
    head_seq,
    rename,
    server_titles,
    tab_at,
    until_offline,
)
from tests.netcut import Netcut
from tests.support import ServerProcess, User, metric, running

STREAM_WINDOW_S = 8
WRITE_BUDGET = 2
QUOTA = 2
LIMITED = "tasksync_rate_limited_total"

# Every socket the page opens, with how and when it closed (Playwright does not report
# close codes): the page's own WebSocket, wrapped before the client module loads.
RECORD_SOCKETS = """
(() => {
  const Native = window.WebSocket;
  const sockets = (window.__sockets = []);
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      const record = { opened: Date.now(), code: null, reason: "", closed: null };
      sockets.push(record);
      this.addEventListener("close", (event) => {
        Object.assign(record, { code: event.code, reason: event.reason, closed: Date.now() });
      });
    }
  };
})();
"""


@pytest.fixture(scope="module")
async def limited(pg_url: str, artifacts_dir: Path) -> AsyncIterator[tuple[ServerProcess, ServerProcess]]:
    """A server with small rate budgets, and one with a task quota of 2 and one open
    stream per user (each user has its own budgets: every test has a fresh user)."""
    rates = ServerProcess(
        {
            "DATABASE_URL": pg_url,
            "RATE_LIMIT_STREAM_OPENS": f"1/{STREAM_WINDOW_S} seconds",
            "RATE_LIMIT_WRITES": f"{WRITE_BUDGET}/5 seconds",
            "RATE_LIMIT_REFUSAL_DELAY_SECONDS": "0",
        },
        artifacts_dir,
        "limits-rates",
    )
    quota = ServerProcess(
        {
            "DATABASE_URL": pg_url,
            "MAX_TASKS_PER_USER": str(QUOTA),
            "MAX_STREAMS_PER_USER": "1",
            "RATE_LIMIT_REFUSAL_DELAY_SECONDS": "0",
        },
        artifacts_dir,
        "limits-quota",
    )
    async with running(rates, quota):
        yield rates, quota


async def recording_device(browsing: Browsing, user: User) -> BrowserContext:
    context = await browsing.device(user.token)
    await context.add_init_script(RECORD_SOCKETS)
    return context


async def sockets_of(tab: Tab) -> list[dict[str, Any]]:
    sockets: list[dict[str, Any]] = await tab.page.evaluate("window.__sockets")
    return sockets


def assert_waited_as_told(sockets: list[dict[str, Any]], default_s: float = 5.0) -> int:
    """Each socket closed `4429` is followed by the next one no sooner than the wait its
    reason named (or `default_s`); returns how many were refused so."""
    refused = 0
    for closed, after in zip(sockets, sockets[1:], strict=False):
        if closed["code"] != 4429:
            continue
        refused += 1
        named = re.search(r"retry in (\d+) s", closed["reason"])
        wait_ms = int(named[1]) * 1000 if named else default_s * 1000
        waited = after["opened"] - closed["closed"]
        assert waited >= wait_ms - 50, f"reconnected after {waited} ms, told {closed['reason']!r}"
    return refused


async def spend_a_stream_open(server: ServerProcess, user: User) -> None:
    """Open (and close) one socket of the user's, as another of its devices would."""
    async with websockets.connect(f"{server.ws_url}?since=0", origin=Origin(server.url)) as ws:
        await ws.send(json.dumps({"type": "auth", "token": user.token}))
        assert json.loads(await ws.recv())["type"] == "hello"


async def test_a_reconnect_refused_by_the_stream_open_budget_waits_as_the_server_says(
    browsing: Browsing, limited: tuple[ServerProcess, ServerProcess], user: User
) -> None:
    server = limited[0]
    async with (
        Netcut(server.port) as cut,
        httpx.AsyncClient(base_url=server.url, headers=user.headers) as api,
    ):
        tab = await tab_at(browsing, await recording_device(browsing, user), cut.url)
        # With a budget of one, the counter's windows are fixed (aligned on the clock):
        # start just after the next one begins, and spend its one open from another device.
        await asyncio.sleep(STREAM_WINDOW_S - time.time() % STREAM_WINDOW_S + 0.2)
        await spend_a_stream_open(server, user)
        refused_before = await metric(server.url, LIMITED, budget="streams")

        # The page's socket drops; its first reconnects are refused by the network, the
        # next one (well within the window) by the server's stream-open budget.
        await cut.refuse()
        await until_offline(tab)
        await asyncio.sleep(1.0)
        await cut.restore()
        await tab.until_live(timeout=(STREAM_WINDOW_S + 20) * 1000)

        refused = await metric(server.url, LIMITED, budget="streams") - refused_before
        sockets = await sockets_of(tab)
        assert 1 <= refused <= 2, f"refused {refused} times: {sockets}"
        assert assert_waited_as_told(sockets) == refused, sockets

        # Live again, resumed from its seq: another device's write shows.
        assert (await api.post("/api/tasks", json={"title": "From the phone"})).status_code == 201
        await tab.expect_titles(["From the phone"])


async def test_a_socket_over_the_cap_on_open_streams_retries_no_sooner_than_5_s(
    browsing: Browsing, limited: tuple[ServerProcess, ServerProcess], user: User
) -> None:
    server = limited[1]  # one open stream per user
    first = await tab_at(browsing, await recording_device(browsing, user), server.url)
    second = await tab_at(browsing, await recording_device(browsing, user), server.url, live=False)
    await asyncio.sleep(12)  # two or three refusals at 5 s (plus jitter) each
    sockets = await sockets_of(second)
    assert await second.page.locator("#app").get_attribute("data-state") != "live"
    capped = [s for s in sockets[:-1] if s["reason"] == "too many open streams for this user"]
    assert len(capped) == len(sockets) - 1, sockets
    assert 1 <= assert_waited_as_told(sockets) <= 3, sockets

    # The first device goes away: the second one gets the stream on its next try.
    await first.page.close()
    await second.until_live(timeout=RECOVERY_MS)


async def test_a_burst_of_queued_writes_over_the_write_budget_lands_once_each(
    browsing: Browsing, limited: tuple[ServerProcess, ServerProcess], user: User
) -> None:
    server = limited[0]
    async with httpx.AsyncClient(base_url=server.url, headers=user.headers) as api:
        tab = await tab_at(browsing, await browsing.device(user.token), server.url)
        seq = await head_seq(api)
        refused_before = await metric(server.url, LIMITED, budget="writes")
        titles = [f"burst {i}" for i in range(3 * WRITE_BUDGET)]
        for title in titles:
            await add_task(tab, title)  # queued at once; sent in order as the budget allows

        await expect_waiting(tab, 0, timeout=RECOVERY_MS)
        assert sorted(await server_titles(api)) == sorted(titles)
        events = await events_since(api, seq)
        created = Counter(e["task"]["title"] for e in events if e["type"] == "task.created")
        assert created == Counter(titles)  # each applied exactly once
        # Each refusal named its Retry-After (when the sliding window next frees a slot)
        # and the outbox waited it out: about one refusal per write over the budget, one
        # spare for the counter's rounding (the client backing off from 0.25 s regardless,
        # as it did, was refused 10 times here).
        refused = await metric(server.url, LIMITED, budget="writes") - refused_before
        assert 1 <= refused <= len(titles) - WRITE_BUDGET + 1, refused
        await expect(tab.page.locator(".notice.error")).to_have_count(0)


async def test_a_queued_create_over_the_task_quota_is_dropped_shown_and_not_retried(
    browsing: Browsing, limited: tuple[ServerProcess, ServerProcess], user: User
) -> None:
    server = limited[1]
    async with (
        Netcut(server.port) as cut,
        httpx.AsyncClient(base_url=server.url, headers=user.headers) as api,
    ):
        for title in ("First", "Second"):
            assert (await api.post("/api/tasks", json={"title": title})).status_code == 201
        refused_before = await metric(server.url, LIMITED, budget="tasks")
        laptop = await browsing.device(user.token)
        tab, other_tab = await tab_at(browsing, laptop, cut.url), await tab_at(browsing, laptop, cut.url)
        await tab.expect_titles(["Second", "First"])

        # Offline, the create is shown at once, and an edit is queued behind it.
        await cut.refuse()
        await until_offline(tab)
        await add_task(tab, "One too many")
        await rename(tab, "First", "First, renamed")
        await expect_waiting(tab, 2)

        await cut.restore()
        for each in (tab, other_tab):  # the tab that sent it relays the answer to the other
            dropped = each.page.locator('.notice[data-dropped="quota"]')
            await expect(dropped).to_have_text(
                re.compile(r"You have reached the limit of 2 tasks: “One too many” was not saved"),
                timeout=RECOVERY_MS,
            )
            await expect_waiting(each, 0)
            await each.expect_titles(["Second", "First, renamed"])
        assert sorted(await server_titles(api)) == ["First, renamed", "Second"]

        await asyncio.sleep(3)  # a retry loop would have sent it again by now
        assert await metric(server.url, LIMITED, budget="tasks") - refused_before == 1


async def test_a_write_answered_503_with_retry_after_waits_it_out_whatever_wakes_the_queue(
    browsing: Browsing, limited: tuple[ServerProcess, ServerProcess], user: User
) -> None:
    """The server's answer while its database is away (a `503` with `Retry-After`, 2 s
    there, 3 s here), played by the page's network layer for the first attempt; a write
    queued meanwhile wakes the queue, which still waits the 3 s out."""
    server = limited[1]
    async with httpx.AsyncClient(base_url=server.url, headers=user.headers) as api:
        tab = await tab_at(browsing, await browsing.device(user.token), server.url)
        sent: list[float] = []

        async def database_away_once(route: Route) -> None:
            if route.request.method != "PUT":
                await route.continue_()
                return
            sent.append(time.monotonic())
            if len(sent) > 1:
                await route.continue_()
                return
            problem = {"type": "about:blank", "title": "Service unavailable", "status": 503}
            await route.fulfill(
                status=503,
                headers={"Retry-After": "3", "Content-Type": "application/problem+json"},
                body=json.dumps(problem),
            )

        await tab.page.route(f"{server.url}/api/tasks/*", database_away_once)
        await add_task(tab, "Written during the outage")
        await asyncio.sleep(1.0)
        await add_task(tab, "Queued behind it")  # wakes the queue: not before the 3 s
        await expect_waiting(tab, 0, timeout=RECOVERY_MS)

        assert sorted(await server_titles(api)) == ["Queued behind it", "Written during the outage"]
        assert len(sent) == 3, sent  # refused once, then each sent once
        assert sent[1] - sent[0] >= 3.0 - 0.05, f"sent again after {sent[1] - sent[0]:.2f} s"
