"""A broadcaster backend for PostgreSQL LISTEN/NOTIFY that survives connection loss.

broadcaster 0.3.1's own `PostgresBackend` opens one asyncpg connection and never looks
at it again: after a server restart or a dropped connection the listener is dead for
good, silently; a half-open TCP connection hangs `publish()` forever; and two
operations at once on its single connection fail with "another operation is in
progress". This backend plugs into `Broadcast(backend=...)`, broadcaster's public
extension point, and adds:

* a supervisor task that notices loss (asyncpg's termination callback, plus a
  `SELECT 1` health check with a timeout for connections that die without a word),
  reconnects with capped exponential backoff and jitter, and LISTENs again;
* after every reconnect, one `CATCH_UP` event per subscribed channel, so whoever
  listens re-reads the event log: notifications sent while we were away are lost,
  the log is not;
* one lock around every operation on the connection, and a timeout on each.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
from broadcaster import BroadcastBackend, Event

from server.db.pg_session import CONNECTION_LOST

log = logging.getLogger(__name__)

# What an operation on the listener connection can fail with when the connection or the
# server is gone, asyncpg's InternalClientError included: the "another operation is in
# progress" of a connection the server ended while idle (MagicStack/asyncpg#1069).
_FAILED = (*CONNECTION_LOST, asyncpg.PostgresError, TimeoutError)

_NOTIFY_MANY = "SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS t(c, p)"

# The message of the synthetic event sent after a reconnect: "re-read the log".
CATCH_UP = ""
LISTENER_APPLICATION_NAME = "tasksync-listener"


class ResilientPostgresBackend(BroadcastBackend):
    def __init__(
        self,
        dsn: str,
        *,
        health_interval: float = 5.0,
        op_timeout: float = 5.0,
        max_backoff: float = 5.0,
        on_reconnect: Callable[[], None] | None = None,
    ) -> None:
        self._dsn = dsn
        self._health_interval = health_interval
        self._op_timeout = op_timeout
        self._max_backoff = max_backoff
        self._on_reconnect = on_reconnect
        self._channels: set[str] = set()
        self._conn: asyncpg.Connection | None = None
        self._lock = asyncio.Lock()
        self._lost = asyncio.Event()
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def connected(self) -> bool:
        return self._conn is not None and not self._conn.is_closed() and not self._lost.is_set()

    async def connect(self) -> None:
        async with self._lock:
            await self._open()  # the first connection fails loudly: bad DSN, server down
        self._supervisor = asyncio.create_task(self._supervise(), name="pg-listener-supervisor")

    async def disconnect(self) -> None:
        if self._supervisor is not None:
            self._supervisor.cancel()
            try:
                await self._supervisor
            except asyncio.CancelledError:
                pass
        if self._conn is not None:
            try:
                await asyncio.wait_for(self._conn.close(), self._op_timeout)
            except _FAILED:
                self._conn.terminate()
            self._conn = None

    async def subscribe(self, channel: str) -> None:
        async with self._lock:
            self._channels.add(channel)
            if self.connected:
                await self._guarded(lambda conn: conn.add_listener(channel, self._notified))
            # Otherwise the reconnect LISTENs to it and sends a CATCH_UP for it.

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            self._channels.discard(channel)
            if self.connected:
                await self._guarded(lambda conn: conn.remove_listener(channel, self._notified))

    async def publish(self, channel: str, message: Any) -> None:
        await self.publish_many({channel: message})

    async def publish_many(self, messages: Mapping[str, str]) -> None:
        """Every message in one statement: one commit, one turn of the notify lock, for a
        whole batch of wake-ups (see `server.realtime.wakeups`)."""
        channels, payloads = list(messages), list(messages.values())
        async with self._lock:
            if not self.connected:
                raise ConnectionError("not connected to the broadcast database")
            await self._guarded(lambda conn: conn.execute(_NOTIFY_MANY, channels, payloads))
            if self._lost.is_set():
                raise ConnectionError("the broadcast database connection failed")

    async def next_published(self) -> Event:
        return await self._queue.get()

    # -- internals -----------------------------------------------------------------

    def _notified(self, _conn: Any, _pid: int, channel: str, payload: str) -> None:
        if channel in self._channels:
            self._queue.put_nowait(Event(channel=channel, message=payload))

    async def _guarded(self, operation: Callable[[asyncpg.Connection], Any]) -> None:
        """Run one operation with a timeout; a failure marks the connection lost."""
        assert self._conn is not None
        try:
            await asyncio.wait_for(operation(self._conn), self._op_timeout)
        except _FAILED as exc:
            log.warning("listener connection failed: %r", exc)
            self._lost.set()

    async def _open(self) -> None:
        conn = await asyncio.wait_for(
            # Named, so operators (and tests) can find each process's listener in pg_stat_activity.
            asyncpg.connect(self._dsn, server_settings={"application_name": LISTENER_APPLICATION_NAME}),
            self._op_timeout,
        )
        try:
            conn.add_termination_listener(lambda _c: self._lost.set())
            for channel in sorted(self._channels):
                await asyncio.wait_for(conn.add_listener(channel, self._notified), self._op_timeout)
        except BaseException:
            conn.terminate()
            raise
        self._conn = conn
        self._lost.clear()

    async def _supervise(self) -> None:
        while True:
            try:
                await self._watch()
                await self._reconnect()
            except Exception:
                # A failure no one foresaw must not end the supervisor: without it this
                # process would never hear of a change again (and never be ready).
                log.exception("listener supervisor failed; reconnecting")
                self._lost.set()
                await asyncio.sleep(self._max_backoff)

    async def _watch(self) -> None:
        """Return once the connection is lost (its end reported, or a health check failed)."""
        while True:
            try:
                await asyncio.wait_for(self._lost.wait(), self._health_interval)
                return
            except TimeoutError:
                async with self._lock:
                    if self.connected:
                        await self._guarded(lambda conn: conn.fetchval("SELECT 1"))
                if self._lost.is_set():
                    return

    async def _reconnect(self) -> None:
        log.warning("listener connection lost; reconnecting")
        delay = 0.05
        while True:
            # The lock is held per attempt, not across the backoff sleeps, so that
            # subscribes during an outage only register their channel and return.
            async with self._lock:
                if self._conn is not None:
                    self._conn.terminate()
                    self._conn = None
                try:
                    await self._open()
                except _FAILED as exc:
                    log.warning("listener reconnect failed (%r); retrying in %.2fs", exc, delay)
                else:
                    for channel in self._channels:
                        self._queue.put_nowait(Event(channel=channel, message=CATCH_UP))
                    break
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, self._max_backoff)
        log.warning("listener reconnected; %d channels re-listened", len(self._channels))
        if self._on_reconnect is not None:
            self._on_reconnect()
