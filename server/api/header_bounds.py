"""Bounds on request headers, in size and count: past them, `431` (RFC 6585) and the
connection is closed.

uvicorn's httptools parser has no such bound of its own (h11's only applies to h11, at a
cost in speed), so a front proxy should refuse oversized headers on the wire before they
are read into memory (HAProxy: `tune.bufsize`, 16 KB by default; nginx:
`large_client_header_buffers`); this check keeps the app itself from processing them
either way, whatever sits in front. `server.api.edge` applies it to every connection.
"""

from __future__ import annotations

import json

from starlette.types import Send

from server.errors import PROBLEM_CONTENT_TYPE

# Tokens are ~1 KB and browsers send a few dozen headers; common servers refuse at
# 8-16 KB in all and about 100 headers.
MAX_HEADER_BYTES = 32 * 1024
MAX_HEADERS = 100


def oversized(count: int, size: int) -> str | None:
    """What is wrong with a request's `count` headers of `size` bytes (names and values),
    or None when they are within bounds."""
    if count > MAX_HEADERS:
        return f"more than {MAX_HEADERS} request headers"
    if size > MAX_HEADER_BYTES:
        return f"request headers over {MAX_HEADER_BYTES} bytes"
    return None


async def refuse(kind: str, send: Send, problem: str) -> None:
    """Answer a request ("http") with `431` and close, or refuse a socket handshake."""
    if kind == "websocket":
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
