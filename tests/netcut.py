"""A TCP proxy that a test puts between a client and a server to cut the network for real.

Browser offline emulation refuses new connections but leaves an open socket alone, and
stopping the server also loses its state; this proxy fails the way a network does:

* `refuse()`    — the port stops listening (new connections: ECONNREFUSED) and every open
                  connection is reset: a laptop whose Wi-Fi went away.
* `blackhole()` — connections are accepted but nothing goes through in either direction,
                  and open ones go silent without closing: a dead link behind a NAT.
* `lose_responses()` — requests reach the server, but whatever the server answers is
                  thrown away and the client's connection is reset: the write committed,
                  its response never arrived (what `Idempotency-Key` is for).
* `stall()`     — the client stops reading: nothing is taken from the server any more,
                  so its send buffers fill and it sees a slow consumer.
* `restore()`   — everything passes again (on the same port).

It runs on the test's event loop: `async with Netcut(server.port) as cut: ... cut.url`.
"""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from typing import Literal

from tests.support import free_port

Mode = Literal["pass", "blackhole", "lose_responses", "refused", "stalled"]
_CHUNK = 65536


class Netcut:
    def __init__(
        self,
        target_port: int,
        *,
        target_host: str = "127.0.0.1",
        port: int | None = None,
        listen_host: str = "127.0.0.1",
    ) -> None:
        self.target = (target_host, target_port)
        # Another address of this machine (a test bridge's, say) makes the proxy reachable
        # from other network namespaces.
        self.listen_host = listen_host
        self.port = port or free_port()
        self.mode: Mode = "pass"
        self.accepted = 0  # connections accepted so far (a test can assert traffic went through)
        self._server: asyncio.Server | None = None
        self._links: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._reading = asyncio.Event()  # cleared while stalled
        self._reading.set()

    @property
    def url(self) -> str:
        return f"http://{self.listen_host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.listen_host}:{self.port}/api/ws"

    async def __aenter__(self) -> Netcut:
        await self._listen()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def _listen(self) -> None:
        self._server = await asyncio.start_server(
            self._accept, self.listen_host, self.port, reuse_address=True
        )

    async def _stop_listening(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _reset_all(self) -> None:
        for writer in list(self._writers):
            transport = writer.transport
            if not transport.is_closing():
                transport.abort()  # RST, not a polite FIN: the peer sees a broken connection
        self._writers.clear()

    async def refuse(self) -> None:
        self.mode = "refused"
        await self._stop_listening()
        self._reset_all()

    async def blackhole(self) -> None:
        self.mode = "blackhole"
        if self._server is None:
            await self._listen()

    async def lose_responses(self) -> None:
        self.mode = "lose_responses"
        if self._server is None:
            await self._listen()

    async def stall(self) -> None:
        self.mode = "stalled"
        self._reading.clear()

    async def restore(self) -> None:
        self.mode = "pass"
        self._reading.set()
        if self._server is None:
            await self._listen()

    async def close(self) -> None:
        await self._stop_listening()
        self._reset_all()
        for task in list(self._links):
            task.cancel()
        for task in list(self._links):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def _accept(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self._writers.add(client_writer)
        task = asyncio.current_task()
        assert task is not None
        self._links.add(task)
        try:
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
            except OSError:
                client_writer.transport.abort()
                return
            self._writers.add(upstream_writer)
            up, down = self._links_for(client_reader, client_writer, upstream_reader, upstream_writer)
            try:
                await asyncio.wait({up, down}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                for pipe in (up, down):
                    pipe.cancel()
                for writer in (client_writer, upstream_writer):
                    writer.transport.abort()
                    self._writers.discard(writer)
        except asyncio.CancelledError:
            # `close()` ends the links by cancelling them. Python 3.11's stream server
            # logs a cancelled connection task as an error; this one ended as asked.
            return
        finally:
            self._writers.discard(client_writer)
            self._links.discard(task)

    def _links_for(
        self,
        client_reader: asyncio.StreamReader,
        client_writer: asyncio.StreamWriter,
        upstream_reader: asyncio.StreamReader,
        upstream_writer: asyncio.StreamWriter,
    ) -> tuple[asyncio.Task[None], asyncio.Task[None]]:
        """The two tasks that carry one connection's bytes, up and down (a subclass that
        reads what it carries, as the conformance suite's proxy does, replaces these)."""
        up = asyncio.create_task(self._pipe(client_reader, upstream_writer, upstream=True))
        down = asyncio.create_task(self._pipe(upstream_reader, client_writer, upstream=False))
        return up, down

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, upstream: bool
    ) -> None:
        while True:
            if not upstream:
                await self._reading.wait()
            data = await reader.read(_CHUNK)
            if not data:
                return
            if self.mode == "blackhole":
                continue  # swallowed: the connection stays open and silent
            if self.mode == "lose_responses" and not upstream:
                return  # the server's answer is dropped and both sides are reset
            if self.mode == "refused":
                return
            writer.write(data)
            await writer.drain()
