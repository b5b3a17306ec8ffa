"""A bound on what an open websocket may send, in bytes, before it is parsed.

The session's message budget (`server.api.ws_session.MessageBudget`, `4429`) sees a
message only after uvicorn's websocket protocol has parsed it, and the protocol parses
every frame a read brings: a client sending pings as fast as it can kept a core busy
parsing (about 80% of a flooded process's samples) for the seconds a closing handshake
takes, and other users waited. `GuardedWebSocketsProtocol` is uvicorn's
`WebSocketsSansIOProtocol` extended through the `ws` setting of `uvicorn.Config` (which
takes a protocol class): a token bucket of bytes per connection, checked before any
parsing; past it the connection is dropped at once (no closing handshake to wait for).
Honest clients send a few small messages a minute and never come near it.
"""

from __future__ import annotations

import time
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

# What a connection may still send once this side has sent its close frame: room for the
# client's own close frame and what was already on its way, not for a flood.
_AFTER_CLOSE_BYTES = 16 * 1024


def guarded_ws_protocol(burst_bytes: int, bytes_per_second: float) -> type[GuardedWebSocketsProtocol]:
    """The protocol class to give uvicorn (`Config(ws=...)`) with these bounds (uvicorn
    builds a protocol from its class alone, so they travel as class attributes)."""
    bounds = {"burst_bytes": burst_bytes, "bytes_per_second": bytes_per_second}
    return type("GuardedWebSockets", (GuardedWebSocketsProtocol,), bounds)


class GuardedWebSocketsProtocol(WebSocketsSansIOProtocol):
    # Two of the largest messages at once (WS_MAX_MESSAGE_BYTES's default), then 4 KiB/s.
    burst_bytes = 2 * 64 * 1024
    bytes_per_second = 4096.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._allowance = float(self.burst_bytes)
        self._counted_at = time.monotonic()

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        self._allowance = min(
            float(self.burst_bytes), self._allowance + (now - self._counted_at) * self.bytes_per_second
        )
        self._counted_at = now
        self._allowance -= len(data)
        if self.conn.state is State.CLOSING:
            # This side has sent its close frame (a budget closed the socket, say): a
            # client that goes on sending rather than answering it gets little more.
            self._allowance = min(self._allowance, _AFTER_CLOSE_BYTES)
        if self._allowance < 0:
            self.transport.abort()
            return
        super().data_received(data)
