"""The socket-message flood: sockets of one user send pings (one in four first an
`auth` with an expired token) as fast as their connections take them. The server closes each
socket past its message burst (4429), or for the refused token (4401, held back like a
`401`), and the flooder opens it again at once, until the user's stream-open budget
refuses the reopening too (`429`, also held back)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import time
from collections import Counter

from bench.config import mint
from bench.wsclient import CLOSE, TEXT, frame

HOST = "127.0.0.1"
# Frames written per turn of the loop.
BATCH_FRAMES = 64
# One socket in this many starts with an `auth` naming an expired token (closed 4401,
# held back); the others send pings only (closed 4429 past the burst).
BAD_AUTH_EVERY = 4


def _batch(first: bytes) -> bytes:
    ping = b'{"type":"ping"}'
    return frame(TEXT, first) + b"".join(frame(TEXT, ping) for _ in range(BATCH_FRAMES - 1))


async def _close_code(reader: asyncio.StreamReader) -> int:
    """Read the server's frames until its close frame: its code (1006: none came)."""
    try:
        while True:
            head = await reader.readexactly(2)
            length = head[1] & 0x7F
            if length >= 126:
                length = int.from_bytes(await reader.readexactly(2 if length == 126 else 8), "big")
            payload = await reader.readexactly(length)
            if head[0] & 0x0F == CLOSE:
                return int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
    except (asyncio.IncompleteReadError, OSError):
        return 1006


async def _socket(port: int, token: str, batch: bytes, until: float, counts: Counter[str]) -> None:
    while time.monotonic() < until:
        key = base64.b64encode(os.urandom(16)).decode()
        reader, writer = await asyncio.open_connection(HOST, port)
        try:
            writer.write(
                f"GET /api/ws HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Authorization: Bearer {token}\r\n\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            status = head.split(b" ", 2)[1].decode()
            counts[f"open {status}"] += 1
            if status != "101":
                continue
            closed = asyncio.create_task(_close_code(reader))
            try:
                while not closed.done() and time.monotonic() < until:
                    writer.write(batch)
                    counts["messages written"] += BATCH_FRAMES
                    await writer.drain()
                    await asyncio.sleep(0)  # let the close frame be read
            except OSError:
                pass  # closed by the server: its close frame, if any, is read below
            if closed.done() or time.monotonic() < until:
                counts[f"closed {await closed}"] += 1
            else:
                closed.cancel()
        except (OSError, asyncio.IncompleteReadError):
            counts["connection errors"] += 1
        finally:
            # Reset, not closed: what the server has not read yet is dropped, not parsed.
            writer.transport.abort()


async def flood_sockets(
    ports: list[int], user: str, until: float, connections: int, counts: Counter[str]
) -> None:
    token = mint(user)
    pings = _batch(b'{"type":"ping"}')
    bad_auth = _batch(json.dumps({"type": "auth", "token": mint(user, ttl=-3600)}).encode())
    batches = [bad_auth if n % BAD_AUTH_EVERY == 0 else pings for n in range(connections)]
    await asyncio.gather(
        *(_socket(ports[n % len(ports)], token, batches[n], until, counts) for n in range(connections))
    )


def describe_sockets(counts: dict[str, int]) -> str:
    closes = ", ".join(
        f"{n:,} × {kind.split()[1]}" for kind, n in sorted(counts.items()) if kind.startswith("closed ")
    )
    refused = sum(n for kind, n in counts.items() if kind.startswith("open ") and kind != "open 101")
    return (
        f"{counts.get('open 101', 0):,} sockets opened ({closes or 'none closed'}), "
        f"{refused:,} opens refused; "
        f"{counts.get('messages written', 0):,} messages written"
    )
