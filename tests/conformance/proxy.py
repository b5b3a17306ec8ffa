"""A device's network: a `Netcut` (tests/netcut.py) that also reads the HTTP requests
going through it, so that a scenario can lose the answer to one *write* while the
device's socket and reads carry on, and so that the deliberately broken client of the
README can be made out of any real client by rewriting its edits on the wire.

Going offline is still Netcut's own `refuse()`: the TCP connections are cut for real.

Requests are framed by `Content-Length` (what httpx and Chromium send for JSON bodies);
a WebSocket upgrade, or a body of another framing, turns its connection into a plain
byte pipe from there on. Requests are never pipelined by these clients (HTTP/1.1, one
request in flight per connection), so the answer that follows a write is that write's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from tests.netcut import Netcut

_CHUNK = 65536
# A request head larger than this is no client's edit: the connection is piped untouched.
_HEAD_LIMIT = 64 * 1024
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_PATCH = "application/json-patch+json"

LossMode = Literal["none", "next", "every"]


@dataclass
class Request:
    """One HTTP request as it crossed the proxy (the head parsed, the body whole)."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    def with_header(self, name: str, value: str) -> Request:
        lowered = name.lower()
        kept = [(key, old) for key, old in self.headers if key.lower() != lowered]
        return Request(self.method, self.target, [*kept, (name, value)], self.body)

    def with_body(self, body: bytes, content_type: str) -> Request:
        updated = Request(self.method, self.target, self.headers, body)
        return updated.with_header("Content-Type", content_type).with_header("Content-Length", str(len(body)))

    def encode(self) -> bytes:
        lines = [f"{self.method} {self.target} HTTP/1.1", *(f"{k}: {v}" for k, v in self.headers)]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + self.body

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


Rewrite = Callable[[Request], Request]


@dataclass
class _Connection:
    lose_answer: bool = False
    seen: list[Request] = field(default_factory=list)


class DeviceProxy(Netcut):
    """A device's cuttable link to the server, aware of the writes it carries.

    * `lose_next_write()` — the answer to the next write request is thrown away and the
      connection reset (the write committed; the device never hears of it), once.
    * `lose_every_write()` — the same for every write until `keep_writes()`: a device
      stuck mid-flush, retrying a write whose answers never come back.
    * `rewrite` — a function applied to every write request before it is forwarded.

    `lost` counts the answers thrown away; `writes` lists the write requests forwarded.
    """

    def __init__(self, target_port: int, *, rewrite: Rewrite | None = None) -> None:
        super().__init__(target_port)
        self.rewrite = rewrite
        self.loss: LossMode = "none"
        self.lost = 0
        self.writes: list[Request] = []

    def lose_next_write(self) -> None:
        self.loss = "next"

    def lose_every_write(self) -> None:
        self.loss = "every"

    def keep_writes(self) -> None:
        self.loss = "none"

    def _links_for(
        self,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream_writer: asyncio.StreamWriter,
    ) -> tuple[asyncio.Task[None], asyncio.Task[None]]:
        # Netcut's connection handling (counted, reset by `refuse()`, cancelled by
        # `close()`), with pipes that read the HTTP they carry.
        connection = _Connection()
        up = asyncio.create_task(self._requests(client_reader, upstream_writer, connection))
        down = asyncio.create_task(self._answers(upstream_reader, client_writer, connection))
        return up, down

    async def _requests(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: _Connection
    ) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError as partial:
                if partial.partial:
                    await self._forward(writer, partial.partial)
                return
            except asyncio.LimitOverrunError:
                await self._pipe(reader, writer, upstream=True)
                return
            if len(head) > _HEAD_LIMIT:
                await self._forward(writer, head)
                await self._pipe(reader, writer, upstream=True)
                return
            request = _parse_head(head)
            if request is None or _is_raw(request):
                await self._forward(writer, head)
                await self._pipe(reader, writer, upstream=True)
                return
            length = int(request.header("Content-Length") or 0)
            request.body = await reader.readexactly(length) if length else b""
            if request.method in WRITE_METHODS and request.path.startswith("/api/"):
                request = self._write(request, connection)
            if not await self._forward(writer, request.encode()):
                return

    def _write(self, request: Request, connection: _Connection) -> Request:
        if self.rewrite is not None:
            request = self.rewrite(request)
        self.writes.append(request)
        connection.seen.append(request)
        if self.loss != "none":
            connection.lose_answer = True
            if self.loss == "next":
                self.loss = "none"
        return request

    async def _forward(self, writer: asyncio.StreamWriter, data: bytes) -> bool:
        """Send `data` on unless the link is down; False once the connection should end."""
        if self.mode == "blackhole":
            return True
        if self.mode == "refused":
            return False
        writer.write(data)
        await writer.drain()
        return True

    async def _answers(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, connection: _Connection
    ) -> None:
        while True:
            await self._reading.wait()
            data = await reader.read(_CHUNK)
            if not data:
                return
            if self.mode == "blackhole":
                continue
            if self.mode in ("refused", "lose_responses"):
                return
            if connection.lose_answer:
                # The server answered, so the write committed; the device is reset instead.
                self.lost += 1
                return
            writer.write(data)
            await writer.drain()

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await super().close()


def _parse_head(head: bytes) -> Request | None:
    try:
        text = head.decode("latin-1")
        request_line, *header_lines = text[:-4].split("\r\n")
        method, target, _version = request_line.split(" ", 2)
    except ValueError:
        return None
    headers: list[tuple[str, str]] = []
    for line in header_lines:
        name, sep, value = line.partition(":")
        if not sep:
            return None
        headers.append((name.strip(), value.strip()))
    return Request(method, target, headers, b"")


def _is_raw(request: Request) -> bool:
    """A request after which the connection is no longer framed HTTP requests: a
    WebSocket upgrade, or a body this proxy does not frame (chunked)."""
    if (request.header("Upgrade") or "").lower() == "websocket":
        return True
    return request.header("Transfer-Encoding") is not None


def patched_fields(request: Request) -> dict[str, object] | None:
    """The fields a JSON Patch edit replaces (`None` if `request` is no such edit)."""
    if request.method != "PATCH" or not (request.header("Content-Type") or "").startswith(JSON_PATCH):
        return None
    try:
        operations = json.loads(request.body)
    except ValueError:
        return None
    if not isinstance(operations, list):
        return None
    fields: dict[str, object] = {}
    for operation in operations:
        if isinstance(operation, dict) and operation.get("op") in ("replace", "add"):
            fields[str(operation.get("path", "")).lstrip("/")] = operation.get("value")
    return fields
