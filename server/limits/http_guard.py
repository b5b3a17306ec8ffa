"""A bound on what a connection may send before its request's headers are complete.

uvicorn's httptools protocol hands every byte to the parser, which keeps an unfinished
header block for as long as it grows, and it has no deadline for one to arrive: two
connections part-way through 100 MB of headers held 200 MB, and a connection that sent
nothing, or stopped mid-header, stayed open for good. The app's own header check
(`server.api.header_bounds`) only runs once the block is complete, so it cannot help.

`GuardedHttpToolsProtocol` is uvicorn's `HttpToolsProtocol` extended through the
`http` setting of `uvicorn.Config` (which takes a protocol class): it counts the bytes
received while a header block is open, and answers `431` past `max_head_bytes` and
`408` past `head_timeout` seconds, closing the connection either way. It overrides only
the asyncio protocol methods and the httptools parser callbacks that mark where a
header block begins and ends (`on_message_begin`, `on_headers_complete`), and where a
request's body ends (`on_message_complete`), each calling the original first.

A request whose body has all arrived is marked in its scope (`BODY_IN`): most bodies
come in the packet of their headers, and are in before the app even starts, so the
app's body reader can take them without a deadline or giving its place up meanwhile
(`server.api.bodies`).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import MutableMapping
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# How long a refused connection's late bytes are read and dropped before it is closed.
_LINGER_SECONDS = 2.0
# The scope key set once the request's whole body has been received.
BODY_IN = "tasksync.body_in"


def guarded_protocol(max_head_bytes: int, head_timeout: float) -> type[GuardedHttpToolsProtocol]:
    """The protocol class to give uvicorn (`Config(http=...)`), with these bounds: uvicorn
    builds a protocol from its class alone, so the bounds travel as class attributes."""
    bounds = {"max_head_bytes": max_head_bytes, "head_timeout": head_timeout}
    return type("GuardedHttpTools", (GuardedHttpToolsProtocol,), bounds)


def _refusal(status: int, reason: str, detail: str) -> bytes:
    body = json.dumps(
        {"type": f"urn:tasksync:problem:{reason}", "title": detail, "status": status, "detail": detail}
    ).encode()
    head = (
        f"HTTP/1.1 {status} {'Request Header Fields Too Large' if status == 431 else 'Request Timeout'}\r\n"
        "content-type: application/problem+json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    max_head_bytes = 64 * 1024
    head_timeout = 10.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_open = True  # a connection opens waiting for a request's headers
        self._head_bytes = 0
        # One timer at a time, moved on rather than replaced: a request's headers do not
        # cancel it, and the next request's only push its deadline (a timer made and
        # cancelled per request is a few µs of every request; see `_head_check`).
        self._head_deadline = 0.0
        self._head_timer: asyncio.TimerHandle | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # the rest of a refused request: read and dropped until the close
        if self._head_open:
            self._head_bytes += len(data)
        super().data_received(data)
        # Judged after parsing: a chunk that completes the headers may carry body bytes.
        if self._head_open and self._head_bytes > self.max_head_bytes:
            self._refuse(431, "header-fields-too-large", "the request's header block is too large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self._head_open:  # the next request on a kept-alive connection
            self._head_open = True
            self._head_bytes = 0
            self._start_head_timer()

    def on_headers_complete(self) -> None:
        self._head_open = False  # the timer, when it fires, finds the block complete
        if self.parser.should_upgrade():
            # The connection leaves this protocol (a websocket's takes it over): a timer
            # left running would keep this one, its parser and its scope for its 10 s —
            # 3 KB a socket, 300 MB for a storm of 100,000 reconnects.
            self._stop_head_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        if not self.parser.should_upgrade():
            # `scope` is the request being parsed: the next one's begins only after this.
            cast(MutableMapping[str, Any], self.scope)[BODY_IN] = True

    def _start_head_timer(self) -> None:
        self._head_deadline = self.loop.time() + self.head_timeout
        if self._head_timer is None:
            self._head_timer = self.loop.call_at(self._head_deadline, self._head_check)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_check(self) -> None:
        self._head_timer = None
        if not self._head_open:
            return  # complete; the next request's first bytes start a timer again
        if self.loop.time() < self._head_deadline:
            # A later request's block, begun after this timer was set: its own deadline.
            self._head_timer = self.loop.call_at(self._head_deadline, self._head_check)
            return
        self._head_too_slow()

    def _head_too_slow(self) -> None:
        if self._head_bytes == 0 and not self.cycle:
            # Nothing sent at all on a fresh connection: close it without an answer.
            self.transport.close()
            return
        self._refuse(408, "request-timeout", "the request's headers did not arrive in time")

    def _refuse(self, status: int, reason: str, detail: str) -> None:
        self._head_open = False
        self._refused = True
        self._stop_head_timer()
        if self.transport.is_closing():
            return
        self.transport.write(_refusal(status, reason, detail))
        # A close while the client is still sending makes the kernel reset the
        # connection, and the client may never read the answer: end our side, drop
        # what still arrives for a moment (a lingering close), then close.
        if self.transport.can_write_eof():
            self.transport.write_eof()
        self.loop.call_later(_LINGER_SECONDS, self.transport.close)
