"""Request headers as the HTTP server sees them: control characters, obsolete forms,
the app's bounded headers, and the size and count limits."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
import pytest

from tests.http_layer.conftest import titles
from tests.http_layer.wire import RawResponse, Wire, json_body, request
from tests.support import ServerProcess, User

CONTROL_CHARACTERS = {"NUL": b"\x00", "SOH": b"\x01", "ESC": b"\x1b", "DEL": b"\x7f", "bare CR": b"\r"}


@pytest.mark.parametrize("char", CONTROL_CHARACTERS.values(), ids=CONTROL_CHARACTERS.keys())
async def test_a_control_character_in_a_header_value_is_refused_before_the_app(
    server: ServerProcess, user: User, api: httpx.AsyncClient, char: bytes
) -> None:
    headers, body = json_body({"title": "never created"})
    async with Wire(server.port) as wire:
        await wire.send(
            request(
                "POST",
                "/api/tasks",
                user=user,
                headers=[*headers, ("X-Client-Id", b"tab" + char + b"7")],
                body=body,
            )
        )
        refused = await wire.response()
        assert refused.status == 400
        assert await wire.closed()
    assert await titles(api) == []


async def test_a_tab_in_a_header_value_is_kept(
    server: ServerProcess, user: User, api: httpx.AsyncClient
) -> None:
    headers, body = json_body({"title": "tabbed"})
    async with Wire(server.port) as wire:
        await wire.send(
            request(
                "POST", "/api/tasks", user=user, headers=[*headers, ("X-Client-Id", b"tab\t7")], body=body
            )
        )
        created = await wire.response()
    assert created.status == 201, created.body
    changes = (await api.get("/api/changes", params={"since": "0"})).json()
    assert [event["origin"] for event in changes["events"]] == ["tab\t7"]


@pytest.mark.parametrize(
    "value", [b"caf\xe9", b"\xff\xfe", b"\xc3\xa9t\xc3\xa9"], ids=["latin-1", "bytes", "utf-8"]
)
async def test_bytes_beyond_ascii_in_header_values_are_never_a_server_error(
    server: ServerProcess, user: User, value: bytes
) -> None:
    headers, body = json_body({"title": "odd bytes"})
    async with Wire(server.port) as wire:
        for name in ("X-Client-Id", "Idempotency-Key", "If-Match", "X-Request-Id"):
            await wire.send(
                request("POST", "/api/tasks", user=user, headers=[*headers, (name, value)], body=body)
            )
            answered = await wire.response()
            assert answered.status < 500, (name, answered.status, answered.body)


async def test_an_over_long_bounded_header_is_a_422_naming_it(server: ServerProcess, user: User) -> None:
    headers, body = json_body({"title": "x"})
    async with Wire(server.port) as wire:
        await wire.send(
            request("POST", "/api/tasks", user=user, headers=[*headers, ("X-Client-Id", "c" * 65)], body=body)
        )
        refused = await wire.response()
        assert refused.status == 422 and refused.is_problem
        assert refused.json()["errors"][0]["field"] == "X-Client-Id"
        # An answer from the app: the connection stays usable.
        await wire.send(request("GET", "/api/tasks", user=user))
        assert (await wire.response()).status == 200


@pytest.mark.parametrize(
    "line",
    [b"X-Client-Id : tab", b"X-Client-Id: tab\r\n  folded", b"no colon at all", b": no name"],
    ids=["space-before-colon", "obs-fold", "no-colon", "empty-name"],
)
async def test_malformed_header_lines_are_refused(server: ServerProcess, user: User, line: bytes) -> None:
    # RFC 9112 §5.1 and §5.2: a server must reject these (a proxy might read them otherwise).
    async with Wire(server.port) as wire:
        raw = request("GET", "/api/tasks", user=user)
        await wire.send(raw.replace(b"\r\n\r\n", b"\r\n" + line + b"\r\n\r\n", 1))
        refused = await wire.response()
        assert refused.status == 400
        assert await wire.closed()


# Headers of this size or number are far beyond what any client of this API sends
# (tokens are ~1 KB); common servers refuse at 8-16 KB in all and about 100 headers.
HUGE_HEADER = 1024 * 1024
MANY_HEADERS = 20_000


async def test_a_huge_header_is_refused(server: ServerProcess, user: User) -> None:
    async with Wire(server.port) as wire:
        await wire.send(request("GET", "/api/tasks", user=user, headers=[("X-Pad", "p" * HUGE_HEADER)]))
        refused = await wire.response()
        assert refused.status == 431
        assert await wire.closed()


async def test_too_many_headers_are_refused(server: ServerProcess, user: User) -> None:
    async with Wire(server.port) as wire:
        many = [(f"X-Pad-{i}", "p") for i in range(MANY_HEADERS)]
        await wire.send(request("GET", "/api/tasks", user=user, headers=many))
        refused = await wire.response()
        assert refused.status == 431
        assert await wire.closed()


async def test_a_header_of_ordinary_size_and_number_is_served(server: ServerProcess, user: User) -> None:
    # The other side of the limits: a long token and a few dozen headers are normal.
    async with Wire(server.port) as wire:
        padding = [(f"X-Pad-{i}", "p" * 100) for i in range(40)]
        await wire.send(request("GET", "/api/tasks", user=user, headers=[("X-Trace", "t" * 4000), *padding]))
        assert (await wire.response()).status == 200


async def test_a_request_line_far_over_any_url_is_refused(server: ServerProcess, user: User) -> None:
    async with Wire(server.port) as wire:
        await wire.send(request("GET", "/api/tasks?cursor=" + "c" * 200_000, user=user))
        refused = await wire.response()
        assert 400 <= refused.status < 500


async def test_an_endless_header_block_is_cut_off_before_it_is_buffered(
    server: ServerProcess, user: User
) -> None:
    # 4 MB of one header, sent without ever ending the block: the server answers 431 and
    # closes once the block passes its bound, instead of buffering all of it.
    async with Wire(server.port) as wire:
        await wire.send(b"GET /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: ")
        refused: RawResponse | None = None
        with contextlib.suppress(ConnectionError):
            for _ in range(64):
                await wire.send(b"p" * 65536)
        refused = await wire.response()
        assert refused.status == 431 and refused.is_problem
        assert await wire.closed()


async def test_a_header_block_that_stops_arriving_is_a_408(server: ServerProcess, user: User) -> None:
    # The module's server allows HEADER_TIMEOUT_SECONDS=1: a stalled block, and a
    # connection that never sends anything, are both closed instead of kept for good.
    async with Wire(server.port) as stalled, Wire(server.port) as silent:
        await stalled.send(b"GET /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ")
        refused = await stalled.response()
        assert refused.status == 408 and refused.header("connection") == "close"
        assert await stalled.closed()
        assert await silent.closed()
    # A request that takes its time between requests on a kept-alive connection is not
    # cut: the bound is on an unfinished header block only.
    async with Wire(server.port) as wire:
        await wire.send(request("GET", "/api/tasks", user=user))
        assert (await wire.response()).status == 200
        await wire.send(request("GET", "/api/tasks", user=user))
        assert (await wire.response()).status == 200


async def test_a_later_requests_header_block_gets_its_own_deadline(server: ServerProcess, user: User) -> None:
    # On a kept-alive connection the bound runs from each request's first byte: a second
    # request begun 0.6 s after the first is neither cut at the first one's deadline nor
    # let run past its own (HEADER_TIMEOUT_SECONDS=1 on the module's server).
    loop = asyncio.get_running_loop()
    async with Wire(server.port) as wire:
        await wire.send(request("GET", "/api/tasks", user=user))
        assert (await wire.response()).status == 200
        await asyncio.sleep(0.6)
        begun = loop.time()
        await wire.send(b"GET /api/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Half: ")
        refused = await wire.response()
        waited = loop.time() - begun
        assert refused.status == 408 and 0.9 <= waited < 3, waited
        assert await wire.closed()
