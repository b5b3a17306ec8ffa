"""The load a scenario runs throughout, through the load balancer only: a writer that
retries the way a careful REST client does, and reconnecting readers of every transport
that record each event they are handed (nothing deduplicated, so a duplicate shows)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.support import User, wait_until

# What a client retries: the request reached no host that answered it (connection
# refused or reset, HAProxy's 502/504), or a host said "nothing written, retry later".
_RETRYABLE_STATUS = {502, 503, 504}
_ERRORS = (OSError, httpx.HTTPError, ConnectionClosed, InvalidHandshake, TimeoutError, ValueError)


class Dropped(Exception):
    """A stream ended; the message says how."""


@dataclass
class Writer:
    """Creates tasks one after another, each with its own Idempotency-Key, retrying a
    failed attempt with the same key (after Retry-After) until it is answered."""

    base_url: str
    user: User
    pause: float = 0.05
    seqs: list[int] = field(default_factory=list)
    failed_attempts: list[str] = field(default_factory=list)  # retried; the write went through
    refused: list[str] = field(default_factory=list)  # answers a retry cannot fix: must stay empty
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, headers=self.user.headers, timeout=10) as http:
            n = 0
            while not self._stop.is_set():
                n += 1
                await self.write(http, {"title": f"task {n}"})
                await asyncio.sleep(self.pause)

    async def write(self, http: httpx.AsyncClient, body: dict[str, str]) -> None:
        key = str(uuid.uuid4())
        while True:
            try:
                response = await http.post("/api/tasks", json=body, headers={"Idempotency-Key": key})
            except httpx.HTTPError as exc:
                self.failed_attempts.append(repr(exc))
                await asyncio.sleep(0.1)
                continue
            if response.status_code == 201:
                self.seqs.append(int(response.headers["tasksync-seq"]))
                return
            if response.status_code in _RETRYABLE_STATUS:
                self.failed_attempts.append(str(response.status_code))
                await asyncio.sleep(min(float(response.headers.get("retry-after", "0.2")), 2.0))
                continue
            self.refused.append(f"{response.status_code} {response.text[:200]}")
            return

    def stop(self) -> None:
        self._stop.set()


@dataclass
class Reader:
    """One live client: connects, resumes after the last seq it holds on every drop."""

    base_url: str
    user: User
    name: str
    seqs: list[int] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)  # time.monotonic() of each event
    drops: list[tuple[float, str]] = field(default_factory=list)  # (when, why)
    resyncs: int = 0
    connected: bool = False
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def last(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    def got(self, seq: int) -> None:
        self.seqs.append(seq)
        self.received_at.append(time.monotonic())

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.follow()
                why = "ended"
            except ConnectionClosed as closed:
                why = f"closed {closed.rcvd.code if closed.rcvd else 1006}"
            except Dropped as dropped:
                why = str(dropped)
            except _ERRORS as exc:
                why = type(exc).__name__
            self.connected = False
            if not self._stop.is_set():
                self.drops.append((time.monotonic(), why))
                await asyncio.sleep(0.1)

    async def follow(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()

    def drop_after(self, moment: float) -> float | None:
        return next((when for when, _ in self.drops if when >= moment), None)

    def first_event_after(self, moment: float) -> float | None:
        return next((when for when in self.received_at if when >= moment), None)


class WsReader(Reader):
    async def follow(self) -> None:
        url = self.base_url.replace("http://", "ws://") + f"/api/ws?since={self.last}"
        async with websockets.connect(
            url, additional_headers=self.user.headers, open_timeout=5, compression=None
        ) as ws:
            # A host that cannot open the stream must not hold the client: it retries elsewhere.
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert hello["type"] == "hello", hello
            self.connected = True
            async for frame in ws:
                self.handle(json.loads(frame))
        raise Dropped(f"closed {ws.close_code}")

    def handle(self, message: dict[str, object]) -> None:
        if message["type"] == "resync":
            self.resyncs += 1
        elif str(message["type"]).startswith("task."):
            self.got(int(str(message["seq"])))


class SseReader(Reader):
    async def follow(self) -> None:
        headers = {**self.user.headers, "Last-Event-ID": str(self.last)}
        timeout = httpx.Timeout(5, read=30)
        async with (
            httpx.AsyncClient(base_url=self.base_url, timeout=timeout) as http,
            http.stream("GET", "/api/events", headers=headers) as response,
        ):
            if response.status_code != 200:
                raise Dropped(f"SSE answered {response.status_code}")
            self.connected = True
            async for kind, data in _sse_frames(response.aiter_lines(), self._stop):
                if kind == "resync":
                    self.resyncs += 1
                elif kind.startswith("task."):
                    self.got(int(json.loads(data)["seq"]))
        raise Dropped("SSE ended")


async def _sse_frames(lines: AsyncIterator[str], stop: asyncio.Event) -> AsyncIterator[tuple[str, str]]:
    kind, data = "", ""
    async for line in lines:
        if stop.is_set():
            return
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif not line and kind:
            yield kind, data
            kind, data = "", ""


class PollReader(Reader):
    wait = 10

    async def follow(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, headers=self.user.headers, timeout=30) as http:
            while not self._stop.is_set():
                response = await http.get(
                    "/api/changes", params={"since": self.last, "wait": self.wait, "limit": 1000}
                )
                if response.status_code != 200:
                    raise Dropped(f"changes answered {response.status_code}")
                self.connected = True
                page = response.json()
                if page["resync"]:
                    self.resyncs += 1
                for event in page["events"]:
                    self.got(int(event["seq"]))


@contextlib.asynccontextmanager
async def load(base_url: str, user: User, *, ws: int = 3, sse: int = 2, poll: int = 2) -> AsyncIterator[Load]:
    """A writer and live readers of every transport, running until the block ends."""
    readers: list[Reader] = [
        *(WsReader(base_url, user, f"ws{n}") for n in range(ws)),
        *(SseReader(base_url, user, f"sse{n}") for n in range(sse)),
        *(PollReader(base_url, user, f"poll{n}") for n in range(poll)),
    ]
    running = Load(Writer(base_url, user), readers)
    tasks = [asyncio.create_task(reader.run(), name=reader.name) for reader in readers]
    writer_task: asyncio.Task[None] | None = None
    try:
        await running.wait_connected()
        writer_task = asyncio.create_task(running.writer.run(), name="writer")
        running.writer_task = writer_task
        yield running
    finally:
        running.writer.stop()
        for reader in readers:
            reader.stop()
        everything = [*tasks, *([writer_task] if writer_task else [])]
        for task in everything:
            task.cancel()
        await asyncio.gather(*everything, return_exceptions=True)


@dataclass
class Load:
    writer: Writer
    readers: list[Reader]
    writer_task: asyncio.Task[None] | None = None

    async def wait_connected(self, timeout: float = 20) -> None:
        await wait_until(
            lambda: all(r.connected for r in self.readers),
            timeout=timeout,
            message=lambda: f"not connected: {[r.name for r in self.readers if not r.connected]}",
        )

    async def progress(self, writes: int = 5) -> None:
        """Wait until `writes` more writes have been answered."""
        target = len(self.writer.seqs) + writes
        await wait_until(lambda: len(self.writer.seqs) >= target, message="the writer made no progress")

    async def finish(self, timeout: float = 30) -> int:
        """Stop writing, wait until every reader holds the last write's event; returns N."""
        self.writer.stop()
        assert self.writer_task is not None
        await asyncio.wait_for(self.writer_task, timeout)
        last = max(self.writer.seqs)
        await wait_until(
            lambda: all(r.last >= last for r in self.readers),
            timeout=timeout,
            message=lambda: f"behind {last}: {[(r.name, r.last) for r in self.readers if r.last < last]}",
        )
        return last

    def assert_exact(self, last: int) -> None:
        """Every write recorded one event, every reader holds exactly seqs 1..last in order."""
        expected = list(range(1, last + 1))
        assert sorted(self.writer.seqs) == expected, "the writes' seqs are not 1..N"
        assert not self.writer.refused, self.writer.refused
        for reader in self.readers:
            assert reader.resyncs == 0, f"{reader.name} was told to resync"
            if reader.seqs != expected:
                dupes = len(reader.seqs) - len(set(reader.seqs))
                missing = sorted(set(expected) - set(reader.seqs))[:10]
                raise AssertionError(f"{reader.name}: {dupes} duplicates, missing {missing}")

    async def all_live_after(self, moment: float, timeout: float) -> None:
        """Wait until every reader has been handed an event after `moment`."""
        await wait_until(
            lambda: all(r.first_event_after(moment) for r in self.readers),
            timeout=timeout,
            message=lambda: f"not live: {[r.name for r in self.readers if not r.first_event_after(moment)]}",
        )

    def back_live(self, moment: float) -> list[tuple[str, float]]:
        """For each reader dropped at or after `moment`: seconds from `moment` to its first
        event after the drop (its reconnect worked and it is live again)."""
        figures = []
        for reader in self.readers:
            dropped = reader.drop_after(moment)
            if dropped is None:
                continue
            back = reader.first_event_after(dropped)
            figures.append((reader.name, (back - moment) if back is not None else float("inf")))
        return figures
