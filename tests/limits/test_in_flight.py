"""One user's requests in flight (MAX_REQUESTS_IN_FLIGHT_PER_USER) and at work
(MAX_REQUESTS_AT_WORK_PER_USER) at once are bounded per process: past the bounds its
requests wait their turn while every other user is served, so one user's burst never
takes every database connection. A real server; two requests whose bodies are still
arriving hold the user's places in flight (and none at work)."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import httpx

from tests.http_layer.wire import Wire, request
from tests.support import ServerProcess, User, running

JSON = ("Content-Type", "application/json")


async def test_past_its_bound_a_users_request_waits_and_others_are_served(
    pg_url: str, artifacts_dir: Path
) -> None:
    env = {"DATABASE_URL": pg_url, "MAX_REQUESTS_IN_FLIGHT_PER_USER": "2", "BODY_TIMEOUT_SECONDS": "30"}
    busy, other = User(), User()
    async with (
        running(ServerProcess(env, artifacts_dir, "in-flight")) as (server,),
        Wire(server.port) as first,
        Wire(server.port) as second,
        httpx.AsyncClient(base_url=server.url, timeout=20) as http,
    ):
        # Two creates whose bodies have not all arrived: both places of the busy user taken.
        for wire in (first, second):
            await wire.send(
                request("POST", "/api/tasks", user=busy, headers=[JSON], body=b'{"title":', content_length=15)
            )
        third = asyncio.create_task(http.get("/api/tasks", headers=busy.headers))
        # Another user is served meanwhile; the busy user's third request is still waiting.
        assert (await http.get("/api/tasks", headers=other.headers)).status_code == 200
        assert (await http.post("/api/tasks", json={"title": "t"}, headers=other.headers)).status_code == 201
        assert not third.done()
        # One body completes: its create answers, and the waiting read takes the freed place.
        await first.send(b' "a"}\n')
        assert (await first.response()).status == 201
        answered = await asyncio.wait_for(third, 10)
        assert answered.status_code == 200 and [t["title"] for t in answered.json()["items"]] == ["a"]
        await second.send(b' "b"}\n')
        assert (await second.response()).status == 201


async def unread_request(
    port: int, user: User, path: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A request whose client then reads nothing (and has a tiny receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    reader, writer = await asyncio.open_connection(sock=sock)
    writer.write(request("GET", path, user=user))
    await writer.drain()
    return reader, writer


async def test_a_response_nobody_reads_is_cut_after_the_send_timeout(
    pg_url: str, artifacts_dir: Path
) -> None:
    # A client asks for a large page and stops reading. Past SEND_TIMEOUT_SECONDS the
    # request ends and the server lets the response go: what the client can still read
    # is what was already on its way, then the connection closes. Pages of up to 16 MiB
    # here, so that a response is far larger than the kernel's socket buffers.
    env = {"DATABASE_URL": pg_url, "SEND_TIMEOUT_SECONDS": "1", "MAX_PAGE_BYTES": str(16 * 1024 * 1024)}
    user = User()
    async with (
        running(ServerProcess(env, artifacts_dir, "unread")) as (server,),
        httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=20) as http,
    ):
        big = {"description": "😀" * 10_000}  # 40,000 bytes
        for i in range(200):  # a page of about 8 MB
            response = await http.post("/api/tasks", json={"title": f"t{i}", **big})
            assert response.status_code == 201
        reader, writer = await unread_request(server.port, user, "/api/tasks?limit=500")
        try:
            await asyncio.sleep(3)  # the client reads nothing, past the send timeout
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
            length = int(
                next(
                    line.split(b":")[1]
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length")
                )
            )
            body = await asyncio.wait_for(reader.read(), 20)  # until the server closes
            assert length > 8_000_000 and len(body) < length / 2, (length, len(body))
            assert (await http.get("/api/tasks", params={"limit": 1})).status_code == 200
        finally:
            writer.transport.abort()


async def test_a_response_being_sent_does_not_hold_up_the_users_next_request(
    pg_url: str, artifacts_dir: Path
) -> None:
    # One place at work: a response that has started holds only its place in flight, so
    # a phone slowly reading a large page leaves the same user's laptop served at once
    # (once the page's pace allows: here a pace that lets it go at once).
    env = {
        "DATABASE_URL": pg_url,
        "MAX_REQUESTS_AT_WORK_PER_USER": "1",
        "MAX_RESPONSE_BYTES_PER_SECOND_PER_USER": str(1024**3),
        "SEND_TIMEOUT_SECONDS": "60",
        "MAX_PAGE_BYTES": str(16 * 1024 * 1024),
    }
    user = User()
    async with (
        running(ServerProcess(env, artifacts_dir, "at-work")) as (server,),
        httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=20) as http,
    ):
        big = {"description": "😀" * 10_000}
        for i in range(200):  # a page of about 8 MB: far more than the socket buffers
            assert (await http.post("/api/tasks", json={"title": f"t{i}", **big})).status_code == 201
        reader, writer = await unread_request(server.port, user, "/api/tasks?limit=500")
        try:
            await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)  # it has started
            # Still being sent (nobody reads it) for up to a minute; meanwhile:
            answered = await asyncio.wait_for(http.get("/api/tasks", params={"limit": 1}), 5)
            assert answered.status_code == 200
            created = await asyncio.wait_for(http.post("/api/tasks", json={"title": "more"}), 5)
            assert created.status_code == 201
        finally:
            writer.transport.abort()


async def test_a_users_large_pages_are_built_at_its_pace_and_other_users_are_not_held(
    pg_url: str, artifacts_dir: Path
) -> None:
    # Large answers cost the database and the process their bytes: one user's are paced
    # (MAX_RESPONSE_BYTES_PER_SECOND_PER_USER, here 1 MiB/s) so that a burst of pages is
    # not built back to back; a small answer, or another user's, is not held.
    env = {"DATABASE_URL": pg_url, "MAX_RESPONSE_BYTES_PER_SECOND_PER_USER": str(1024 * 1024)}
    user, other = User(), User()
    async with (
        running(ServerProcess(env, artifacts_dir, "paced")) as (server,),
        httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=20) as http,
    ):
        big = {"description": "😀" * 10_000}  # 40,000 bytes
        for i in range(30):  # a page of about 1 MiB (the default MAX_PAGE_BYTES)
            assert (await http.post("/api/tasks", json={"title": f"t{i}", **big})).status_code == 201
        started = asyncio.get_running_loop().time()

        async def page() -> tuple[float, int]:
            response = await http.get("/api/tasks", params={"limit": 100})
            assert response.status_code == 200
            return asyncio.get_running_loop().time() - started, len(response.content)

        pages = [asyncio.create_task(page()) for _ in range(2)]
        await asyncio.sleep(0.2)  # the first page has started: the second waits its turn
        other_read = await http.get("/api/tasks", headers=other.headers)
        assert other_read.status_code == 200 and other_read.elapsed.total_seconds() < 0.5
        (first, size), (second, _) = sorted(await asyncio.gather(*pages))
        assert size > 900_000
        assert second - first > 0.8 * size / (1024 * 1024), (first, second, size)


async def test_a_refusal_held_back_holds_none_of_the_users_places(pg_url: str, artifacts_dir: Path) -> None:
    # A client over its write budget has its refusals answered a second late; meanwhile
    # its reads, on the same process with its one place at work, are answered at once.
    env = {
        "DATABASE_URL": pg_url,
        "MAX_REQUESTS_AT_WORK_PER_USER": "1",
        "RATE_LIMIT_WRITES": "1/minute",
        "RATE_LIMIT_REFUSAL_DELAY_SECONDS": "3",
    }
    user = User()
    async with (
        running(ServerProcess(env, artifacts_dir, "held-refusal")) as (server,),
        httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=20) as http,
    ):
        assert (await http.post("/api/tasks", json={"title": "a"})).status_code == 201
        refused = [asyncio.create_task(http.post("/api/tasks", json={"title": "b"})) for _ in range(3)]
        await asyncio.sleep(0.5)  # the refusals are being held back
        assert not any(task.done() for task in refused)
        read = await asyncio.wait_for(http.get("/api/tasks"), 2)
        assert read.status_code == 200 and [t["title"] for t in read.json()["items"]] == ["a"]
        assert [(await task).status_code for task in refused] == [429, 429, 429]


async def test_a_body_still_arriving_does_not_hold_up_the_users_other_requests(
    pg_url: str, artifacts_dir: Path
) -> None:
    # One place at work: a create whose body is slow to come (a phone on a bad network)
    # waits for it holding no place at work, so the same user's other requests go on.
    env = {"DATABASE_URL": pg_url, "MAX_REQUESTS_AT_WORK_PER_USER": "1", "BODY_TIMEOUT_SECONDS": "30"}
    user = User()
    async with (
        running(ServerProcess(env, artifacts_dir, "slow-body")) as (server,),
        Wire(server.port) as slow,
        httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=20) as http,
    ):
        await slow.send(
            request("POST", "/api/tasks", user=user, headers=[JSON], body=b'{"title":', content_length=15)
        )
        await asyncio.sleep(0.3)  # its body has begun, and stalls
        assert (await asyncio.wait_for(http.post("/api/tasks", json={"title": "fast"}), 5)).status_code == 201
        assert (await asyncio.wait_for(http.get("/api/tasks"), 5)).status_code == 200
        await slow.send(b' "s"}\n')  # 15 bytes in all
        assert (await slow.response()).status == 201
        titles = [t["title"] for t in (await http.get("/api/tasks")).json()["items"]]
        assert sorted(titles) == ["fast", "s"]
