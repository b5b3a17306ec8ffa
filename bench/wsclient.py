"""A bare WebSocket client protocol (RFC 6455, client side, no extensions).

Tens of thousands of sockets share two cores with the server being measured, so each
socket is only an asyncio Protocol: no task, no queue, and the arrival time of every
text frame is taken in `data_received`, before any parsing."""

from __future__ import annotations

import asyncio
import base64
import os
import time
from collections.abc import Callable
from typing import cast

TEXT, CLOSE, PING, PONG = 0x1, 0x8, 0x9, 0xA


class Refused(ConnectionError):
    """The handshake was answered with an HTTP status, not 101; `retry_after` is its
    `Retry-After` in seconds, if it named one (a 429 from a process opening many
    sockets at once: the project's clients wait that long and try again)."""

    def __init__(self, status: str, retry_after: float | None) -> None:
        super().__init__(f"handshake refused: {status}")
        self.retry_after = retry_after


def _retry_after(head: bytes) -> float | None:
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"retry-after" and value.strip().isdigit():
            return float(value.strip())
    return None


def frame(opcode: int, payload: bytes = b"") -> bytes:
    """A masked client frame."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    masked = bytes(b ^ mask[i & 3] for i, b in enumerate(payload))
    return head + mask + masked


class WsClient(asyncio.Protocol):
    """One socket. `messages` holds `(arrival time, text)` of every text frame after hello."""

    def __init__(self, host: str, port: int, path: str, token: str, on_message: Callable[[], None]) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        self._request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            f"Authorization: Bearer {token}\r\n\r\n"
        ).encode()
        self._on_message = on_message
        self._buffer = bytearray()
        self._upgraded = False
        self.transport: asyncio.Transport | None = None
        self.hello: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.messages: list[tuple[float, str]] = []
        self.pongs = 0
        self.close_code: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        self.transport.write(self._request)

    def connection_lost(self, exc: Exception | None) -> None:
        if self.close_code is None:
            self.close_code = 1006
        if not self.hello.done():
            self.hello.set_exception(ConnectionError(f"closed before hello ({self.close_code})"))

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self._buffer
        buf += data
        if not self._upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(buf[: buf.find(b"\r\n")])
            if b" 101 " not in status:
                refused = Refused(status.decode(errors="replace"), _retry_after(bytes(buf[:end])))
                if not self.hello.done():
                    self.hello.set_exception(refused)
                self.close()
                return
            self._upgraded = True
            del buf[: end + 4]
        while len(buf) >= 2:
            opcode, length, start = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, start = int.from_bytes(buf[2:4], "big"), 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, start = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < start + length:
                return
            payload = bytes(buf[start : start + length])
            del buf[: start + length]
            self._frame(opcode, payload, now)

    def _frame(self, opcode: int, payload: bytes, now: float) -> None:
        if opcode == TEXT:
            text = payload.decode()
            if not self.hello.done():
                self.hello.set_result(text)
            elif text == '{"type":"pong"}':
                self.pongs += 1
            else:
                self.messages.append((now, text))
                self._on_message()
        elif opcode == PING:
            self.send(PONG, payload)
        elif opcode == CLOSE:
            self.close_code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
            self.send(CLOSE, payload[:2])
            self.close()

    def _fail(self, reason: str) -> None:
        if not self.hello.done():
            self.hello.set_exception(ConnectionError(reason))
        self.close()

    def send(self, opcode: int, payload: bytes = b"") -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(frame(opcode, payload))

    def ping(self) -> None:
        self.send(TEXT, b'{"type":"ping"}')

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()

    @property
    def open(self) -> bool:
        return self.transport is not None and not self.transport.is_closing() and self.close_code is None
