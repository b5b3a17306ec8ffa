"""Opening the realtime side in the lifespan: broadcaster with the right backend, the
notifier that write transactions announce through, the hub, and the maintenance loop
(log retention, idempotency-key expiry, and a periodic catch-up as a safety net).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress

from broadcaster import Broadcast

from server import idempotency
from server.db import Database
from server.realtime import log as event_log
from server.realtime.hub import Hub
from server.realtime.notifier import Notifier
from server.realtime.pg_backend import ResilientPostgresBackend
from server.settings import Settings

log = logging.getLogger(__name__)


def _broadcast_for(settings: Settings) -> tuple[Broadcast, bool, Callable[[], bool]]:
    """The Broadcast, whether NOTIFY can ride in the write transaction, and a readiness probe."""
    url = settings.broadcast_url or (settings.database_url if settings.is_postgres else "memory://")
    if url.startswith(("postgres://", "postgresql://", "postgresql+asyncpg://")):
        dsn = url.replace("postgresql+asyncpg://", "postgresql://", 1)
        backend = ResilientPostgresBackend(
            dsn,
            health_interval=settings.listener_health_seconds,
            op_timeout=settings.listener_timeout_seconds,
        )
        same_database = settings.is_postgres and dsn == settings.asyncpg_dsn
        return Broadcast(backend=backend), same_database, lambda: backend.connected
    return Broadcast(url), False, lambda: True


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


@asynccontextmanager
async def open_realtime(settings: Settings, db: Database) -> AsyncIterator[Hub]:
    broadcast, in_transaction, ready = _broadcast_for(settings)
    await broadcast.connect()
    hub = Hub(db, broadcast, settings.stream_queue_size, ready=ready)
    db.announcer = Notifier(broadcast, in_transaction=in_transaction)
    maintenance = asyncio.create_task(_maintain(settings, db, hub), name="maintenance")
    try:
        yield hub
    finally:
        maintenance.cancel()
        with suppress(asyncio.CancelledError):
            await maintenance
        db.announcer = None
        await hub.close()
        await broadcast.disconnect()
