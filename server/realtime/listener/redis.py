"""A broadcaster backend for Redis pub/sub that survives connection loss.

broadcaster 0.3.1's `RedisBackend` reads in a task that dies with the first connection
error, unobserved: from then on nothing is delivered and nothing is logged. This
backend (plugged in through `Broadcast(backend=...)`) reads in a supervised loop; on any
error it opens a fresh pub/sub connection, subscribes every channel again, and emits
one `CATCH_UP` event per channel so the feeds re-read the log. Publishing uses the
client's connection pool (concurrent publishes are fine) with a timeout.

Redis publishes happen after the commit, so a process that dies between the two, or a
publish that fails, is caught up by the feeds' periodic re-read and gap filling.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import Callable, Mapping
from typing import Any

from broadcaster import BroadcastBackend, Event
from redis import asyncio as aioredis
from redis.exceptions import RedisError

from server.realtime.listener.postgres import CATCH_UP, LISTENER_APPLICATION_NAME

log = logging.getLogger(__name__)


class ResilientRedisBackend(BroadcastBackend):
    def __init__(
        self,
        url: str,
        *,
        health_interval: float = 5.0,
        op_timeout: float = 5.0,
        max_backoff: float = 5.0,
        on_reconnect: Callable[[], None] | None = None,
    ) -> None:
        self._url = url
        self._health_interval = health_interval
        self._op_timeout = op_timeout
        self._max_backoff = max_backoff
        self._on_reconnect = on_reconnect
        self._channels: set[str] = set()
        self._queue: asyncio.Queue[Event] = asyncio.Queue()
        self._lock = asyncio.Lock()
        self._ok = False
        self._reader: asyncio.Task[None] | None = None

    def _client(self) -> aioredis.Redis:
        return aioredis.Redis.from_url(
            self._url,
            socket_connect_timeout=self._op_timeout,
            socket_keepalive=True,
            health_check_interval=self._health_interval,
            # Named per process, so operators (and tests) can tell whose connection is whose.
            client_name=f"{LISTENER_APPLICATION_NAME}:{os.getpid()}",
        )

    @property
    def connected(self) -> bool:
        return self._ok

    async def connect(self) -> None:
        self._redis = self._client()
        self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
        await asyncio.wait_for(self._redis.ping(), self._op_timeout)  # fail loudly at startup
        self._ok = True
        self._reader = asyncio.create_task(self._read(), name="redis-listener")

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            try:
                await self._reader
            except asyncio.CancelledError:
                pass
        await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        await self._redis.aclose()

    async def subscribe(self, channel: str) -> None:
        async with self._lock:
            self._channels.add(channel)
            await self._try(self._pubsub.subscribe(channel))

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            self._channels.discard(channel)
            await self._try(self._pubsub.unsubscribe(channel))

    async def publish(self, channel: str, message: Any) -> None:
        await asyncio.wait_for(self._redis.publish(channel, message), self._op_timeout)

    async def publish_many(self, messages: Mapping[str, str]) -> None:
        """Every message in one round trip (a pipeline, without MULTI)."""
        pipe = self._redis.pipeline(transaction=False)
        for channel, message in messages.items():
            pipe.publish(channel, message)
        await asyncio.wait_for(pipe.execute(), self._op_timeout)

    async def next_published(self) -> Event:
        return await self._queue.get()

    async def _try(self, operation: Any) -> None:
        try:
            await asyncio.wait_for(operation, self._op_timeout)
        except (RedisError, OSError, TimeoutError) as exc:
            # The reader notices too, reconnects, and re-subscribes every channel.
            log.warning("redis subscription change failed: %r", exc)
            self._ok = False

    async def _read(self) -> None:
        delay = 0.05
        while True:
            try:
                if not self._ok:
                    raise ConnectionError("the subscription connection failed")
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)  # nothing to listen to yet
                    continue
                message = await self._pubsub.get_message(timeout=self._health_interval)
                if message is not None and message["type"] == "message":
                    channel, data = message["channel"], message["data"]
                    self._queue.put_nowait(Event(channel=channel.decode(), message=data.decode()))
                delay = 0.05
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("redis listener failed (%r); reconnecting in %.2fs", exc, delay)
                self._ok = False
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, self._max_backoff)
                await self._resubscribe()

    async def _resubscribe(self) -> None:
        async with self._lock:
            try:
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
            except (RedisError, OSError):
                pass
            self._pubsub = self._redis.pubsub(ignore_subscribe_messages=True)
            try:
                if self._channels:
                    await asyncio.wait_for(self._pubsub.subscribe(*self._channels), self._op_timeout)
            except (RedisError, OSError, TimeoutError) as exc:
                log.warning("redis resubscribe failed: %r", exc)
                return
            self._ok = True
            for channel in self._channels:
                self._queue.put_nowait(Event(channel=channel, message=CATCH_UP))
        log.warning("redis listener reconnected; %d channels re-subscribed", len(self._channels))
        if self._on_reconnect is not None:
            self._on_reconnect()
