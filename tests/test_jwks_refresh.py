"""A slow key server never stalls sign-ins: once the cached JWKS is old, requests keep
verifying against it while one refresh runs in the background."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator

import pytest

from tests.conftest import AppFactory
from tests.jwks_server import SigningKey
from tests.support import wait_until


class HangingJwks:
    """Answers the first fetch with its key set, then holds every later one open unanswered."""

    def __init__(self, key: SigningKey) -> None:
        self.key = key
        self.answered = 0
        self.hanging = 0  # fetches held so far
        self.open_now = 0  # of those, still held open (the fetcher has not given up)
        self._release = asyncio.Event()
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> HangingJwks:
        self._server = await asyncio.start_server(self._answer, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *_: object) -> None:
        self._release.set()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}/jwks"

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (await reader.readline()).strip():
            pass
        if self.answered:
            self.hanging += 1
            self.open_now += 1
            gave_up = asyncio.ensure_future(reader.read())  # b"" once the fetcher closes
            released = asyncio.ensure_future(self._release.wait())
            await asyncio.wait({gave_up, released}, return_when=asyncio.FIRST_COMPLETED)
            for waiting in (gave_up, released):
                waiting.cancel()
            self.open_now -= 1
        else:
            self.answered += 1
            body = json.dumps({"keys": [self.key.jwk]}).encode()
            writer.write(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
                + f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )
            await writer.drain()
        writer.close()


@pytest.fixture
async def hanging_jwks() -> AsyncIterator[HangingJwks]:
    async with HangingJwks(SigningKey.ed25519(f"k-{uuid.uuid4().hex[:6]}")) as server:
        yield server


async def test_sign_ins_go_on_while_the_key_server_hangs(
    app_factory: AppFactory, hanging_jwks: HangingJwks
) -> None:
    client = await app_factory(
        better_auth_secret="",
        jwks_url=hanging_jwks.url,
        jwks_cache_seconds=1,
        jwks_fetch_timeout_seconds=20,  # a hung fetch outlives the test
    )
    user = f"u-{uuid.uuid4().hex[:8]}"

    def fresh() -> dict[str, str]:
        # A new token each time (its own jti): a token verified once is remembered
        # (server.auth.token_cache), and these requests must each be checked against the keys.
        now = int(time.time())
        claims = {"sub": user, "iat": now, "exp": now + 3600, "jti": uuid.uuid4().hex}
        return {"Authorization": f"Bearer {hanging_jwks.key.sign(claims)}"}

    assert (await client.get("/api/tasks", headers=fresh())).status_code == 200
    assert hanging_jwks.answered == 1

    async def refresh_under_way() -> bool:
        # Every request here must be answered from the cached keys, including those
        # sent after the cache expired while its refresh hangs at the key server.
        response = await client.get("/api/tasks", headers=fresh())
        assert response.status_code == 200, response.text
        if hanging_jwks.hanging:
            # Answered while the refresh still hangs: it did not wait for the fetch.
            assert hanging_jwks.open_now == 1, "a sign-in waited for the key server"
        return hanging_jwks.hanging >= 1

    await wait_until(refresh_under_way, message="the expired key set was never refreshed")
    for _ in range(5):
        assert (await client.get("/api/tasks", headers=fresh())).status_code == 200
    # One refresh in flight, not one per request, and still hanging.
    assert (hanging_jwks.hanging, hanging_jwks.open_now) == (1, 1)
