"""The realtime side: the broadcast backend and the notifier that write transactions
announce through (`fanout_for`, built before the database, which is given the notifier),
then, opened in the lifespan, the dispatcher, the hub, and the maintenance loop (log
retention, idempotency-key expiry, and a periodic catch-up as a safety net).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any

from broadcaster import Broadcast, BroadcastBackend

from server.db.database import Database
from server.errors import ConfigurationError
from server.realtime import log as event_log
from server.realtime.dispatch import Dispatcher, InProcessBackend
from server.realtime.hub import Hub
from server.realtime.listener.postgres import ResilientPostgresBackend
from server.realtime.listener.redis import ResilientRedisBackend
from server.realtime.notifier import Notifier
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


def _backend_for(settings: Settings, metrics: Metrics) -> tuple[BroadcastBackend, bool, Callable[[], bool]]:
    """The backend, whether NOTIFY can ride in the write transaction, and a readiness probe."""
    url = settings.broadcast_url or (settings.asyncpg_dsn if settings.is_postgres else "memory://")
    options: dict[str, Any] = {
        "health_interval": settings.listener_health_seconds,
        "op_timeout": settings.listener_timeout_seconds,
        "on_reconnect": metrics.listener_reconnects.inc,
    }
    if url.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
        dsn = asyncpg_dsn_of(url)
        pg = ResilientPostgresBackend(dsn, **options)
        same_database = settings.is_postgres and dsn == settings.asyncpg_dsn
        return pg, same_database, lambda: pg.connected
    if url.startswith(("redis://", "rediss://")):
        redis = ResilientRedisBackend(url, **options)
        return redis, False, lambda: redis.connected
    if url.startswith("memory://"):
        if settings.is_postgres:
            # Other processes would never hear of this process's writes.
            log.warning("BROADCAST_URL=memory:// with PostgreSQL: fan-out stays inside this process")
        return InProcessBackend(), False, lambda: True
    raise ConfigurationError(f"unsupported BROADCAST_URL scheme: {url.split(':', 1)[0]}")


async def _maintain(settings: Settings, db: Database, hub: Hub) -> None:
    elapsed = 0.0
    while True:
        await asyncio.sleep(settings.reconcile_seconds)
        elapsed += settings.reconcile_seconds
        try:
            await hub.reconcile()
            if elapsed >= settings.retention_interval_seconds:
                elapsed = 0.0
                async with db.transaction() as tx:
                    pruned = await event_log.prune(
                        tx.conn, settings.retention_events, settings.retention_days
                    )
                    expired = await idempotency.prune(tx.conn, settings.idempotency_ttl_hours)
                log.info("maintenance: pruned %d events, %d idempotency keys", pruned, expired)
        except Exception:
            log.exception("maintenance pass failed; retrying next time")


async def _reachable(db: Database) -> bool:
    try:
        await asyncio.wait_for(db.ping(), 2.0)
    except Exception:
        return False
    return True


async def _end_streams_while_unready(hub: Hub, ready: Callable[[], bool]) -> None:
    tick, lost_for = 0.5, 0.0
    while True:
        await asyncio.sleep(tick)
        lost_for = 0.0 if ready() else lost_for + tick
        if lost_for >= STREAMS_END_AFTER_LISTENER_LOST_SECONDS and not await _reachable(hub.db):
            ended = hub.abandon_streams()
            if ended:
                log.warning("listener lost for %.1f s: ended %d streams to resume elsewhere", lost_for, ended)


@dataclass(frozen=True)
class Fanout:
    """The broadcast backend, the notifier writes announce through, and its readiness."""

    backend: BroadcastBackend
    notifier: Notifier
    ready: Callable[[], bool]


def fanout_for(settings: Settings, metrics: Metrics) -> Fanout:
    """The fan-out the settings name; nothing is connected yet (see `open_realtime`)."""
    backend, in_transaction, ready = _backend_for(settings, metrics)
    # The notifier only publishes: `Broadcast.publish` hands the message to the backend,
    # which the dispatcher connects (this Broadcast's own listener is never started).
    notifier = Notifier(
        Broadcast(backend=backend),
        metrics,
        in_transaction=in_transaction,
        timeout=settings.listener_timeout_seconds,
    )
    return Fanout(backend, notifier, ready)


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
    maintenance = asyncio.create_task(_maintain(settings, db, hub), name="maintenance")
    watchdog = asyncio.create_task(_end_streams_while_unready(hub, ready), name="listener-watchdog")
    try:
        yield hub
    finally:
        for task in (watchdog, maintenance):
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        await hub.close()
        await dispatcher.disconnect()
