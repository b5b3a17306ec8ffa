"""The load a scenario runs throughout, through the load balancer only: a writer that
retries the way a careful REST client does, and live readers of every transport; then
the checks that every reader holds exactly the events 1..N."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx

from tests.hosts.readers import PollReader, Reader, SseReader, WsReader
from tests.support import User, wait_until

# What a client retries: the request reached no host that answered it (connection
# refused or reset, HAProxy's 502/504), or a host said "nothing written, retry later".
_RETRYABLE_STATUS = {502, 503, 504}


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


@contextlib.asynccontextmanager
async def load(base_url: str, user: User, *, ws: int = 3, sse: int = 3, poll: int = 2) -> AsyncIterator[Load]:
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
