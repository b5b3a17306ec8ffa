"""One client's live feed of its user's events: what a socket, an SSE response or a
long-poll reads, fed by the user's `UserFeed` (server/realtime/hub.py)."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from server.db.database import Database
from server.realtime.log import events_since

# Rows read from the log per query, when catching up or replaying.
PAGE = 500


@dataclass(frozen=True, slots=True)
class Resync:
    """The stream cannot continue gap-free from where the client is: it must refetch."""

    seq: int


class NeedsRead(Enum):
    """What `Stream.take_nowait` gives when the next item must be read from the log."""

    LOG = "log"


class StreamOverflow(Exception):
    """The client did not keep up: its queue filled. It resumes with `since`."""


class StreamLost(Exception):
    """This process lost its change listener for good: it would hear of no new event, so
    the stream ends and the client resumes with `since` through another process."""


class Stream:
    """One client's live feed of its user's events (a socket, an SSE response, a poll).

    `await stream.next()` gives `(seq, event_json)` pairs in order, with no gaps or
    duplicates, and `Resync` when continuity cannot be given. It is safe to cancel
    (e.g. by a timeout): nothing is lost, the next call carries on. A reader with no
    task of its own (a socket) sets `on_ready` instead and drains `take_nowait()`, then
    `take()` when the log must be read.

    An idle stream holds no buffers (a process keeps tens of thousands of them open):
    the live buffer exists only while events wait in it, and one future wakes a reader
    waiting in `next()`.
    """

    __slots__ = (
        "_buffer", "_bytes", "_capacity", "_cursor", "_db", "_held", "_lag_seconds", "_lag_timer",
        "_max_bytes", "_ready", "_target", "_waiter", "hello_seq", "lost", "on_overflow", "on_ready",
        "overflowed", "user_id",
    )  # fmt: skip

    def __init__(
        self,
        db: Database,
        user_id: str,
        capacity: int,
        lag_seconds: float,
        after: int,
        head: int,
        resync: bool,
        max_bytes: int = 1 << 20,
    ) -> None:
        self._db = db
        self.user_id = user_id
        # What `hello` reports: the head, or the client's own seq if it is (by a
        # commit racing this open) already newer than what this process has read.
        self.hello_seq = head if resync else max(head, after)
        # Bounds of what waits for the reader, in events and in bytes of event JSON (a
        # count alone let a stalled reader of 40 KB events hold tens of megabytes).
        self._capacity = capacity
        self._max_bytes = max_bytes
        self._bytes = 0
        self._buffer: deque[tuple[int, str, int]] | None = None  # live events (and sizes), while any wait
        self._waiter: asyncio.Future[None] | None = None
        self._ready: list[tuple[int, str] | Resync] = [Resync(head)] if resync else []
        # Replay from the log runs up to the head seen at open; live events after it
        # are already buffering, so the seam has neither gap nor overlap.
        self._cursor = head if resync else after  # the newest seq handed out (or made ready)
        self._target = head  # read the log up to here before taking live events
        self._held: tuple[int, str] | None = None
        self._lag_seconds = lag_seconds
        self._lag_timer: asyncio.TimerHandle | None = None  # set while reading back from the log
        self.overflowed = False
        self.lost = False
        # Called once when the stream falls behind for good (a socket closes with 4408).
        self.on_overflow: Callable[[], None] | None = None
        # Called whenever `take()` may have something new (an offer, overflow, loss).
        self.on_ready: Callable[[], None] | None = None

    def offer(self, seq: int, body: str, size: int) -> None:
        """Hand the stream a live event; `size` is its JSON's length in bytes."""
        if self.overflowed:
            return
        if self._lag_timer is not None:
            self._target = seq  # lagging: the log has it, and the reader will fetch it
        elif self._buffer is not None and (
            len(self._buffer) >= self._capacity or self._bytes + size > self._max_bytes
        ):
            # A burst bigger than the buffer (a catch-up after a listener outage, say) or
            # a client that stopped reading: drop the buffer and let the reader go back to
            # the log - memory stays bounded. Only a stream still behind after
            # `lag_seconds` is too slow (4408).
            self._buffer, self._bytes = None, 0
            self._target = seq
            self._lag_timer = asyncio.get_running_loop().call_later(self._lag_seconds, self._lagged_too_long)
        else:
            if self._buffer is None:
                self._buffer = deque()
            self._buffer.append((seq, body, size))
            self._bytes += size
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        if self.on_ready is not None:
            self.on_ready()

    def _lagged_too_long(self) -> None:
        self._lag_timer = None
        self.overflowed = True
        self._wake()
        if self.on_overflow is not None:
            self.on_overflow()

    def abandon(self) -> None:
        """End the stream: its reader gets `StreamLost`."""
        self.lost = True
        self._wake()

    def close(self) -> None:
        if self._lag_timer is not None:
            self._lag_timer.cancel()
            self._lag_timer = None

    async def next(self) -> tuple[int, str] | Resync:
        """The next item, waiting for one if need be."""
        while True:
            item = await self.take()
            if item is not None:
                return item
            # Woken by an offer (buffered, or - lagging - a new target), overflow or loss.
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def take(self) -> tuple[int, str] | Resync | None:
        """The next item if there is one without waiting for an offer (it may read the
        log), else `None`; from `None` to the `await` returning there is no suspension,
        so a reader that stops on `None` misses no `on_ready`."""
        while (item := self.take_nowait()) is NeedsRead.LOG:
            await self._fill()
        return item

    def take_nowait(self) -> tuple[int, str] | Resync | None | NeedsRead:
        """`take()` without its log read, for a reader that sends from the offer's own
        task (a socket, server/api/ws_session.py): the next item, `None`, or
        `NeedsRead.LOG` when the next item must come from the log (`await take()`)."""
        while True:
            if self.lost:
                raise StreamLost()
            if self._ready:
                return self._ready.pop(0)
            if self._cursor < self._target:
                return NeedsRead.LOG
            if self._lag_timer is not None:
                # Caught up from the log with everything offered meanwhile: live again.
                self._lag_timer.cancel()
                self._lag_timer = None
            if self._held is not None:
                seq, body = self._held
                self._held = None
            else:
                if self.overflowed:
                    raise StreamOverflow()
                if not self._buffer:
                    return None
                seq, body, size = self._buffer.popleft()
                self._bytes -= size
                if not self._buffer:
                    self._buffer, self._bytes = None, 0
            if seq <= self._cursor:
                continue
            if seq > self._cursor + 1:
                # A gap (e.g. a Redis publish that never came): fill it from the log first.
                self._target, self._held = seq - 1, (seq, body)
                continue
            self._cursor = seq
            return seq, body

    async def _fill(self) -> None:
        async with self._db.read() as conn:
            rows = await events_since(conn, self.user_id, self._cursor, upto=self._target, limit=PAGE)
        if not rows or rows[0].seq != self._cursor + 1:
            # Pruned between the window check and this read: no gap-free history.
            self._ready.append(Resync(self._target))
            self._cursor = self._target
            return
        # Keep no more than the byte bound ready (but always one event, to make progress):
        # the rest is read again on the next fill.
        kept, size = 0, 0
        for event in rows:
            size += len(event.body.encode())
            if kept and size > self._max_bytes:
                break
            kept += 1
        self._ready.extend((event.seq, event.body) for event in rows[:kept])
        self._cursor = rows[kept - 1].seq
