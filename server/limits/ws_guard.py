"""A bound on what an open websocket may send, in bytes, before it is parsed.

The session's message budget (`server.api.ws_session`, `4429`) sees a
message only after uvicorn's websocket protocol has parsed it, and the protocol parses
every frame a read brings: a client sending pings as fast as it can kept a core busy
parsing (about 80% of a flooded process's samples) for the seconds a closing handshake
takes, and other users waited. `GuardedWebSocketsProtocol` is uvicorn's
`WebSocketsSansIOProtocol` extended through the `ws` setting of `uvicorn.Config` (which
takes a protocol class): a token bucket of bytes per connection, checked before any
parsing; past it the connection is dropped at once (no closing handshake to wait for).
Honest clients send a few small messages a minute and never come near it. Within it,
what arrived is parsed one frame per turn of the event loop (`server.limits.ws_frames`).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.protocol import State

from server.limits.token_bucket import TokenBucket
from server.limits.ws_frames import FrameFeed

# What a connection may still send once this side has sent its close frame: room for the
# client's own close frame and what was already on its way, not for a flood.
_AFTER_CLOSE_BYTES = 4 * 1024


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
        self._frames = FrameFeed()  # received, not parsed yet
        self._feeding = False  # a turn of `_feed_one` is scheduled

    def data_received(self, data: bytes) -> None:
        if not self._allowance.take(len(data)):
            self.transport.abort()
            return
        if self.conn.state is State.CLOSING:
            # This side has sent its close frame (a budget closed the socket, say): a
            # client that goes on sending rather than answering it gets little more.
            self._allowance.cap(_AFTER_CLOSE_BYTES)
        self._frames.add(data)
        if not self._feeding:  # else a turn is coming: it keeps the order
            self._feed_one()

    # uvicorn's own flow control, which this class extends: it pauses reading the
    # transport while the app has a received message it has not taken (`read_paused`),
    # and resumes when the app takes it, or once the app has sent its close (to read the
    # client's close frame). What is received but not parsed yet waits likewise: the
    # parser never runs ahead of the session by more than the message it holds.

    async def receive(self) -> Any:
        message = await super().receive()
        self._resume_feeding()
        return message

    async def send(self, message: Any) -> None:
        await super().send(message)
        self._resume_feeding()

    def _resume_feeding(self) -> None:
        if not self._feeding and not self.read_paused and self._frames.ready():
            self._feeding = True
            self.loop.call_soon(self._feed_one)

    def _feed_one(self) -> None:
        # One frame now, the next on the next turn of the loop: a read full of tiny
        # frames would otherwise be parsed (and queued) whole before the session's
        # message budget sees the first of them, and no other connection would run
        # meanwhile (see server.limits.ws_frames).
        self._feeding = False
        if self.transport.is_closing():
            return
        closing = self.conn.state is State.CLOSING
        if closing and len(self._frames.pending) > _AFTER_CLOSE_BYTES:
            self.transport.abort()  # closed by a budget meanwhile, and still flooding
            return
        if self.read_paused:
            return  # the app has not taken the last message yet: `receive` resumes this
        chunk = self._frames.next_chunk(closing)
        if chunk:
            super().data_received(chunk)
        self._resume_feeding()
