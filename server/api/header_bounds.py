"""Bounds on request headers, in size and count: past them, `431` (RFC 6585) and the
connection is closed.

uvicorn's httptools parser has no such bound of its own (h11's only applies to h11, at a
cost in speed), so a front proxy should refuse oversized headers on the wire before they
are read into memory (HAProxy: `tune.bufsize`, 16 KB by default; nginx:
`large_client_header_buffers`); this check keeps the app itself from processing them
either way, whatever sits in front.
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Receive, Scope, Send

from server.errors import PROBLEM_CONTENT_TYPE

# Tokens are ~1 KB and browsers send a few dozen headers; common servers refuse at
# 8-16 KB in all and about 100 headers.
MAX_HEADER_BYTES = 32 * 1024
MAX_HEADERS = 100


def _oversized(scope: Scope) -> str | None:
    headers = scope.get("headers", [])
    if len(headers) > MAX_HEADERS:
        return f"more than {MAX_HEADERS} request headers"
    if sum(len(name) + len(value) for name, value in headers) > MAX_HEADER_BYTES:
        return f"request headers over {MAX_HEADER_BYTES} bytes"
    return None


class HeaderBounds:
    """ASGI middleware: refuses requests (and socket handshakes) whose headers are too
    many or too big, before anything else looks at them."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        problem = _oversized(scope) if scope["type"] in ("http", "websocket") else None
        if problem is None:
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})  # refused at the handshake: 403
            return
        body = json.dumps(
            {
                "type": "urn:tasksync:problem:headers-too-large",
                "title": "Request header fields too large",
                "status": 431,
                "detail": problem,
            }
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 431,
                "headers": [
                    (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
