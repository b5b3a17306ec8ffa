"""Request bodies as the HTTP server frames them: a Content-Length that lies either way,
framing that disagrees with itself (the request-smuggling shapes), chunked bodies, and
the size limit — answered cleanly, and never by running a request the client did not send."""

from __future__ import annotations

import httpx
import pytest

from tests.http_layer.conftest import titles
from tests.http_layer.wire import Wire, json_body, request
from tests.support import ServerProcess, User, metric, metric_sample

JSON = ("Content-Type", "application/json")


async def test_a_content_length_shorter_than_the_body_reads_only_what_it_says(
    server: ServerProcess, user: User, api: httpx.AsyncClient
) -> None:
    body = b'{"title": "cut short"}'
    async with Wire(server.port) as wire:
        await wire.send(
            request("POST", "/api/tasks", user=user, headers=[JSON], body=body, content_length=12)
        )
        # The app's answer (400: the 12 bytes are no JSON) or, as uvicorn parses the
        # bytes past the length as the next request at once, its own 400 for those: a
        # refusal either way, and the connection ends.
        refused = await wire.response()
        assert refused.status == 400
        assert not refused.is_problem or "not valid JSON" in refused.json()["detail"]
        rest = await wire.until_closed()
        assert rest is not None and (rest == b"" or rest.startswith(b"HTTP/1.1 400 ")), rest
    assert await titles(api) == []


async def test_the_bytes_past_a_short_content_length_are_the_next_request(
    server: ServerProcess, user: User, api: httpx.AsyncClient
) -> None:
    # What a length means on the wire: a complete body, then whatever follows is read
    # as the next request on the connection, never glued to the first one's body.
    first = json_body({"title": "first"})[1]
    second = request("POST", "/api/tasks", user=user, headers=[JSON], body=b'{"title": "second"}')
    async with Wire(server.port) as wire:
        await wire.send(
            request(
                "POST",
                "/api/tasks",
                user=user,
                headers=[JSON],
                body=first + second,
                content_length=len(first),
            )
        )
        assert [(await wire.response()).status for _ in range(2)] == [201, 201]
    assert await titles(api) == ["first", "second"]


async def test_a_body_sent_in_pieces_is_read_whole(
    server: ServerProcess, user: User, api: httpx.AsyncClient
) -> None:
    raw = request("POST", "/api/tasks", user=user, headers=[JSON], body=b'{"title": "in pieces"}')
    async with Wire(server.port) as wire:
        for start in range(0, len(raw), 7):
            await wire.send(raw[start : start + 7])
        assert (await wire.response()).status == 201
    assert await titles(api) == ["in pieces"]


async def test_a_content_length_longer_than_the_body_then_a_hang_up_is_no_server_error(
    server: ServerProcess, user: User, api: httpx.AsyncClient
) -> None:
    errors_before = metric_sample(
        await _metrics(api), "tasksync_http_request_duration_seconds_count", **_CREATE_500
    )
    async with Wire(server.port) as wire:
        await wire.send(
            request(
                "POST", "/api/tasks", user=user, headers=[JSON], body=b'{"title": "x"}', content_length=500
            )
        )
        wire.end_sending()  # the client gives up before the promised 500 bytes
        assert await wire.closed()
    # Nothing was created, the server stays up, and it did not count or log the client's
    # hang-up as an error of its own.
    assert await titles(api) == []
    assert (
        metric_sample(await _metrics(api), "tasksync_http_request_duration_seconds_count", **_CREATE_500)
        == errors_before
    )
    assert await metric(server.url, "tasksync_http_request_duration_seconds_count", **_CREATE_499) >= 1
    records = server.log_records()
    assert records, "the server logged no JSON lines to look at"
    assert [r for r in records if r.get("level") in ("error", "critical")] == []


async def test_a_body_that_stops_arriving_is_a_408_and_the_connection_is_closed(
    server: ServerProcess, user: User, api: httpx.AsyncClient
) -> None:
    async with Wire(server.port) as wire:
        await wire.send(
            request(
                "POST", "/api/tasks", user=user, headers=[JSON], body=b'{"title": "x"}', content_length=500
            )
        )
        # The client keeps the connection open and sends nothing more: after the
        # module's BODY_TIMEOUT_SECONDS (1 s) the server answers instead of waiting for ever.
        refused = await wire.response()
        assert refused.status == 408
        assert refused.is_problem and refused.json()["type"] == "urn:tasksync:problem:request-timeout"
        assert refused.header("connection") == "close"
        assert await wire.closed()
    assert await titles(api) == []


_CREATE_500 = {"route": "/api/tasks", "method": "POST", "status": "500"}
_CREATE_499 = {**_CREATE_500, "status": "499"}


async def _metrics(api: httpx.AsyncClient) -> str:
    return (await api.get("/metrics")).text


@pytest.mark.parametrize(
    "framing",
    [
        [("Content-Length", "14"), ("Transfer-Encoding", "chunked")],
        [("Content-Length", "14"), ("Content-Length", "15")],
        [("Content-Length", "-1")],
        [("Content-Length", "14x")],
        [("Content-Length", "0x0e")],
        [("Transfer-Encoding", "gzip, chunked, identity")],
    ],
    ids=["length-and-chunked", "two-lengths", "negative", "garbage", "hex", "unknown-coding"],
)
async def test_framing_that_contradicts_itself_is_refused(
    server: ServerProcess, user: User, api: httpx.AsyncClient, framing: list[tuple[str, str]]
) -> None:
    # Where a proxy and this server could read the body differently, neither reading
    # may win: the request is refused and the connection closed.
    async with Wire(server.port) as wire:
        await wire.send(
            request("POST", "/api/tasks", user=user, headers=[JSON, *framing], body=b'{"title": "x"}')
        )
        refused = await wire.response()
        assert refused.status in (400, 501)
        assert await wire.closed()
    assert await titles(api) == []


async def test_a_chunked_body_is_read(server: ServerProcess, user: User, api: httpx.AsyncClient) -> None:
    chunks = b"5\r\n" + b'{"tit' + b"\r\n" + b"d\r\n" + b'le": "chunks"' + b"\r\n1\r\n}\r\n0\r\n\r\n"
    async with Wire(server.port) as wire:
        await wire.send(
            request(
                "POST",
                "/api/tasks",
                user=user,
                headers=[JSON, ("Transfer-Encoding", "chunked")],
                body=chunks,
                content_length=None,
            ).replace(b"Content-Length: %d\r\n" % len(chunks), b"")
        )
        assert (await wire.response()).status == 201
    assert await titles(api) == ["chunks"]


async def test_a_broken_chunk_is_refused(server: ServerProcess, user: User, api: httpx.AsyncClient) -> None:
    broken = b'zz\r\n{"title": "x"}\r\n0\r\n\r\n'
    async with Wire(server.port) as wire:
        raw = request(
            "POST", "/api/tasks", user=user, headers=[JSON, ("Transfer-Encoding", "chunked")], body=broken
        )
        await wire.send(raw.replace(b"Content-Length: %d\r\n" % len(broken), b""))
        assert (await wire.response()).status == 400
        assert await wire.closed()
    assert await titles(api) == []


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_a_body_over_the_limit_is_a_413_problem(
    server: ServerProcess, api: httpx.AsyncClient, declared: bool
) -> None:
    big = b'{"title": "' + b"b" * (1024 * 1024) + b'"}'
    content: bytes | object = big if declared else _chunks(big)
    response = await api.post("/api/tasks", content=content, headers={"Content-Type": "application/json"})  # type: ignore[arg-type]
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 413
    assert await titles(api) == []


async def _chunks(data: bytes):  # type: ignore[no-untyped-def]
    for start in range(0, len(data), 64 * 1024):
        yield data[start : start + 64 * 1024]
