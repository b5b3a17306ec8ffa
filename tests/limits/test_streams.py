"""Stream opens and shared limits against real server processes: a WebSocket or SSE
open over the budget is refused at the HTTP handshake (`429`, `Retry-After`), a browser
socket (authenticated by its first message) is closed `4429`; with Redis the budgets are
shared by every process, and a Redis outage degrades to per-process limits."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support import ServerProcess, User, free_port, running, skip_or_fail, wait_until

STREAMS_2 = {"RATE_LIMIT_STREAM_OPENS": "2/hour", "RATE_LIMIT_REFUSAL_DELAY_SECONDS": "0"}


async def open_ws(server: ServerProcess, user: User, *, in_band: bool = False) -> websockets.ClientConnection:
    if in_band:
        ws = await websockets.connect(server.ws_url)
        await ws.send(json.dumps({"type": "auth", "token": user.token}))
    else:
        ws = await websockets.connect(server.ws_url, additional_headers=user.headers)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hello["type"] == "hello", hello
    return ws


async def test_socket_and_sse_opens_over_the_budget_are_429_at_the_handshake(
    pg_url: str, artifacts_dir: Path
) -> None:
    user, other = User(), User()
    env = {"DATABASE_URL": pg_url, **STREAMS_2}
    async with running(ServerProcess(env, artifacts_dir, "streams")) as (server,):
        first, second = await open_ws(server, user), await open_ws(server, user)
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(server.ws_url, additional_headers=user.headers)
        response = refused.value.response
        assert response.status_code == 429
        assert 1 <= int(response.headers["Retry-After"]) <= 3600 + 3600 // 2  # window + window ÷ quota
        assert response.headers["RateLimit-Policy"] == '"streams";q=2;w=3600'
        assert json.loads(response.body)["status"] == 429
        # The sockets already open are not touched, and another user opens freely.
        await first.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(first.recv(), 10)) == {"type": "pong"}
        await (await open_ws(server, other)).close()
        async with httpx.AsyncClient(base_url=server.url) as client:
            sse = await client.get("/api/events", headers=user.headers)
            assert sse.status_code == 429 and int(sse.headers["retry-after"]) >= 1
            assert sse.headers["content-type"].startswith("application/problem+json")
        await first.close()
        await second.close()


async def test_a_browser_socket_over_the_budget_is_closed_4429(pg_url: str, artifacts_dir: Path) -> None:
    user = User()
    env = {"DATABASE_URL": pg_url, **STREAMS_2}
    async with running(ServerProcess(env, artifacts_dir, "streams-inband")) as (server,):
        opened = [await open_ws(server, user, in_band=True) for _ in range(2)]
        ws = await websockets.connect(server.ws_url)
        await ws.send(json.dumps({"type": "auth", "token": user.token}))
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 10)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429
        assert "retry in" in closed.value.rcvd.reason
        for each in opened:
            await each.close()


@pytest.fixture
async def own_redis(tmp_path: Path) -> AsyncIterator[tuple[int, subprocess.Popen[bytes]]]:
    """A Redis of this test's own, which the test may kill (the outage)."""
    binary = shutil.which("redis-server")
    if binary is None:
        skip_or_fail("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    async def answers() -> bool:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return False
        writer.close()
        return True

    try:
        await wait_until(answers, message="redis-server did not start")
        yield port, proc
    finally:
        proc.kill()
        proc.wait()


async def write(client: httpx.AsyncClient, user: User) -> int:
    response = await client.post("/api/tasks", json={"title": "x"}, headers=user.headers)
    return response.status_code


async def test_limits_are_shared_across_processes_and_survive_a_redis_outage(
    pg_url: str, artifacts_dir: Path, own_redis: tuple[int, subprocess.Popen[bytes]]
) -> None:
    port, redis_proc = own_redis
    env = {
        "DATABASE_URL": pg_url,
        "RATE_LIMIT_URL": f"redis://127.0.0.1:{port}/0",
        "RATE_LIMIT_WRITES": "4/hour",
    }
    user = User()
    servers = [ServerProcess(env, artifacts_dir, f"shared{i}") for i in range(2)]
    async with (
        running(*servers) as (a, b),
        httpx.AsyncClient(base_url=a.url) as on_a,
        httpx.AsyncClient(base_url=b.url) as on_b,
    ):
        # Two writes through each process spend the one shared budget of four.
        spent = [await write(client, user) for client in (on_a, on_b, on_a, on_b)]
        assert spent == [201] * 4
        assert await write(on_a, user) == 429
        assert await write(on_b, user) == 429
        # Redis goes away: requests keep being served, now against each process's own count.
        redis_proc.kill()
        redis_proc.wait()
        fresh = User()
        assert [await write(on_a, fresh) for _ in range(4)] == [201] * 4
        assert await write(on_a, fresh) == 429
        assert [await write(on_b, fresh) for _ in range(4)] == [201] * 4

        # One log line per outage, not one per request.
        def outages() -> int:
            return sum(str(r["message"]).startswith("rate-limit store unreachable") for r in a.log_records())

        await wait_until(outages)
        assert outages() == 1
