"""Refused credentials are answered late (AUTH_REFUSAL_DELAY_SECONDS), so a client stuck
retrying with a bad token gets one attempt per delay per connection instead of as many
as it can send; past AUTH_REFUSALS_HELD_PER_NETWORK waiting at once, a refusal is
answered at once and closes its connection. Real server processes."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import websockets

from tests.support import ServerProcess, User, mint, running

DELAY = 1.0


def refusing_server(pg_url: str, artifacts_dir: Path, **env: str) -> ServerProcess:
    return ServerProcess(
        {"DATABASE_URL": pg_url, "AUTH_REFUSAL_DELAY_SECONDS": str(DELAY), **env}, artifacts_dir, "refusals"
    )


async def test_a_bad_token_loop_gets_one_answer_per_delay_and_others_are_served(
    pg_url: str, artifacts_dir: Path
) -> None:
    expired = {"Authorization": f"Bearer {mint('stale-user', ttl=-120)}"}
    user = User()
    async with running(refusing_server(pg_url, artifacts_dir)) as (server,):
        answered = 0

        async def retry_loop(client: httpx.AsyncClient, until: float) -> None:
            nonlocal answered
            while time.monotonic() < until:
                response = await client.get("/api/tasks", headers=expired)
                assert response.status_code == 401
                answered += 1

        async with (
            httpx.AsyncClient(base_url=server.url, timeout=10) as flood,
            httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=10) as honest,
        ):
            started = time.monotonic()
            until = started + 3 * DELAY
            loops = [asyncio.create_task(retry_loop(flood, until)) for _ in range(4)]
            # A valid token is served meanwhile, not held.
            created = await honest.post("/api/tasks", json={"title": "mine"})
            assert created.status_code == 201
            await asyncio.gather(*loops)
            elapsed = time.monotonic() - started
        # Four connections, each waiting out the delay per refusal: no more answers than that.
        assert answered <= 4 * (elapsed / DELAY + 1), answered


async def test_refusals_made_together_are_answered_apart_and_none_before_the_delay(
    pg_url: str, artifacts_dir: Path
) -> None:
    # Answered at one moment, a flood's connections would retry at one moment, and every
    # process would take the whole wave's work at once, once a delay.
    bad = {"Authorization": "Bearer not-a-token"}
    async with running(refusing_server(pg_url, artifacts_dir)) as (server,):
        clients = [httpx.AsyncClient(base_url=server.url, timeout=10) for _ in range(12)]
        try:
            started = time.monotonic()

            async def answered_after(client: httpx.AsyncClient) -> float:
                assert (await client.get("/api/tasks", headers=bad)).status_code == 401
                return time.monotonic() - started

            after = await asyncio.gather(*(answered_after(c) for c in clients))
        finally:
            for client in clients:
                await client.aclose()
    assert min(after) >= DELAY and max(after) <= 1.5 * DELAY + 0.5, after
    # Spread over half a delay: twelve answers all within 0.15 s of each other would
    # happen by chance about once in 60,000 runs.
    assert max(after) - min(after) >= 0.15, after


async def test_past_the_bound_a_refusal_closes_its_connection(pg_url: str, artifacts_dir: Path) -> None:
    bad = {"Authorization": "Bearer not-a-token"}
    async with running(refusing_server(pg_url, artifacts_dir, AUTH_REFUSALS_HELD_PER_NETWORK="3")) as (
        server,
    ):
        clients = [httpx.AsyncClient(base_url=server.url, timeout=10) for _ in range(8)]
        try:
            answers = await asyncio.gather(*(c.get("/api/tasks", headers=bad) for c in clients))
        finally:
            for client in clients:
                await client.aclose()
        assert {a.status_code for a in answers} == {401}
        closed = [a for a in answers if a.headers.get("connection") == "close"]
        assert len(closed) == 5  # three held at once, the other five answered at once and closed


async def test_a_socket_with_a_bad_token_is_closed_late(pg_url: str, artifacts_dir: Path) -> None:
    async with running(refusing_server(pg_url, artifacts_dir)) as (server,):
        started = time.monotonic()
        async with websockets.connect(server.ws_url) as ws:
            await ws.send(json.dumps({"type": "auth", "token": "forged"}))
            try:
                await asyncio.wait_for(ws.recv(), 10)
            except websockets.ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 4401
        assert time.monotonic() - started >= DELAY
