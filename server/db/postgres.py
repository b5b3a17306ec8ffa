"""The database on PostgreSQL: an asyncpg pool the app owns, behind a first-come,
first-served gate, with transactions asyncpg opens (`Connection.transaction()`)."""

from __future__ import annotations

import asyncio
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg
import sqlalchemy as sa

from server.db.batches import Batches
from server.db.connection import Conn, TxConn
from server.db.database import Announcer, Database
from server.db.fair_pool import FairPool
from server.db.pg_session import PgSession
from server.settings import Settings

_PING = sa.select(sa.literal(1))
# Statement-timeouts keep one stuck query from holding a pool slot forever.
PG_SESSION: dict[str, Any] = {"server_settings": {"statement_timeout": "30000"}}
# Room for every statement shape the code has (list pages alone are 81): each pooled
# connection prepares each shape once.
_STATEMENT_CACHE = 256
_CLOSE_TIMEOUT_SECONDS = 10.0


async def _no_reset(_raw: asyncpg.Connection) -> None:
    """Connections go back to the pool without asyncpg's reset query (RESET ALL, UNLISTEN
    *, …: one more round trip per request). The app changes no session state on them:
    no SET, no LISTEN (the fan-out listens on connections of its own), no session
    advisory locks, and every transaction is ended by its block. asyncpg still rolls
    back a transaction left open, and drops listeners, before calling this: it is the
    `reset` hook of `asyncpg.create_pool`, its public extension point for this. The
    reset query also found connections a server restart had left dead; those are
    closed rather than pooled by `server.db.pg_session.PgSession` instead."""


async def open_pool(settings: Settings) -> asyncpg.Pool:
    # `?prepared_statement_cache_size=0` (behind a pooler in transaction mode) is
    # honoured; `asyncpg_dsn` leaves it out, with the other SQLAlchemy-only spellings.
    cache_size = settings.statement_cache_size
    pool: asyncpg.Pool = await asyncpg.create_pool(
        settings.asyncpg_dsn,
        # Connections open as they are needed: several processes share one
        # PostgreSQL's connection limit, and a server starts while it is down.
        min_size=0,
        max_size=settings.db_pool_size + settings.db_max_overflow,
        statement_cache_size=_STATEMENT_CACHE if cache_size is None else cache_size,
        reset=_no_reset,
        # asyncpg's own bounds, on every statement and on connecting.
        command_timeout=settings.db_timeout_seconds,
        timeout=settings.db_timeout_seconds,
        **PG_SESSION,
    )
    return pool


class PostgresDatabase(Database):
    dialect = "postgresql"

    def __init__(self, pool: asyncpg.Pool, announcer: Announcer | None) -> None:
        super().__init__(announcer)
        self._fair = FairPool(pool)
        self._batches = Batches(self._fair)

    # A PgSession is its own `async with` block: it commits (or rolls back) and gives
    # its connection back on the way out.

    def _write(self) -> AbstractAsyncContextManager[TxConn]:
        return PgSession(self._fair, "write", self._batches)

    def snapshot(self) -> AbstractAsyncContextManager[Conn]:
        return PgSession(self._fair, "snapshot")

    def read(self) -> AbstractAsyncContextManager[Conn]:
        # Autocommit: no BEGIN/COMMIT round trips around a single SELECT, and no
        # generator-based context manager around the session (the read path of every
        # list and get).
        return PgSession(self._fair, "autocommit")

    async def ping(self) -> None:
        async with PgSession(self._fair, "autocommit") as session:
            await session.fetchval(_PING)

    async def dispose(self) -> None:
        try:
            # Waits for checked-out connections to come back; a request stuck past the
            # graceful shutdown must not hold the process up for ever.
            await asyncio.wait_for(self._fair.pool.close(), _CLOSE_TIMEOUT_SECONDS)
        except TimeoutError:
            self._fair.pool.terminate()
