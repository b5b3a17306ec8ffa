"""Server-sent events (`/api/events`) and the changes feed (`/api/changes`)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx
import pytest

from tests.realtime.conftest import Cluster
from tests.realtime.test_sync_guarantees import write
from tests.support import User, metric, wait_for_metric


class SSEReader:
    """Reads SSE messages (comments skipped) as {id, event, data} dicts."""

    def __init__(self, response: httpx.Response) -> None:
        self._lines = response.aiter_lines()

    async def read(self, count: int) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        current: dict[str, Any] = {}
        async for line in self._lines:
            if line == "":
                if current:
                    messages.append(current)
                    current = {}
                    if len(messages) == count:
                        break
            elif not line.startswith(":"):
                field, _, value = line.partition(": ")
                current[field] = json.loads(value) if field == "data" else value
        return messages


async def test_sse_replays_then_streams_and_resumes(cluster: Cluster, user: User) -> None:
    await write(cluster.a.url, user, 2)
    async with httpx.AsyncClient(base_url=cluster.b.url, headers=user.headers, timeout=10) as client:
        async with client.stream("GET", "/api/events", params={"since": "0"}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            sse = SSEReader(response)
            hello = (await sse.read(1))[0]
            assert hello["event"] == "hello" and hello["data"]["seq"] == 2
            replayed = await sse.read(2)
            await write(cluster.a.url, user, 1)
            live = await sse.read(1)
        events = replayed + live
        assert [m["id"] for m in events] == ["1", "2", "3"]
        assert all(m["event"] == "task.created" == m["data"]["type"] for m in events)
        assert [m["data"]["seq"] for m in events] == [1, 2, 3]
        # Resume with the standard header.
        async with client.stream("GET", "/api/events", headers={"Last-Event-ID": "2"}) as response:
            _hello, resumed = await SSEReader(response).read(2)
        assert resumed["id"] == "3"


async def test_sse_resync_and_bad_since(cluster: Cluster, user: User) -> None:
    async with httpx.AsyncClient(base_url=cluster.a.url, headers=user.headers, timeout=10) as client:
        async with client.stream("GET", "/api/events", params={"since": "50"}) as response:
            _hello, resync = await SSEReader(response).read(2)
        assert resync["event"] == "resync" and resync["data"] == {"type": "resync", "seq": 0}
        bad = await client.get("/api/events", params={"since": "-3"})
        assert bad.status_code == 400
        assert bad.headers["content-type"] == "application/problem+json"
        assert (await client.get("/api/events", headers={"Authorization": "Bearer nope"})).status_code == 401


async def test_changes_feed_pages_and_long_polls(cluster: Cluster, user: User) -> None:
    await write(cluster.a.url, user, 5)
    async with httpx.AsyncClient(base_url=cluster.b.url, headers=user.headers, timeout=40) as client:
        page = (await client.get("/api/changes", params={"since": "0", "limit": "3"})).json()
        assert [e["seq"] for e in page["events"]] == [1, 2, 3]
        assert (page["seq"], page["resync"]) == (5, False)
        rest = (await client.get("/api/changes", params={"since": "3"})).json()
        assert [e["seq"] for e in rest["events"]] == [4, 5]

        parked = await metric(cluster.b.url, "tasksync_open_streams", transport="poll")
        started = time.monotonic()
        waiting = asyncio.create_task(client.get("/api/changes", params={"since": "5", "wait": "30"}))
        # Written only once the poll is waiting, so an immediate answer cannot pass.
        await wait_for_metric(cluster.b.url, "tasksync_open_streams", lambda n: n > parked, transport="poll")
        assert not waiting.done()
        await write(cluster.a.url, user, 1)
        answered = (await waiting).json()
        assert [e["seq"] for e in answered["events"]] == [6]
        # Woken by the event, not answered when its 30 s ran out (a generous bound).
        assert time.monotonic() - started < 20

        started = time.monotonic()
        empty = (await client.get("/api/changes", params={"since": "6", "wait": "1"})).json()
        assert (empty["events"], empty["seq"], empty["resync"]) == ([], 6, False)
        assert time.monotonic() - started >= 0.9


async def test_changes_feed_resync_and_errors(cluster: Cluster, user: User) -> None:
    async with httpx.AsyncClient(base_url=cluster.a.url, headers=user.headers) as client:
        ahead = (await client.get("/api/changes", params={"since": "7"})).json()
        assert ahead == {"events": [], "seq": 0, "resync": True}
        for bad in ("-1", "x", "1e3"):
            r = await client.get("/api/changes", params={"since": bad})
            assert r.status_code == 400, bad
        for bad in ("0", "1001", "x"):
            r = await client.get("/api/changes", params={"limit": bad})
            assert r.status_code == 422, bad


@pytest.mark.parametrize("transport", ["ws", "changes"])
async def test_resync_when_the_log_was_pruned(cluster: Cluster, user: User, transport: str) -> None:
    """A client resuming from before the oldest kept event is told to refetch."""
    await write(cluster.a.url, user, 4)
    await _prune_first_events(cluster, user, upto=2)
    if transport == "changes":
        async with httpx.AsyncClient(base_url=cluster.b.url, headers=user.headers) as client:
            assert (await client.get("/api/changes", params={"since": "0"})).json()["resync"] is True
            kept = (await client.get("/api/changes", params={"since": "2"})).json()
            assert [e["seq"] for e in kept["events"]] == [3, 4]
        return
    from tests.realtime.live import LiveSocket

    async with LiveSocket(cluster.b.ws_url, user, since=1) as sock:
        assert (await sock.next_frame("resync"))["seq"] == 4


async def _prune_first_events(cluster: Cluster, user: User, upto: int) -> None:
    # Retention would take 7 days and 1,000 events; delete the oldest rows directly,
    # exactly as the retention job would.
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    from server.settings import Settings

    url = Settings(_env_file=None, database_url=cluster.a.env["DATABASE_URL"]).database_url
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text("DELETE FROM events WHERE user_id = :u AND seq <= :s"), {"u": user.id, "s": upto}
        )
    await engine.dispose()
