"""Notifications from the broadcast backend to the per-user feeds of this process.

broadcaster's own `Broadcast.subscribe` gives every subscription an `asyncio.Queue`
and its subscriber a task to read it: per user, two tasks, a queue and an exit stack
held for as long as one of the user's sockets is open, which is most of an idle
socket's cost beyond the connection itself. A notification here is only a wake-up
("this user's log moved", see `UserFeed`), so the one task that reads the backend
(`BroadcastBackend.next_published`, broadcaster's public backend interface) calls the
listening feed's `wake` directly; nothing is queued per user.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from contextlib import suppress
from typing import Any

from broadcaster import BroadcastBackend, Event

log = logging.getLogger(__name__)


class Dispatcher:
    """Connects the backend, LISTENs per channel, and wakes the channel's listeners."""

    def __init__(self, backend: BroadcastBackend) -> None:
        self.backend = backend
        # A channel is a digest of the user id (channels.py): two users on one channel
        # is not expected, but would cost only spurious wake-ups, never a lost one.
        self._wakes: dict[str, tuple[Callable[[], None], ...]] = {}
        self._reader: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        await self.backend.connect()
        self._reader = asyncio.create_task(self._read(), name="fanout-dispatch")

    async def disconnect(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with suppress(asyncio.CancelledError):
                await self._reader
        await self.backend.disconnect()

    async def listen(self, channel: str, wake: Callable[[], None]) -> None:
        """Call `wake` on every notification of `channel` from now on."""
        wakes = self._wakes.get(channel, ())
        self._wakes[channel] = (*wakes, wake)
        if not wakes:
            try:
                await self.backend.subscribe(channel)
            except BaseException:
                await self.unlisten(channel, wake)
                raise

    async def unlisten(self, channel: str, wake: Callable[[], None]) -> None:
        wakes = tuple(w for w in self._wakes.get(channel, ()) if w != wake)
        if wakes:
            self._wakes[channel] = wakes
            return
        if self._wakes.pop(channel, None) is not None:
            await self.backend.unsubscribe(channel)

    async def _read(self) -> None:
        while True:
            try:
                event = await self.backend.next_published()
            except asyncio.CancelledError:
                raise
            except Exception:
                # The resilient backends recover by themselves; never stop reading.
                log.exception("reading the broadcast backend failed")
                await asyncio.sleep(0.5)
                continue
            for wake in self._wakes.get(event.channel, ()):
                wake()


class InProcessBackend(BroadcastBackend):
    """`BROADCAST_URL=memory://`: notifications stay inside this process."""

    def __init__(self) -> None:
        self._channels: set[str] = set()
        self._published: asyncio.Queue[Event] | None = None

    async def connect(self) -> None:
        self._published = asyncio.Queue()

    async def disconnect(self) -> None:
        self._published = None

    async def subscribe(self, channel: str) -> None:
        self._channels.add(channel)

    async def unsubscribe(self, channel: str) -> None:
        self._channels.discard(channel)

    async def publish(self, channel: str, message: Any) -> None:
        if self._published is not None and channel in self._channels:
            self._published.put_nowait(Event(channel=channel, message=message))

    async def publish_many(self, messages: Mapping[str, str]) -> None:
        for channel, message in messages.items():
            await self.publish(channel, message)

    async def next_published(self) -> Event:
        assert self._published is not None, "not connected"
        return await self._published.get()
