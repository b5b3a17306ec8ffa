"""Wake-ups for the other server processes, sent after the commit and coalesced.

A NOTIFY issued inside a write transaction makes that transaction's commit take
PostgreSQL's one instance-wide notification lock, held through the commit's WAL flush
(`src/backend/commands/async.c`): every writer on the database then commits one at a
time. So a write only records here, once it has committed, that its user's channel
is owed a wake-up; one sender per process sends everything owed in one statement
(`SELECT pg_notify(...) FROM unnest(...)`, or one Redis pipeline), and whatever
becomes owed meanwhile goes in the next one. Under load a batch carries many users'
wake-ups for one commit of the lock, and a user written to many times carries only
the newest seq: a wake-up is a hint to re-read the log after the last seq delivered.

A process killed between a commit and its wake-up leaves the other processes'
streams behind until they look at the log themselves: `server.realtime.hub.Hub`'s
recent-events sweep (every `CATCH_UP_SWEEP_SECONDS`) does that within seconds.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Protocol

from server.runtime.metrics import Metrics

log = logging.getLogger(__name__)


class BatchPublisher(Protocol):
    """A broadcast backend that sends many messages at once (our backends all do)."""

    async def publish_many(self, messages: Mapping[str, str]) -> None: ...


class Wakeups:
    """The wake-ups this process owes, and the one task that sends them."""

    def __init__(self, publisher: BatchPublisher, metrics: Metrics, *, timeout: float) -> None:
        self._publisher = publisher
        self._metrics = metrics
        self._timeout = timeout
        self._owed: dict[str, int] = {}
        self._ready = asyncio.Event()
        self._stopping = False
        self._sender: asyncio.Task[None] | None = None

    def owe(self, channel: str, seq: int) -> None:
        """A committed event of `channel`'s user: wake the other processes' feeds."""
        if seq > self._owed.get(channel, 0):
            self._owed[channel] = seq
        self._ready.set()

    def start(self) -> None:
        self._sender = asyncio.create_task(self._send_forever(), name="wakeup-sender")

    async def stop(self) -> None:
        """Send what is still owed (a shutting-down process's last writes), then stop.

        The sender is asked to end rather than cancelled: on Python 3.11 a cancellation
        that arrives as a bounded send completes can be lost, and the sender would then
        wait for the next wake-up for ever, holding the shutdown up."""
        self._stopping = True
        self._ready.set()
        if self._sender is not None:
            sender, self._sender = self._sender, None
            await sender  # ends after the batch in flight, itself bounded by the timeout
        await self._send_owed()

    async def _send_forever(self) -> None:
        while not self._stopping:
            await self._ready.wait()
            await self._send_owed()

    async def _send_owed(self) -> None:
        self._ready.clear()
        if not self._owed:
            return
        batch, self._owed = self._owed, {}
        try:
            async with asyncio.timeout(self._timeout):
                await self._publisher.publish_many({channel: str(seq) for channel, seq in batch.items()})
        except Exception as exc:
            # The events are in the log: the listeners' catch-up and the recent-events
            # sweep find them. Bounded, so a dead connection cannot hold the next batch.
            log.warning("sending %d wake-ups failed: %r", len(batch), exc)
            return
        self._metrics.events_notified.inc(len(batch))
        self._metrics.wakeup_batches.inc()
