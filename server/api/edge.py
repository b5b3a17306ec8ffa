"""The app's one ASGI middleware layer, between Starlette's error middleware and its
router: what every connection gets on the way in and every response on the way out.

In order, for each connection:

1. `server.api.header_bounds`: too many or too big request headers → `431` (or the
   handshake refused), before anything acts on them. The same one pass over the
   fields finds the caller's request id and whether an `Origin` came.
2. A request id (`server.runtime.observability.request_id`) in the scope's state, for the
   log lines.
3. Websockets then go straight to the router: every layer a connection passes through is
   a coroutine that stays suspended as long as it is open — nothing for a request, but
   memory per socket for an idle socket held for hours. Nothing below acts on a
   websocket: CORS, the response fields and Starlette's `ExceptionMiddleware` only
   touch HTTP responses, and `GET /api/ws` catches its own errors.
4. HTTP: requests with an `Origin` (a browser's cross-origin requests and preflights)
   pass through Starlette's `CORSMiddleware`; the rest — REST clients, same-origin
   reads — go straight on, sparing each a layer that would only add `Vary: Origin`,
   which comes with the fixed fields instead.
5. On the way out, one wrapper of `send` adds `X-Request-Id`, the fixed fields
   (browser hardening, `Vary: Origin`) and the rate-limit fields a handler left in the
   scope's state (`RATE_LIMIT_STATE`), whatever kind of response it built (JSON, 204,
   a stream), leaving alone any field the response has already (rarely: then the
   fields are compared one by one). A large body goes out
   in pieces, each within `SEND_TIMEOUT_SECONDS`: a client that stops reading holds a
   piece in the transport's buffer, not the whole response, and not for long.
6. When the response starts, the request's place among its user's requests at work is
   given back (after a large response, once its size allows at the user's pace); when
   it is done, its place among those in flight (`server.limits.inflight`), and the
   request's log line and latency metric are written
   (`server.runtime.observability.log_request`).

One layer, not five: each layer is a coroutine call per request and each `send`
wrapper a closure and a call per message; merging them took about 20 µs off a list
request (a profile of the REST read benchmark: routing and middleware 100 → 75-84 µs).
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Mapping, Sequence, Set
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.api.header_bounds import oversized, refuse
from server.api.headers import RATE_LIMIT_STATE
from server.limits.inflight import done_working, give_back
from server.limits.ratelimit import FIELD_NAMES
from server.runtime.metrics import Metrics
from server.runtime.observability import log_request, request_id, usable_request_id

# uvicorn writes a body message into the transport's buffer whole, whether or not the
# client reads: bodies above this go out in pieces of this size, each waited for.
_CHUNK_BYTES = 64 * 1024


async def send_in_pieces(send: Send, message: Message, piece_seconds: float) -> None:
    """Send a large body message as several, each within `piece_seconds`; past it the
    request fails (uvicorn closes the connection) and lets the body go."""
    body: bytes = message["body"]
    more = message.get("more_body", False)
    view = memoryview(body)
    for start in range(0, len(body), _CHUNK_BYTES):
        piece = {
            "type": "http.response.body",
            "body": bytes(view[start : start + _CHUNK_BYTES]),
            "more_body": more or start + _CHUNK_BYTES < len(body),
        }
        async with asyncio.timeout(piece_seconds):
            await send(piece)


# No response field names (the usual case in `send_with_fields`).
_NONE: frozenset[bytes] = frozenset()


@functools.cache
def _field_name(name: str) -> bytes:
    """A field name as ASGI sends it (the rate limiter's few names, lowered once)."""
    return name.lower().encode()


class Edge:
    """ASGI middleware (see the module docstring). `fixed` are header fields for every
    HTTP response; `cors` are `CORSMiddleware`'s options."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        metrics: Metrics,
        fixed: Mapping[str, str],
        cors: Mapping[str, Any],
        send_timeout: float = 30.0,
        response_bytes_per_second: float = 0.0,
    ) -> None:
        self.app = app
        self.send_timeout = send_timeout
        self.response_bytes_per_second = response_bytes_per_second
        self.cors = CORSMiddleware(app, **cors)
        self.metrics = metrics
        self.fixed = [(name.lower().encode(), value.encode()) for name, value in fixed.items()]
        # The fields added here that a response may have set itself (then it keeps its own).
        self.guarded = frozenset(name for name, _ in self.fixed) | {_field_name(n) for n in FIELD_NAMES}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind != "http" and kind != "websocket":  # the lifespan
            await self.app(scope, receive, send)
            return
        headers: Sequence[tuple[bytes, bytes]] = scope["headers"]
        # One pass over the request's fields: their size, the caller's request id, and
        # whether the request is cross-origin.
        size, cross_origin = 0, False
        given_id: bytes | None = None
        for name, value in headers:
            size += len(name) + len(value)
            if name == b"origin":
                cross_origin = True
            elif name == b"x-request-id" and given_id is None and usable_request_id(value):
                given_id = value
        problem = oversized(len(headers), size)
        if problem is not None:
            await refuse(kind, send, problem)
            return
        rid = request_id(given_id)
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        if kind == "websocket":
            # `scope["app"]` is set by `Starlette.__call__`; `router` is its public router.
            app: Starlette = scope["app"]
            await app.router(scope, receive, send)
            return
        inner = self.cors if cross_origin else self.app
        started = time.perf_counter()
        status = 500  # what the client gets if no response start is ever sent
        fixed, guarded = self.fixed, self.guarded
        send_timeout = self.send_timeout
        stamp = (b"x-request-id", rid.encode())

        async def send_with_fields(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                out = list(message.get("headers", ()))
                length, clash = b"", False
                for name, value in out:
                    if name == b"content-length":
                        length = value
                    elif name.lower() in guarded:
                        clash = True
                # Only sending is left: the user's next request may work (after a large
                # response, once its pace allows).
                done_working(state, int(length) if length.isdigit() else 0, self.response_bytes_per_second)
                if clash:  # fields the response set itself stay (rarely: compared one by one)
                    present: Set[bytes] = {name.lower() for name, _ in out}
                    out += [field for field in fixed if field[0] not in present]
                else:
                    present = _NONE
                    out += fixed
                limits: Mapping[str, str] | None = state.get(RATE_LIMIT_STATE)
                if limits:
                    for name, value in limits.items():
                        if (lowered := _field_name(name)) not in present:
                            out.append((lowered, value.encode()))
                out.append(stamp)
                message["headers"] = out
            elif len(message.get("body", b"")) > _CHUNK_BYTES:
                await send_in_pieces(send, message, send_timeout)
                return
            await send(message)

        try:
            await inner(scope, receive, send_with_fields)
        finally:
            give_back(state)
            log_request(self.metrics, scope, status, time.perf_counter() - started)
