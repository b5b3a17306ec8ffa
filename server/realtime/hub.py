"""The per-process hub: every open stream of one user shares one broadcaster
subscription (a `UserFeed`), and each stream has a bounded queue of its own.

A notification is only a wake-up; the feed then reads the user's log after the last seq
it delivered, by user id, and offers each event to each stream. So the log stays the
truth: lost, duplicated or late notifications, a listener reconnect, or a Redis
publish that never came cost at most a little latency, never an event.

Serialising subscribe/unsubscribe per user here also keeps broadcaster 0.3.1 away
from its race, where two concurrent `subscribe()` calls to one channel lose a
subscriber and later raise KeyError.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from broadcaster import Broadcast

from server.db import Database
from server.metrics import Metrics
from server.realtime.channels import channel_for
from server.realtime.log import events_since, log_window

if TYPE_CHECKING:
    from broadcaster._base import Subscriber

log = logging.getLogger(__name__)

# Rows read from the log per query, when catching up or replaying.
PAGE = 500


@dataclass(frozen=True, slots=True)
class Resync:
    """The stream cannot continue gap-free from where the client is: it must refetch."""

    seq: int


class StreamOverflow(Exception):
    """The client did not keep up: its queue filled. It resumes with `since`."""


class StreamLost(Exception):
    """This process lost its change listener for good: it would hear of no new event, so
    the stream ends and the client resumes with `since` through another process."""


class Stream:
    """One client's live feed of its user's events (a socket, an SSE response, a poll).

    `await stream.next()` gives `(seq, event_json)` pairs in order, with no gaps or
    duplicates, and `Resync` when continuity cannot be given. It is safe to cancel
    (e.g. by a timeout): nothing is lost, the next call carries on.

    An idle stream holds no buffers (a process keeps ten thousand of them open): the
    live buffer exists only while events wait in it, and one future wakes the reader.
    """

    __slots__ = (
        "_buffer", "_bytes", "_capacity", "_cursor", "_held", "_lag_seconds", "_lag_timer", "_max_bytes",
        "_ready", "_target", "_waiter", "feed", "hello_seq", "lost", "on_overflow", "overflowed", "user_id",
    )  # fmt: skip

    def __init__(
        self,
        feed: UserFeed,
        capacity: int,
        lag_seconds: float,
        after: int,
        head: int,
        resync: bool,
        max_bytes: int = 1 << 20,
    ) -> None:
        self.feed = feed
        self.user_id = feed.user_id
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
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def _lagged_too_long(self) -> None:
        self._lag_timer = None
        self.overflowed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        if self.on_overflow is not None:
            self.on_overflow()

    def abandon(self) -> None:
        """End the stream: its reader gets `StreamLost`."""
        self.lost = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    def close(self) -> None:
        if self._lag_timer is not None:
            self._lag_timer.cancel()
            self._lag_timer = None

    async def next(self) -> tuple[int, str] | Resync:
        while True:
            if self.lost:
                raise StreamLost()
            if self._ready:
                return self._ready.pop(0)
            if self._cursor < self._target:
                await self._fill()
                continue
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
                    # Woken by an offer (buffered, or - lagging - a new target) or overflow.
                    self._waiter = asyncio.get_running_loop().create_future()
                    try:
                        await self._waiter
                    finally:
                        self._waiter = None
                    continue
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
        async with self.feed.db.read() as conn:
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


class UserFeed:
    """One user's subscription in this process, shared by all of that user's streams."""

    def __init__(self, hub: Hub, user_id: str) -> None:
        self.hub = hub
        self.db = hub.db
        self.user_id = user_id
        self.streams: set[Stream] = set()
        self.last_seq = 0
        self._lock = asyncio.Lock()
        self._stack = AsyncExitStack()
        self._dirty = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        subscriber = await self._stack.enter_async_context(
            self.hub.broadcast.subscribe(channel_for(self.user_id))
        )
        try:
            # LISTEN is in place before this read, so nothing committed after it is missed.
            async with self.db.read() as conn:
                self.last_seq = (await log_window(conn, self.user_id)).head
        except BaseException:
            # Leave no subscription behind: broadcaster would queue its notifications forever.
            await self._stack.aclose()
            raise
        self._tasks = [
            asyncio.create_task(self._run(subscriber), name="feed-listen"),
            asyncio.create_task(self._deliver(), name="feed-deliver"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        await self._stack.aclose()

    async def _run(self, subscriber: Subscriber) -> None:
        while True:
            await subscriber.get()  # raises Unsubscribed when the subscription ends
            self._dirty.set()

    async def _deliver(self) -> None:
        # A burst of wake-ups while a read is running becomes one more read, not many.
        while True:
            await self._dirty.wait()
            self._dirty.clear()
            await self.catch_up()

    async def catch_up(self) -> None:
        """Deliver every committed event after `last_seq` to every stream."""
        delay = 0.05
        async with self._lock:
            while True:
                try:
                    async with self.db.read() as conn:
                        rows = await events_since(conn, self.user_id, self.last_seq, limit=PAGE)
                except Exception as exc:  # database away: keep trying, never die
                    log.warning("feed catch-up for a user failed: %r", exc)
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                read_at = datetime.now(UTC)
                for event in rows:
                    size = len(event.body.encode())  # once per event, for every stream's bound
                    for stream in list(self.streams):
                        stream.offer(event.seq, event.body, size)
                    self.last_seq = event.seq
                    self.hub.metrics.delivery_latency.observe(max(0.0, (read_at - event.at).total_seconds()))
                if len(rows) < PAGE:
                    return

    async def add_stream(self, since: int | None) -> Stream:
        await self.catch_up()
        async with self._lock:
            head = self.last_seq
            resync = False
            after = head
            if since is not None:
                async with self.db.read() as conn:
                    window = await log_window(conn, self.user_id)
                resync = not (window.floor <= since <= max(head, window.head))
                after = since if not resync else head
            hub = self.hub
            stream = Stream(
                self,
                hub.stream_capacity,
                hub.lag_seconds,
                after=after,
                head=head,
                resync=resync,
                max_bytes=hub.stream_max_bytes,
            )
            self.streams.add(stream)
            return stream


class Hub:
    """All feeds of this process, keyed by user id."""

    def __init__(
        self,
        db: Database,
        broadcast: Broadcast,
        stream_capacity: int,
        ready: Callable[[], bool],
        metrics: Metrics,
        lag_seconds: float = 10.0,
        stream_max_bytes: int = 1 << 20,
    ) -> None:
        self.lag_seconds = lag_seconds
        self.stream_max_bytes = stream_max_bytes
        self.db = db
        self.ready = ready
        self.metrics = metrics
        self.broadcast = broadcast
        self.stream_capacity = stream_capacity
        self._feeds: dict[str, UserFeed] = {}
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def _user_lock(self, user_id: str) -> AsyncIterator[None]:
        lock, users = self._locks.get(user_id, (asyncio.Lock(), 0))
        self._locks[user_id] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[user_id]
            if users == 1:
                del self._locks[user_id]
            else:
                self._locks[user_id] = (lock, users - 1)

    @asynccontextmanager
    async def open_stream(self, user_id: str, since: int | None, transport: str) -> AsyncIterator[Stream]:
        """A stream of `user_id`'s events after `since` (or from now), closed on exit.

        `transport` (ws, sse, poll) labels the stream in the metrics."""
        async with self._user_lock(user_id):
            feed = self._feeds.get(user_id)
            if feed is None:
                feed = UserFeed(self, user_id)
                await feed.start()
                self._feeds[user_id] = feed
            try:
                stream = await feed.add_stream(since)
            except BaseException:
                if not feed.streams:
                    del self._feeds[user_id]
                    await feed.stop()
                raise
        gauge = self.metrics.open_streams.labels(transport)
        gauge.inc()
        try:
            yield stream
        finally:
            gauge.dec()
            stream.close()
            await self._release(feed, stream)

    async def _release(self, feed: UserFeed, stream: Stream) -> None:
        async with self._user_lock(feed.user_id):
            feed.streams.discard(stream)
            if not feed.streams and self._feeds.get(feed.user_id) is feed:
                del self._feeds[feed.user_id]
                await feed.stop()

    def abandon_streams(self) -> int:
        """End every open stream (see `StreamLost`); returns how many."""
        streams = [stream for feed in self._feeds.values() for stream in feed.streams if not stream.lost]
        for stream in streams:
            stream.abandon()
        return len(streams)

    async def reconcile(self) -> None:
        """Catch every feed up from the log (after a reconnect, or as a periodic safety net)."""
        for feed in list(self._feeds.values()):
            await feed.catch_up()

    async def close(self) -> None:
        for feed in list(self._feeds.values()):
            await feed.stop()
        self._feeds.clear()
