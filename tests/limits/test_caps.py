"""Caps on what is held open: a user's streams of every kind count together against one
cap, and sockets still authenticating by their first message are capped per client
address and per process — against a real server."""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from pathlib import Path

import asyncpg
import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.support import ServerProcess, User, running, wait_for_metric, wait_until


async def hello(ws: websockets.ClientConnection) -> dict[str, object]:
    frame: dict[str, object] = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert frame["type"] == "hello", frame
    return frame


async def test_sockets_sse_and_long_polls_share_one_cap_per_user(pg_url: str, artifacts_dir: Path) -> None:
    user, other = User(), User()
    env = {"DATABASE_URL": pg_url, "MAX_STREAMS_PER_USER": "3"}
    async with (
        running(ServerProcess(env, artifacts_dir, "caps")) as (server,),
        httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=30) as client,
    ):
        ws = await websockets.connect(server.ws_url, additional_headers=user.headers)
        await hello(ws)
        async with client.stream("GET", "/api/events") as sse:
            assert sse.status_code == 200
            poll = asyncio.create_task(client.get("/api/changes", params={"since": 0, "wait": 25}))
            await wait_for_metric(server.url, "tasksync_open_streams", lambda v: v == 1, transport="poll")
            # Three held: a fourth of any kind is refused.
            refused = await client.get("/api/events")
            assert refused.status_code == 429 and refused.headers["retry-after"] == "5"
            assert "too many open streams" in refused.json()["detail"]
            assert (await client.get("/api/changes", params={"since": 0, "wait": 5})).status_code == 429
            extra = await websockets.connect(server.ws_url, additional_headers=user.headers)
            with pytest.raises(ConnectionClosed) as closed:
                await asyncio.wait_for(extra.recv(), 10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4429
            # Another user is not affected.
            theirs = await websockets.connect(server.ws_url, additional_headers=other.headers)
            await hello(theirs)
            await theirs.close()
            # The poll ends with an event; its place is free again.
            assert (await client.post("/api/tasks", json={"title": "wake"})).status_code == 201
            assert (await poll).json()["events"][0]["task"]["title"] == "wake"
        await ws.close()
        await wait_for_metric(server.url, "tasksync_open_streams", lambda v: v == 0, transport="sse")
        again = await websockets.connect(server.ws_url, additional_headers=user.headers)
        await hello(again)
        await again.close()


async def test_unauthenticated_sockets_are_capped_per_address_and_process(
    pg_url: str, artifacts_dir: Path
) -> None:
    user = User()
    env = {
        "DATABASE_URL": pg_url,
        "WS_MAX_UNAUTHENTICATED_PER_ADDRESS": "2",
        "WS_MAX_UNAUTHENTICATED": "3",
        "WS_AUTH_TIMEOUT_SECONDS": "30",
    }
    async with running(ServerProcess(env, artifacts_dir, "pending")) as (server,):
        silent = [await websockets.connect(server.ws_url) for _ in range(2)]
        with pytest.raises(InvalidStatus) as refused:
            await websockets.connect(server.ws_url)
        assert refused.value.response.status_code == 429
        assert refused.value.response.headers["Retry-After"] == "5"
        # Another address still gets one more, up to the process-wide cap of three.
        elsewhere = await websockets.connect(server.ws_url, local_addr=("127.0.0.2", 0))
        with pytest.raises(InvalidStatus):
            await websockets.connect(server.ws_url, local_addr=("127.0.0.3", 0))
        # A socket with a header token is authenticated at once: never counted.
        direct = await websockets.connect(server.ws_url, additional_headers=user.headers)
        await hello(direct)
        # Authenticating one of the silent sockets frees its place.
        await silent[0].send(json.dumps({"type": "auth", "token": user.token}))
        await hello(silent[0])
        newcomer = await websockets.connect(server.ws_url)
        await newcomer.send(json.dumps({"type": "auth", "token": user.token}))
        await hello(newcomer)
        for ws in (*silent, elsewhere, direct, newcomer):
            await ws.close()


async def test_sockets_opening_at_once_are_bounded_and_the_rest_told_when_to_come_back(
    pg_url: str, artifacts_dir: Path
) -> None:
    """A host's worth of sockets reconnecting at once: past WS_MAX_OPENING a handshake is
    refused 429 with a Retry-After before any work, while the sockets already open stay
    served and those being opened finish."""
    users = [User() for _ in range(4)]
    env = {"DATABASE_URL": pg_url, "WS_MAX_OPENING": "2"}
    async with running(ServerProcess(env, artifacts_dir, "openings")) as (server,):
        served = await websockets.connect(server.ws_url, additional_headers=users[0].headers)
        await hello(served)
        # The catch-up read of a socket resuming from `since` waits behind this lock, so
        # the sockets opening now stay opening.
        lock = await asyncpg.connect(pg_url)
        held: list[websockets.ClientConnection] = []
        try:
            transaction = lock.transaction()
            await transaction.start()
            await lock.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            resuming = f"{server.ws_url}?since=0"
            for user in users[1:3]:
                held.append(await websockets.connect(resuming, additional_headers=user.headers))
            # Counted open once authenticated; both now wait at their catch-up read.
            await wait_for_metric(server.url, "tasksync_open_sockets", lambda v: v == 3)
            with pytest.raises(InvalidStatus) as refused:
                await websockets.connect(server.ws_url, additional_headers=users[3].headers)
            answer = refused.value.response
            assert answer.status_code == 429
            assert 1 <= int(answer.headers["Retry-After"]) <= 30
            assert "many sockets are opening" in json.loads(answer.body)["detail"]
            await served.send(json.dumps({"type": "ping"}))
            assert json.loads(await asyncio.wait_for(served.recv(), 10)) == {"type": "pong"}
            await transaction.rollback()
            for ws in held:
                await hello(ws)
            later = await websockets.connect(server.ws_url, additional_headers=users[3].headers)
            await hello(later)
            held.append(later)
        finally:
            await lock.close()
            for ws in [served, *held]:
                await ws.close()
        await wait_for_metric(server.url, "tasksync_socket_openings_refused_total", lambda v: v == 1)
        # A refusal is routine, not a fault: no error line for it (uvicorn's own false one
        # after a denial response included).
        assert [r["message"] for r in server.log_records() if r.get("level") == "error"] == []


async def test_one_users_sockets_waiting_their_turn_leave_the_openings_to_others(
    pg_url: str, artifacts_dir: Path
) -> None:
    """A user's sockets open one at a time per process; those waiting for their turn hold
    no place among the sockets opening, so another user's socket still opens."""
    busy, other = User(), User()
    env = {"DATABASE_URL": pg_url, "WS_MAX_OPENING": "2"}
    async with running(ServerProcess(env, artifacts_dir, "openings-turn")) as (server,):
        lock = await asyncpg.connect(pg_url)
        opened: list[websockets.ClientConnection] = []
        waiting: list[asyncio.Task[websockets.ClientConnection]] = []
        try:
            transaction = lock.transaction()
            await transaction.start()
            await lock.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            resuming = f"{server.ws_url}?since=0"
            # The busy user's first socket holds its turn, stuck at its catch-up read...
            opened.append(await websockets.connect(resuming, additional_headers=busy.headers))
            # ...and its next two wait for their turn, their handshakes unanswered.

            async def connect() -> websockets.ClientConnection:
                return await websockets.connect(resuming, additional_headers=busy.headers)

            waiting = [asyncio.create_task(connect()) for _ in range(2)]
            await asyncio.sleep(0.5)
            assert not any(task.done() for task in waiting)
            # One opening is taken, one is free: the other user's socket gets it.
            opened.append(await websockets.connect(resuming, additional_headers=other.headers))
            await transaction.rollback()
            opened.extend([await asyncio.wait_for(task, 10) for task in waiting])
            for ws in opened:
                await hello(ws)
        finally:
            await lock.close()
            for task in waiting:
                task.cancel()
            for ws in opened:
                await ws.close()


async def test_a_users_socket_messages_take_that_users_turn_and_no_one_elses(
    pg_url: str, artifacts_dir: Path
) -> None:
    """A message a socket sends is handled at its user's place at work, like a request:
    while that user's other socket holds the place (stuck at its catch-up), the ping
    waits; another user's ping is answered at once."""
    busy, other = User(), User()
    env = {"DATABASE_URL": pg_url}
    async with running(ServerProcess(env, artifacts_dir, "message-turn")) as (server,):
        live = await websockets.connect(server.ws_url, additional_headers=busy.headers)
        bystander = await websockets.connect(server.ws_url, additional_headers=other.headers)
        lock = await asyncpg.connect(pg_url)
        stuck: websockets.ClientConnection | None = None
        try:
            await hello(live)
            await hello(bystander)
            transaction = lock.transaction()
            await transaction.start()
            await lock.execute("LOCK TABLE events IN ACCESS EXCLUSIVE MODE")
            # The busy user's second socket takes its turn and sticks at its catch-up.
            stuck = await websockets.connect(f"{server.ws_url}?since=0", additional_headers=busy.headers)
            await asyncio.sleep(0.3)
            await live.send('{"type":"ping"}')
            pong = asyncio.create_task(live.recv())
            await bystander.send('{"type":"ping"}')
            assert json.loads(await asyncio.wait_for(bystander.recv(), 5)) == {"type": "pong"}
            await asyncio.sleep(0.5)
            assert not pong.done()  # the busy user's ping waits for that user's turn
            await transaction.rollback()
            assert json.loads(await asyncio.wait_for(pong, 10)) == {"type": "pong"}
            await hello(stuck)
        finally:
            await lock.close()
            for ws in (live, bystander, stuck):
                if ws is not None:
                    await ws.close()


async def test_a_client_that_leaves_mid_handshake_is_no_error(pg_url: str, artifacts_dir: Path) -> None:
    """Clients that give up waiting for their handshake (a reconnect storm's timeouts) are
    logged as sockets closed 1006, not as failures with tracebacks."""
    user = User()
    env = {"DATABASE_URL": pg_url, "LOG_LEVEL": "info"}
    async with running(ServerProcess(env, artifacts_dir, "leavers")) as (server,):
        request = (
            f"GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            f"Sec-WebSocket-Version: 13\r\nAuthorization: Bearer {user.token}\r\n\r\n"
        ).encode()
        for _ in range(30):
            _, writer = await asyncio.open_connection("127.0.0.1", server.port)
            writer.write(request)
            await writer.drain()
            # Gone with a reset, before the server can answer.
            sock = writer.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            writer.close()
        await wait_until(lambda: _closed(server, 25), timeout=10, message="the server never saw them leave")
        errors = [r["message"] for r in server.log_records() if r.get("level") in ("error", "critical")]
        assert errors == []
        # The server still opens sockets.
        ws = await websockets.connect(server.ws_url, additional_headers=user.headers)
        await hello(ws)
        await ws.close()


async def _closed(server: ServerProcess, at_least: int) -> bool:
    return sum(1 for r in server.log_records() if r.get("message") == "websocket closed") >= at_least
