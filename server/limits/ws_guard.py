"""A bound on what an open websocket may send, in bytes, before it is parsed.

The session's message budget (`server.api.ws_session`, `4429`) sees a
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

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from server.limits.token_bucket import TokenBucket

# What a connection may still send once this side has sent its close frame: room for the
# client's own close frame and what was already on its way, not for a flood.
_AFTER_CLOSE_BYTES = 4 * 1024
# How much of what a socket sent is parsed per turn of the event loop: about 24 pings,
# so a socket flooding tiny frames gets a sliver of a turn between other users' steps,
# and its message budget (4429) sees the flood after a few slices, not thousands of frames.
_SLICE_BYTES = 512


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
        self._allowance = TokenBucket(self.bytes_per_second, self.burst_bytes)
        self._backlog = bytearray()  # received, not parsed yet (see `_feed`)

    def data_received(self, data: bytes) -> None:
        if not self._allowance.take(len(data)):
            self.transport.abort()
            return
        if self.conn.state is State.CLOSING:
            # This side has sent its close frame (a budget closed the socket, say): a
            # client that goes on sending rather than answering it gets little more.
            self._allowance.cap(_AFTER_CLOSE_BYTES)
        if self._backlog:  # still working through an earlier read: keep the order
            self._backlog.extend(data)
            return
        self._feed(data)

    def _feed(self, data: bytes | bytearray) -> None:
        # One slice now, the rest on the next turns of the loop: a read full of tiny
        # frames would otherwise be parsed (and queued) whole before the session's message
        # budget sees the first of them, and no other connection would run meanwhile.
        super().data_received(bytes(data[:_SLICE_BYTES]))
        if len(data) > _SLICE_BYTES:
            self._backlog = bytearray(data[_SLICE_BYTES:])
            self.loop.call_soon(self._feed_backlog)

    def _feed_backlog(self) -> None:
        backlog, self._backlog = self._backlog, bytearray()
        if self.transport.is_closing():
            return
        if self.conn.state is State.CLOSING and len(backlog) > _AFTER_CLOSE_BYTES:
            self.transport.abort()  # closed by a budget meanwhile, and still flooding
            return
        self._feed(backlog)
