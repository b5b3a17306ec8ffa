"""Shutdown ends long-lived HTTP responses at once, so SIGTERM is quick and clean."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx

from tests.realtime.conftest import SERVER_ENV
from tests.support import ServerProcess, User, metric, running, wait_for_metric

POLLS = {"transport": "poll"}


async def test_sigterm_ends_sse_and_long_polls_promptly(pg_url: str, artifacts_dir: Path) -> None:
    server = ServerProcess({"DATABASE_URL": pg_url, **SERVER_ENV}, artifacts_dir, "drain")
    async with running(server):
        user = User()
        async with httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=30) as client:
            poll = asyncio.create_task(client.get("/api/changes", params={"since": "0", "wait": "30"}))
            async with client.stream("GET", "/api/events") as sse:
                lines = sse.aiter_lines()
                assert (await anext(lines)).startswith("event: hello")
                # The scenario needs both parked: the long-poll waiting for an event, the
                # stream open. Without that, there would be nothing to drain.
                await wait_for_metric(server.url, "tasksync_open_streams", lambda n: n == 1, **POLLS)
                assert await metric(server.url, "tasksync_open_streams", transport="sse") == 1
                code = await server.stop(signal.SIGTERM)
                rest = [line async for line in lines]
            answered = await poll
    assert code in (0, -signal.SIGTERM)
    assert answered.status_code == 200 and answered.json()["events"] == []
    assert all(not line.startswith("event: task.") for line in rest)
    # Ended by the drain, not cut at uvicorn's graceful-shutdown timeout (5 s): that is
    # what "promptly" means here, with no stopwatch in the test.
    cut = [r for r in server.log_records() if "timeout graceful shutdown exceeded" in r["message"]]
    assert cut == []


async def test_abandoned_long_poll_releases_its_stream(pg_url: str, artifacts_dir: Path) -> None:
    server = ServerProcess({"DATABASE_URL": pg_url, **SERVER_ENV}, artifacts_dir, "abandon")
    async with running(server):
        user = User()
        async with httpx.AsyncClient(base_url=server.url, headers=user.headers) as client:
            poll = asyncio.create_task(client.get("/api/changes", params={"since": "0", "wait": "30"}))
            await wait_for_metric(server.url, "tasksync_open_streams", lambda n: n == 1, **POLLS)
            poll.cancel()  # the client goes away
        # Released long before the poll's 30 s are up.
        await wait_for_metric(server.url, "tasksync_open_streams", lambda n: n == 0, timeout=20, **POLLS)
