"""The per-process hub: every open stream of one user shares one notification channel
(a `UserFeed`), and each stream (server/realtime/stream.py) has a bounded buffer of its own.

A notification is only a wake-up; the feed then reads the user's log after the last seq
it delivered, by user id, and offers each event to each stream. So the log stays the
truth: lost, duplicated or late notifications, a listener reconnect, or a Redis
publish that never came cost at most a little latency, never an event.

An idle feed holds no task: the dispatcher calls `wake`, which starts one delivery
task that ends once the log is read up to its head. Subscribe/unsubscribe are
serialised per user, so a user's channel is LISTENed to exactly while it has streams.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from datetime import UTC, datetime

from server.db.database import Database
from server.realtime.channels import channel_for
from server.realtime.dispatch import Dispatcher
from server.realtime.expiry import ExpirySweep
from server.realtime.log import events_since, log_window, recent_heads
from server.realtime.stream import PAGE, Resync, Stream, StreamLost, StreamOverflow
from server.runtime.metrics import Metrics

__all__ = ["Hub", "Resync", "Stream", "StreamLost", "StreamOverflow", "UserFeed"]

log = logging.getLogger(__name__)


class UserFeed:
    """One user's subscription in this process, shared by all of that user's streams."""

    __slots__ = ("_delivery", "_dirty", "_lock", "channel", "db", "hub", "last_seq", "streams", "user_id")

    def __init__(self, hub: Hub, user_id: str) -> None:
        self.hub = hub
        self.db = hub.db
        self.user_id = user_id
        self.channel = channel_for(user_id)
        self.streams: set[Stream] = set()
        self.last_seq = 0
        self._lock = asyncio.Lock()
        self._dirty = False
        self._delivery: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self.hub.dispatcher.listen(self.channel, self.wake)
        try:
            # LISTEN is in place before this read, so nothing committed after it is missed.
            async with self.db.read() as conn:
                self.last_seq = (await log_window(conn, self.user_id)).head
        except BaseException:
            # Leave no subscription behind.
            await self.hub.dispatcher.unlisten(self.channel, self.wake)
            raise

    async def stop(self) -> None:
        await self.hub.dispatcher.unlisten(self.channel, self.wake)
        if self._delivery is not None:
            self._delivery.cancel()
            with suppress(asyncio.CancelledError):
                await self._delivery

    def wake(self) -> None:
        """A notification for this user: read the log (once more, if a read is running)."""
        self._dirty = True
        if self._delivery is None:
            self._delivery = asyncio.get_running_loop().create_task(self._deliver(), name="feed-deliver")

    async def _deliver(self) -> None:
        # A burst of wake-ups while a read is running becomes one more read, not many.
        try:
            while self._dirty:
                self._dirty = False
                await self.catch_up()
        finally:
            self._delivery = None

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
                self.db,
                self.user_id,
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
    """All feeds of this process, keyed by user id, and the one sweep that ends its
    sockets when their tokens expire."""

    def __init__(
        self,
        db: Database,
        dispatcher: Dispatcher,
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
        self.dispatcher = dispatcher
        self.stream_capacity = stream_capacity
        self._feeds: dict[str, UserFeed] = {}
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}
        self.expiry = ExpirySweep()

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

    async def catch_up_recent(self, since: datetime) -> int:
        """Wake every feed of this process whose user has an event stamped at or after
        `since` that the feed has not delivered: a wake-up that never came (its writer
        was killed after the commit). Returns how many feeds were woken."""
        if not self._feeds:
            return 0
        async with self.db.read() as conn:
            heads = await recent_heads(conn, since)
        woken = 0
        for user_id, head in heads.items():
            feed = self._feeds.get(user_id)
            if feed is not None and head > feed.last_seq:
                feed.wake()
                woken += 1
        return woken

    async def reconcile(self) -> None:
        """Catch every feed up from the log (after a reconnect, or as a periodic safety net)."""
        for feed in list(self._feeds.values()):
            await feed.catch_up()

    async def close(self) -> None:
        self.expiry.close()
        for feed in list(self._feeds.values()):
            await feed.stop()
        self._feeds.clear()
