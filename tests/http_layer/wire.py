"""A raw HTTP/1.1 connection to a real server: send any bytes (the malformed ones no
client library would produce), read whole responses, see the connection close. Every
read is bounded, so a server that hangs fails the test instead of stalling it."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

from tests.support import User

# Bounds on reads: generous, they only end a hang.
READ_TIMEOUT = 10.0


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        return next((value for key, value in self.headers if key == name.lower()), None)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def is_problem(self) -> bool:
        """An answer from the app: RFC 9457 problem details."""
        return (self.header("content-type") or "").startswith("application/problem+json")


def request(
    method: str,
    path: str,
    *,
    user: User | None = None,
    headers: list[tuple[str, str | bytes]] | None = None,
    body: bytes = b"",
    content_length: int | None = None,
    version: str = "HTTP/1.1",
    host: bool = True,
) -> bytes:
    """The bytes of one request. `content_length` defaults to the body's true length
    when there is a body; pass another value to lie."""
    lines = [f"{method} {path} {version}".encode()]
    if host:
        lines.append(b"Host: 127.0.0.1")
    if user is not None:
        lines.append(f"Authorization: Bearer {user.token}".encode())
    for name, value in headers or []:
        lines.append(name.encode() + b": " + (value if isinstance(value, bytes) else value.encode()))
    if content_length is None and body:
        content_length = len(body)
    if content_length is not None:
        lines.append(f"Content-Length: {content_length}".encode())
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def json_body(value: Any) -> tuple[list[tuple[str, str | bytes]], bytes]:
    return [("Content-Type", "application/json")], json.dumps(value).encode()


class Wire:
    """One TCP connection; `async with Wire(port) as wire:`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Wire:
        self._reader, self._writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", self.port), READ_TIMEOUT
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._writer is not None
        self._writer.close()
        try:
            await self._writer.wait_closed()
        except OSError:
            pass  # the server may have reset it: that is what some tests are about

    async def send(self, data: bytes) -> None:
        assert self._writer is not None
        self._writer.write(data)
        await self._writer.drain()

    def end_sending(self) -> None:
        """Half-close: the client sends nothing more (but still reads)."""
        assert self._writer is not None
        self._writer.write_eof()

    async def response(self, timeout: float = READ_TIMEOUT) -> RawResponse:
        """The next whole response; fails if none comes within `timeout`."""
        try:
            return await asyncio.wait_for(self._read_response(), timeout)
        except TimeoutError:
            raise AssertionError(f"no response within {timeout:g} s: the connection hangs") from None

    async def closed(self, timeout: float = READ_TIMEOUT) -> bool:
        """Whether the server closes the connection (with nothing more sent) within `timeout`."""
        rest = await self.until_closed(timeout)
        assert rest in (b"", None), rest[:200] if rest else rest
        return rest is not None

    async def until_closed(self, timeout: float = READ_TIMEOUT) -> bytes | None:
        """Everything the server still sends before it closes the connection, or None if
        it keeps it open past `timeout`."""
        assert self._reader is not None
        try:
            return await asyncio.wait_for(self._reader.read(), timeout)
        except TimeoutError:
            return None
        except ConnectionResetError:
            return b""

    async def _read_response(self) -> RawResponse:
        assert self._reader is not None
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")[:-2]
        _version, status, *_reason = status_line.split(" ", 2)
        headers = []
        for line in header_lines:
            name, _, value = line.partition(":")
            headers.append((name.strip().lower(), value.strip()))
        response = RawResponse(int(status), headers, b"")
        if response.header("transfer-encoding") == "chunked":
            response.body = await self._read_chunked()
        else:
            response.body = await self._reader.readexactly(int(response.header("content-length") or 0))
        return response

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        body = b""
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            chunk = await self._reader.readexactly(size + 2)
            if size == 0:
                return body
            body += chunk[:-2]
