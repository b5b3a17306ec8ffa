"""Shutdown ends long-lived HTTP responses at once, so SIGTERM is quick and clean."""

from __future__ import annotations

import asyncio
import signal
import time
from pathlib import Path

import httpx

from tests.realtime.conftest import SERVER_ENV
from tests.support import ServerProcess, User


async def test_sigterm_ends_sse_and_long_polls_promptly(pg_url: str, artifacts_dir: Path) -> None:
    server = ServerProcess({"DATABASE_URL": pg_url, **SERVER_ENV}, artifacts_dir, "drain")
    await server.start()
    user = User()
    async with httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=30) as client:
        poll = asyncio.create_task(client.get("/api/changes", params={"since": "0", "wait": "30"}))
        async with client.stream("GET", "/api/events") as sse:
            lines = sse.aiter_lines()
            assert (await anext(lines)).startswith("event: hello")
            await asyncio.sleep(0.2)  # let the long-poll reach its wait
            started = time.monotonic()
            code = await server.stop(signal.SIGTERM)
            rest = [line async for line in lines]
        answered = await poll
        elapsed = time.monotonic() - started
    assert elapsed < 3, elapsed  # the graceful-shutdown timeout is 5 s
    assert code in (0, -signal.SIGTERM)
    assert answered.status_code == 200 and answered.json()["events"] == []
    assert all(not line.startswith("event: task.") for line in rest)
    assert "timeout graceful shutdown exceeded" not in server.log()


async def test_abandoned_long_poll_releases_its_stream(pg_url: str, artifacts_dir: Path) -> None:
    server = ServerProcess({"DATABASE_URL": pg_url, **SERVER_ENV}, artifacts_dir, "abandon")
    await server.start()
    user = User()
    try:
        async with httpx.AsyncClient(base_url=server.url, headers=user.headers) as client:
            poll = asyncio.create_task(client.get("/api/changes", params={"since": "0", "wait": "30"}))
            for _ in range(100):
                metrics = (await client.get("/metrics")).text
                if 'tasksync_open_streams{transport="poll"} 1.0' in metrics:
                    break
                await asyncio.sleep(0.05)
            poll.cancel()  # the client goes away
            for _ in range(100):
                metrics = (await client.get("/metrics")).text
                if 'tasksync_open_streams{transport="poll"} 0.0' in metrics:
                    break
                await asyncio.sleep(0.05)
        assert 'tasksync_open_streams{transport="poll"} 0.0' in metrics
    finally:
        await server.stop()
