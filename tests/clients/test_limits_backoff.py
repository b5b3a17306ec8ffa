"""The Python client honours the server's limits when it reconnects: refused at the
handshake (`429`, `Retry-After`) or closed `4429`, it waits at least as long as the server
said — plus jitter — instead of hammering it at its own fast backoff."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from tasksync_client import LiveTasks, RateLimited, StreamClosed, TasksyncClient
from tasksync_client.errors import api_error, server_wait

from tests.clients.conftest import FAST, SERVER_ENV
from tests.netcut import Netcut
from tests.support import ServerProcess, User, metric, running, window_start

WAIT = 30.0


@pytest.mark.parametrize("transport", ["ws", "sse"])
async def test_a_refused_reconnect_waits_for_retry_after(
    pg_url: str, artifacts_dir: Path, transport: str
) -> None:
    env = {
        "DATABASE_URL": pg_url,
        **SERVER_ENV,
        "RATE_LIMIT_STREAM_OPENS": "1/4 seconds",
        "RATE_LIMIT_REFUSAL_DELAY_SECONDS": "0",
    }
    user = User()
    async with (
        running(ServerProcess(env, artifacts_dir, f"backoff-{transport}")) as (server,),
        Netcut(server.port) as cut,
    ):
        await window_start(4)  # the open and the reconnect in one window of the budget
        async with (
            TasksyncClient(cut.url, user.token, backoff=FAST) as client,
            LiveTasks(client, transport=transport, backoff=FAST) as live,  # type: ignore[arg-type]
        ):
            await live.wait_until(lambda m: m.connected, timeout=WAIT)
            # The link drops and comes straight back: the reconnect finds the budget spent.
            await cut.refuse()
            await live.wait_until(lambda m: not m.connected, timeout=WAIT)
            await cut.restore()
            await live.wait_until(lambda m: m.connected, timeout=WAIT)
            refused = await metric(server.url, "tasksync_rate_limited_total", budget="streams")
            # At its own backoff (0.05-0.5 s) it would have been refused several times over
            # the 4-second window; waiting as told, once (twice if the window turned meanwhile).
            assert 1 <= refused <= 2, refused


def test_the_wait_the_server_names() -> None:
    limited = api_error(429, b'{"title": "Too many requests"}', httpx.Headers({"Retry-After": "7"}))
    assert isinstance(limited, RateLimited) and server_wait(limited) == 7
    assert server_wait(api_error(503, b"{}", httpx.Headers({"Retry-After": "2"}))) == 2
    assert server_wait(StreamClosed(4429, "too many stream opens; retry in 12 s")) == 12
    assert server_wait(StreamClosed(4429, "too many sockets for this user")) == 5
    assert server_wait(StreamClosed(1012, "restarting")) is None
