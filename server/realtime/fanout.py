"""The realtime side: the broadcast backend and the notifier that write transactions
announce through (`fanout_for`, built before the database, which is given the notifier),
then, opened in the lifespan, the dispatcher, the wake-up sender, the hub, the
recent-events sweep, and the maintenance loop (log retention, idempotency-key expiry,
and a periodic catch-up as a safety net).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from broadcaster import BroadcastBackend

from server.db.database import Database
from server.errors import ConfigurationError
from server.realtime import log as event_log
from server.realtime.dispatch import Dispatcher, InProcessBackend
from server.realtime.hub import Hub
from server.realtime.listener.postgres import ResilientPostgresBackend
from server.realtime.listener.redis import ResilientRedisBackend
from server.realtime.notifier import Notifier
from server.realtime.wakeups import BatchPublisher, Wakeups
from server.runtime.metrics import Metrics
from server.settings import Settings, asyncpg_dsn_of
from server.tasks import idempotency

log = logging.getLogger(__name__)

# How long the listener may be lost before this process ends its streams, if it cannot
# reach its database either: longer than a listener reconnect, after which the streams
# would stay open and silently stale. Clients resume by seq through another process
# (the load balancer has taken this one out by then: /readyz says 503). While the
# database answers (it restarted, and the listener waits out its backoff) the streams
# stay: the listener's catch-up re-reads the log.
STREAMS_END_AFTER_LISTENER_LOST_SECONDS = 5.0
# When the database does not answer at all (no refusal, no reset: a silent partition, or
# this process too starved to hear the answer, as in a reconnect storm), the streams stay
# this long: ending them all for a process that is only slow doubles the storm it is
# absorbing, while the catch-up sweep covers a late wake-up.
STREAMS_END_AFTER_DATABASE_SILENT_SECONDS = 30.0
# How far before the previous sweep's start the next one looks (see `_sweep_recent`).
_SWEEP_MARGIN_SECONDS = 5.0
# The longest stretch one sweep looks back over (after sweeps failed): past it, the
# feeds re-read their logs one by one rather than the log of every user at once.
_SWEEP_MAX_LOOKBACK = timedelta(minutes=5)


_Backend = tuple[BroadcastBackend, BatchPublisher, bool, Callable[[], bool]]


def _backend_for(settings: Settings, metrics: Metrics) -> _Backend:
    """The backend (as broadcaster's backend, and as what sends batches of wake-ups: the
    same object), whether other processes hear it, and a readiness probe."""
    url = settings.broadcast_url or (settings.asyncpg_dsn if settings.is_postgres else "memory://")
    options: dict[str, Any] = {
        "health_interval": settings.listener_health_seconds,
        "op_timeout": settings.listener_timeout_seconds,
        "on_reconnect": metrics.listener_reconnects.inc,
    }
    if url.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
        dsn = asyncpg_dsn_of(url)
        pg = ResilientPostgresBackend(dsn, **options)
        return pg, pg, True, lambda: pg.connected
    if url.startswith(("redis://", "rediss://")):
        redis = ResilientRedisBackend(url, **options)
        return redis, redis, True, lambda: redis.connected
    if url.startswith("memory://"):
        if settings.is_postgres:
            # Other processes would never hear of this process's writes.
            log.warning("BROADCAST_URL=memory:// with PostgreSQL: fan-out stays inside this process")
        memory = InProcessBackend()
        return memory, memory, False, lambda: True
    raise ConfigurationError(f"unsupported BROADCAST_URL scheme: {url.split(':', 1)[0]}")


async def _maintain(settings: Settings, db: Database, hub: Hub) -> None:
    """The periodic reconcile of every feed, and retention, each on its own interval."""
    loop = asyncio.get_running_loop()
    next_reconcile = loop.time() + settings.reconcile_seconds
    next_retention = loop.time() + settings.retention_interval_seconds
    while True:
        await asyncio.sleep(max(0.0, min(next_reconcile, next_retention) - loop.time()))
        now = loop.time()
        try:
            if now >= next_reconcile:
                next_reconcile = now + settings.reconcile_seconds
                await hub.reconcile()
            if now >= next_retention:
                next_retention = now + settings.retention_interval_seconds
                async with db.transaction() as tx:
                    pruned = await event_log.prune(
                        tx.conn, settings.retention_events, settings.retention_days
                    )
                    expired = await idempotency.prune(tx.conn, settings.idempotency_ttl_hours)
                log.info("maintenance: pruned %d events, %d idempotency keys", pruned, expired)
        except Exception:
            log.exception("maintenance pass failed; retrying next time")


async def _sweep_recent(settings: Settings, hub: Hub, metrics: Metrics) -> None:
    """Every `catch_up_sweep_seconds`, wake the feeds that missed a wake-up: events
    stamped since the last sweep that succeeded began (less a margin for a commit that
    came late after its stamp, and for clocks that differ between hosts) that a feed
    here has not delivered. The wake-up of a writer killed after its commit is lost with
    it. A failed sweep leaves no hole: the next one looks back over it, and after a gap
    longer than `_SWEEP_MAX_LOOKBACK` every feed re-reads its own log instead."""
    interval = settings.catch_up_sweep_seconds
    margin = timedelta(seconds=_SWEEP_MARGIN_SECONDS)
    covered = datetime.now(UTC)  # what came before is in each feed's own first read
    while True:
        await asyncio.sleep(interval)
        started = datetime.now(UTC)
        try:
            if started - covered > _SWEEP_MAX_LOOKBACK:
                await hub.reconcile()
            else:
                woken = await hub.catch_up_recent(covered - margin)
                if woken:
                    metrics.swept_feeds.inc(woken)
        except Exception as exc:  # the database away: looked back over by the next sweep
            log.warning("recent-events sweep failed: %r", exc)
            continue
        covered = started


async def _database_answer(db: Database) -> Literal["up", "refused", "silent"]:
    """ "up", "refused" (it answered with an error), or "silent" (no answer in 2 s)."""
    try:
        async with asyncio.timeout(2.0):
            await db.ping()
    except TimeoutError:
        return "silent"
    except Exception:
        return "refused"
    return "up"


async def _end_streams_while_unready(hub: Hub, ready: Callable[[], bool]) -> None:
    loop = asyncio.get_running_loop()
    lost_since: float | None = None
    while True:
        await asyncio.sleep(0.5)
        if ready():
            lost_since = None
            continue
        now = loop.time()  # the clock, not a count of ticks: a starved loop ticks late
        lost_since = now if lost_since is None else lost_since
        lost_for = now - lost_since
        if lost_for < STREAMS_END_AFTER_LISTENER_LOST_SECONDS:
            continue
        answer = await _database_answer(hub.db)
        silent_too_long = answer == "silent" and lost_for >= STREAMS_END_AFTER_DATABASE_SILENT_SECONDS
        if answer == "refused" or silent_too_long:
            ended = hub.abandon_streams()
            if ended:
                log.warning(
                    "listener lost for %.1f s, database %s: ended %d streams to resume elsewhere",
                    lost_for,
                    answer,
                    ended,
                )


@dataclass(frozen=True)
class Fanout:
    """The broadcast backend, the notifier writes announce through, and its readiness."""

    backend: BroadcastBackend
    notifier: Notifier
    wakeups: Wakeups
    # Whether other processes hear this one (PostgreSQL or Redis), so that a wake-up can
    # be lost with its writer and the recent-events sweep is worth its query.
    shared: bool
    ready: Callable[[], bool]


def fanout_for(settings: Settings, metrics: Metrics) -> Fanout:
    """The fan-out the settings name; nothing is connected yet (see `open_realtime`)."""
    backend, publisher, shared, ready = _backend_for(settings, metrics)
    # The wake-ups go straight to the backend, which the dispatcher connects.
    wakeups = Wakeups(publisher, metrics, timeout=settings.listener_timeout_seconds)
    return Fanout(backend, Notifier(wakeups, metrics), wakeups, shared, ready)


@asynccontextmanager
async def open_realtime(
    settings: Settings, db: Database, fanout: Fanout, metrics: Metrics
) -> AsyncIterator[Hub]:
    """Connect the fan-out and open the hub over `db`, whose writes announce through
    `fanout.notifier`."""
    ready = fanout.ready
    dispatcher = Dispatcher(fanout.backend)
    await dispatcher.connect()
    hub = Hub(
        db,
        dispatcher,
        settings.stream_queue_size,
        ready=ready,
        metrics=metrics,
        lag_seconds=settings.stream_lag_seconds,
        stream_max_bytes=settings.stream_buffer_bytes,
    )
    fanout.wakeups.start()
    tasks = [
        asyncio.create_task(_maintain(settings, db, hub), name="maintenance"),
        asyncio.create_task(_end_streams_while_unready(hub, ready), name="listener-watchdog"),
    ]
    if fanout.shared:
        tasks.append(asyncio.create_task(_sweep_recent(settings, hub, metrics), name="recent-events-sweep"))
    try:
        yield hub
    finally:
        for task in tasks:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await fanout.wakeups.stop()
        await hub.close()
        await dispatcher.disconnect()
