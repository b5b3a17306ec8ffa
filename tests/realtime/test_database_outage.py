"""A database outage is a `503` with `Retry-After`, not a `500`: while PostgreSQL cannot
be reached, every request says "not written, retry later", the log has one line for the
outage (no traceback per request), `/readyz` says why, and once the database is back a
retried write (same `Idempotency-Key`) applies exactly once."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import websockets

from tests.netcut import Netcut
from tests.support import ServerProcess, User, running, sqlalchemy_url, wait_until


def through(pg_url: str, port: int) -> str:
    parts = urlsplit(pg_url)
    return parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{port}").geturl()


@asynccontextmanager
async def cut_off_server(
    pg_url: str, artifacts_dir: Path, name: str, **env: str
) -> AsyncIterator[tuple[Netcut, ServerProcess, httpx.AsyncClient]]:
    """A server whose path to PostgreSQL goes through a cuttable proxy, and a client of one user."""
    target = urlsplit(pg_url).port or 5432
    async with Netcut(target) as cut:
        settings = {"DATABASE_URL": sqlalchemy_url(through(pg_url, cut.port)), "DB_POOL_SIZE": "3", **env}
        async with (
            running(ServerProcess(settings, artifacts_dir, name)) as (server,),
            httpx.AsyncClient(base_url=server.url, headers=User().headers, timeout=20) as client,
        ):
            yield cut, server, client


async def test_an_unreachable_database_is_503_and_nothing_is_lost(pg_url: str, artifacts_dir: Path) -> None:
    env = {"LOG_LEVEL": "info", "LISTENER_HEALTH_SECONDS": "1", "LISTENER_TIMEOUT_SECONDS": "1"}
    async with cut_off_server(pg_url, artifacts_dir, "outage", **env) as (cut, server, client):
        first = await client.post("/api/tasks", json={"title": "before"})
        assert first.status_code == 201

        await cut.refuse()
        key = str(uuid.uuid4())
        answers = []
        for _ in range(12):
            answers.append(await client.get("/api/tasks"))
            answers.append(
                await client.post("/api/tasks", json={"title": "during"}, headers={"Idempotency-Key": key})
            )
            answers.append(await client.patch(f"/api/tasks/{first.json()['id']}/complete"))
        assert {r.status_code for r in answers} == {503}, [r.text for r in answers if r.status_code != 503]
        for response in answers:
            assert response.headers["content-type"].startswith("application/problem+json")
            assert int(response.headers["retry-after"]) >= 1
        ready = await client.get("/readyz")
        assert ready.status_code == 503 and "database" in ready.json()["detail"]
        records = server.log_records()
        assert [r["message"].startswith("database unreachable") for r in records].count(True) == 1
        assert [r for r in records if "exception" in r or r.get("status") == 500] == []
        assert "Traceback" not in server.log_path.read_text()  # nor on stderr outside the log

        await cut.restore()
        retried = await wait_until(
            lambda: _created(client, key),
            timeout=30,
            message="writes did not succeed after the database came back",
        )
        again = await client.post("/api/tasks", json={"title": "during"}, headers={"Idempotency-Key": key})
        assert again.json() == retried.json() and again.headers["idempotent-replayed"] == "true"
        page = (await client.get("/api/tasks")).json()
        assert sorted(t["title"] for t in page["items"]) == ["before", "during"]
        assert page["items"][-1]["completed"] is False  # no toggle got through
        await wait_until(lambda: _ready(client), timeout=30, message="/readyz did not recover")


async def _created(client: httpx.AsyncClient, key: str) -> httpx.Response | None:
    response = await client.post("/api/tasks", json={"title": "during"}, headers={"Idempotency-Key": key})
    return response if response.status_code == 201 else None


async def _ready(client: httpx.AsyncClient) -> bool:
    return (await client.get("/readyz")).status_code == 200


async def test_a_silent_partition_is_answered_503_not_hung(pg_url: str, artifacts_dir: Path) -> None:
    # Packets to PostgreSQL dropped, not refused: nothing ever fails on its own. The
    # clients' timeouts below are far above the server's bounds (1.5 s for /readyz, 2 s
    # per statement or connect here) and far below TCP's own minutes: a hang fails it.
    env = {"DB_TIMEOUT_SECONDS": "2", "LISTENER_HEALTH_SECONDS": "1", "LISTENER_TIMEOUT_SECONDS": "1"}
    async with cut_off_server(pg_url, artifacts_dir, "partition", **env) as (cut, server, client):
        first = await client.post("/api/tasks", json={"title": "before"})
        assert first.status_code == 201
        auth = {"Authorization": client.headers["authorization"]}
        socket = await websockets.connect(f"{server.ws_url}?since=1", additional_headers=auth)
        assert json.loads(await asyncio.wait_for(socket.recv(), 10))["type"] == "hello"
        await cut.blackhole()
        silent_since = time.monotonic()
        ready = await client.get("/readyz", timeout=5)
        assert ready.status_code == 503 and "database" in ready.json()["detail"]
        key = str(uuid.uuid4())
        for response in (
            await client.get("/api/tasks"),
            await client.post("/api/tasks", json={"title": "during"}, headers={"Idempotency-Key": key}),
        ):
            assert response.status_code == 503, response.text
            assert int(response.headers["retry-after"]) >= 1
        # A database that says nothing may be one this process is too busy to hear (a
        # reconnect storm): its streams stay well past the listener's 5 s, where one
        # that refuses ends them at once (test_faults: a host cut off from PostgreSQL).
        await asyncio.sleep(max(0.0, silent_since + 10 - time.monotonic()))
        await socket.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(socket.recv(), 10)) == {"type": "pong"}
        await cut.restore()
        retried = await wait_until(
            lambda: _created(client, key),
            timeout=30,
            message="writes did not come back after the partition",
        )
        page = (await client.get("/api/tasks")).json()
        assert sorted(t["title"] for t in page["items"]) == ["before", "during"]
        assert retried.json()["title"] == "during"
        # The socket kept through the partition has the write made after it.
        event = json.loads(await asyncio.wait_for(socket.recv(), 15))
        assert event["seq"] == 2 and event["task"]["title"] == "during", event
        await socket.close()
