"""The WebSocket transport (`GET /api/ws?since=N`), with in-band token renewal."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncGenerator

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException

from tasksync_client.auth import Credentials
from tasksync_client.errors import (
    ProtocolError,
    StreamClosed,
    TokenProviderError,
    TransportError,
    api_error,
)
from tasksync_client.rest import TasksyncClient
from tasksync_client.session import USER_AGENT
from tasksync_client.streams.frames import StreamItem, parse_frame

log = logging.getLogger("tasksync_client")

# Events carry a task of at most ~10,000 characters (up to 4 bytes each in UTF-8).
MAX_FRAME = 1 << 20
OPEN_TIMEOUT = 10.0
# When a renewal failed or gave back the same token, try again after this long.
RENEW_RETRY = 1.0


def ws_url(base_url: httpx.URL, since: int) -> str:
    scheme = "wss" if base_url.scheme == "https" else "ws"
    path = base_url.path.rstrip("/") + "/api/ws"
    return str(base_url.copy_with(scheme=scheme, path=path, params={"since": since}))


async def ws_stream(client: TasksyncClient, since: int) -> AsyncGenerator[StreamItem, None]:
    credentials = client.credentials
    token = await credentials.token()
    try:
        ws = await connect(
            ws_url(client.base_url, since),
            additional_headers={"Authorization": f"Bearer {token}"},
            user_agent_header=USER_AGENT,
            open_timeout=OPEN_TIMEOUT,
            max_size=MAX_FRAME,
            compression=None,
        )
    except InvalidStatus as exc:
        headers = httpx.Headers(list(exc.response.headers.raw_items()))
        raise api_error(exc.response.status_code, bytes(exc.response.body or b""), headers) from exc
    except (OSError, TimeoutError, WebSocketException) as exc:
        raise TransportError(f"websocket connect failed: {exc!r}") from exc
    renewer = asyncio.create_task(_renew_in_band(ws, credentials, token)) if credentials.renewable else None
    try:
        async for raw in ws:
            if not isinstance(raw, str):
                raise ProtocolError("the server sent a binary frame")
            try:
                data = json.loads(raw)
            except ValueError as exc:
                raise ProtocolError(f"the server sent invalid JSON: {raw[:200]}") from exc
            if isinstance(data, dict) and data.get("type") == "error":
                log.warning("the server refused a message: %s", data.get("detail"))
            item = parse_frame(data)
            if item is not None:
                yield item
        raise _closed(ws)  # a normal closure (1000, 1001): still worth a reconnect
    except ConnectionClosed as exc:
        closed = StreamClosed(exc.rcvd.code, exc.rcvd.reason) if exc.rcvd else StreamClosed(1006)
        raise closed from None
    finally:
        if renewer is not None:
            renewer.cancel()
        await ws.close()


def _closed(ws: ClientConnection) -> StreamClosed:
    return StreamClosed(ws.close_code or 1006, ws.close_reason or "")


async def _renew_in_band(ws: ClientConnection, credentials: Credentials, sent: str) -> None:
    """Send `{"type": "auth"}` with a fresh token before the current one expires, so the
    server keeps the socket open past the first token's `exp`."""
    while True:
        wait = credentials.refresh_in()
        if wait is None:
            return
        await asyncio.sleep(max(wait, 0.0))
        try:
            token = await credentials.token()
        except TokenProviderError as exc:  # the socket lives on until `exp`; try again
            log.warning("token renewal failed: %s", exc)
            await asyncio.sleep(RENEW_RETRY)
            continue
        if token == sent:
            await asyncio.sleep(RENEW_RETRY)
            continue
        try:
            await ws.send(json.dumps({"type": "auth", "token": token}))
        except ConnectionClosed:
            return
        sent = token
