"""A websocket's handshake arrives through the guarded HTTP protocol, which hands the
connection over: nothing of the HTTP side may stay alive with the socket. A header
deadline left running once kept each socket's HTTP protocol (its parser, its scope) for
the deadline's 10 s — 6 KB a socket in the idle-socket benchmark, 300 MB for a storm of
100,000 reconnects. uvicorn in this process, so that its objects can be counted."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

import uvicorn
import websockets

from server.limits.http_guard import GuardedHttpToolsProtocol, guarded_protocol
from server.limits.ws_guard import guarded_ws_protocol
from tests.support import free_port


async def _socket_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "websocket":
        await receive()  # the connect
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass


def _http_protocols() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if isinstance(o, GuardedHttpToolsProtocol))


async def test_an_open_websocket_keeps_nothing_of_its_http_handshake() -> None:
    port = free_port()
    config = uvicorn.Config(
        _socket_app,
        host="127.0.0.1",
        port=port,
        http=guarded_protocol(64 * 1024, 10.0),
        ws=guarded_ws_protocol(128 * 1024, 4096.0),
        lifespan="off",
        log_level="warning",
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            await asyncio.sleep(0.01)
        async with websockets.connect(f"ws://127.0.0.1:{port}/") as ws:
            await ws.ping()
            assert _http_protocols() == 0
    finally:
        server.should_exit = True
        await serving
