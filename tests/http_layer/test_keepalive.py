"""Connections as clients reuse them: many requests on one keep-alive connection (after
errors too), pipelining, `Connection: close`, HTTP/1.0, and idle connections."""

from __future__ import annotations

import httpx

from tests.http_layer.conftest import titles
from tests.http_layer.wire import Wire, json_body, request
from tests.support import ServerProcess, User

JSON = ("Content-Type", "application/json")


async def test_one_connection_carries_a_whole_session_errors_included(
    server: ServerProcess, user: User, api: httpx.AsyncClient
) -> None:
    headers, body = json_body({"title": "kept alive"})
    async with Wire(server.port) as wire:
        await wire.send(request("POST", "/api/tasks", user=user, headers=headers, body=body))
        created = await wire.response()
        assert created.status == 201 and created.header("connection") != "close"
        task = created.json()
        path = f"/api/tasks/{task['id']}"
        # Each of the app's refusals leaves the connection usable for the next request.
        steps = [
            (request("GET", path, user=user), 200),
            (request("POST", "/api/tasks", user=user, headers=[JSON], body=b"{not json"), 400),
            (
                request("POST", "/api/tasks", user=user, headers=[("Content-Type", "text/plain")], body=b"x"),
                415,
            ),
            (request("POST", "/api/tasks", user=user, headers=[JSON], body=b'{"title": ""}'), 422),
            (
                request(
                    "PATCH", path, user=user, headers=[JSON, ("If-Match", '"9"')], body=b'{"title": "x"}'
                ),
                412,
            ),
            (request("GET", "/api/no-such-route", user=user), 404),
            (request("GET", "/api/tasks"), 401),
            (request("PATCH", path, user=user, headers=[JSON], body=b'{"title": "renamed"}'), 200),
            (request("DELETE", path, user=user), 204),
            (request("GET", path, user=user), 404),
        ]
        for raw, status in steps:
            await wire.send(raw)
            answered = await wire.response()
            assert answered.status == status, (raw[:60], answered.status, answered.body[:200])
            assert answered.header("connection") != "close"
            if status >= 400:
                assert answered.is_problem
    assert await titles(api) == []


async def test_pipelined_requests_are_answered_in_order(server: ServerProcess, user: User) -> None:
    batch = b"".join(
        request("POST", "/api/tasks", user=user, headers=[JSON], body=b'{"title": "p%d"}' % i)
        for i in range(5)
    )
    async with Wire(server.port) as wire:
        await wire.send(batch + request("GET", "/api/tasks", user=user))
        created = [await wire.response() for _ in range(5)]
        listed = await wire.response()
    assert [r.status for r in created] == [201] * 5
    assert [r.json()["title"] for r in created] == [f"p{i}" for i in range(5)]
    assert [t["title"] for t in listed.json()["items"]] == [f"p{i}" for i in reversed(range(5))]


async def test_connection_close_is_honoured(server: ServerProcess, user: User) -> None:
    async with Wire(server.port) as wire:
        await wire.send(request("GET", "/api/tasks", user=user, headers=[("Connection", "close")]))
        answered = await wire.response()
        assert answered.status == 200 and answered.header("connection") == "close"
        assert await wire.closed()


async def test_http_1_0_is_answered_and_closed(server: ServerProcess) -> None:
    async with Wire(server.port) as wire:
        await wire.send(request("GET", "/healthz", version="HTTP/1.0", host=False))
        answered = await wire.response()
        assert answered.status == 200 and answered.json() == {"status": "ok"}
        assert await wire.closed()


async def test_an_idle_connection_is_closed_by_the_server(server: ServerProcess, user: User) -> None:
    async with Wire(server.port) as wire:
        await wire.send(request("GET", "/api/tasks", user=user))
        assert (await wire.response()).status == 200
        # uvicorn's keep-alive timeout is 5 s: an idle connection does not stay forever.
        assert await wire.closed(timeout=30)


async def test_garbage_instead_of_http_is_refused(server: ServerProcess) -> None:
    async with Wire(server.port) as wire:
        await wire.send(
            b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03" + b"\x00" * 40 + b"\r\n\r\n"
        )  # a TLS hello
        assert (await wire.response()).status == 400
        assert await wire.closed()
