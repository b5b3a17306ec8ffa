"""The database and the one transaction helper every write goes through.

`Database.transaction()` commits on success and rolls back on any error; callbacks
registered with `Tx.after_commit` run only once the commit has succeeded (used to
publish wake-ups on backends that cannot take part in the transaction).

PostgreSQL runs on an asyncpg pool the app owns, with transactions asyncpg opens
(`Connection.transaction()`); SQLite on SQLAlchemy's engine. SQLAlchemy also runs the
migrations on both (`create_engine`). Statements are SQLAlchemy Core either way (see
`server.db.connection`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from server.db.connection import CONNECTION_LOST, Conn, Mode, PgSession, SqliteConn, TxConn
from server.db.fair_pool import FairPool
from server.settings import Settings

log = logging.getLogger(__name__)

# The database cannot be reached (refused, reset, restarting, shutting down), as
# opposed to a statement that failed on a working connection. OSError includes
# TimeoutError: no pool connection came free in time, or no connect.
_UNREACHABLE = (
    *CONNECTION_LOST,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,  # no connection to be had now, retry later
)
_PING = sa.select(sa.literal(1))
# One log line per outage: failures closer together than this are the same outage.
_OUTAGE_GAP_SECONDS = 30.0

AfterCommit = Callable[[], Awaitable[None]]


class Announcer(Protocol):
    """Writes an event row and tells the other server processes that the user's log has
    a new event (`event` holds the values of `server.realtime.log.INSERT_EVENT`)."""

    # Whether the notification is a NOTIFY in the write's own statements (PostgreSQL
    # fan-out on this database), which a statement writing its event row itself sends.
    notifies_in_statement: bool

    async def record(self, tx: Tx, event: Mapping[str, Any]) -> None: ...

    def recorded(self, tx: Tx, user_id: str, seq: int) -> None:
        """An event row the caller's own statement wrote (with its NOTIFY when
        `notifies_in_statement`): announce it the rest of the way."""
        ...


@dataclass
class Tx:
    """An open write transaction: its connection and what to do once it has committed."""

    conn: TxConn
    announcer: Announcer | None = None
    _after_commit: list[AfterCommit] = field(default_factory=list)

    @property
    def dialect(self) -> str:
        return self.conn.dialect

    def after_commit(self, callback: AfterCommit) -> None:
        self._after_commit.append(callback)


def unreachable(error: BaseException) -> bool:
    """Whether `error` means the database cannot be reached right now (a `503` and a
    retry later), not that a statement is wrong (a bug: a `500`)."""
    if isinstance(error, exc.TimeoutError):  # SQLite: no pool connection came free in time
        return True
    if isinstance(error, exc.DBAPIError):
        return (
            bool(error.connection_invalidated)
            or isinstance(error.orig, _UNREACHABLE)
            or (isinstance(error.orig, Exception) and isinstance(error.orig.__cause__, _UNREACHABLE))
        )
    return isinstance(error, _UNREACHABLE)


class OutageLog:
    """Logs a database outage once, however many requests it fails."""

    def __init__(self) -> None:
        self._last_failure = float("-inf")

    def failed(self, error: BaseException) -> None:
        now = time.monotonic()
        if now - self._last_failure > _OUTAGE_GAP_SECONDS:
            log.warning("database unreachable, answering 503 until it is back: %s", _describe(error))
        self._last_failure = now


def _describe(error: BaseException) -> str:
    cause = error.orig if isinstance(error, exc.DBAPIError) else error
    return f"{type(cause).__name__}: {cause}"[:300]


def _configure_sqlite(engine: AsyncEngine) -> None:
    # pysqlite's implicit BEGIN is deferred: two writers that both read first would then
    # deadlock on the upgrade to a write lock. Writers take the lock up front instead
    # (BEGIN IMMEDIATE), readers stay deferred and, with WAL, never block on writers.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: in WAL mode NORMAL may lose the last commits to an OS crash or power
        # cut, and the embedded default must not acknowledge a write it can lose.
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get("tasksync_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


# Statement-timeouts keep one stuck query from holding a pool slot forever.
_PG_SESSION: dict[str, Any] = {"server_settings": {"statement_timeout": "30000"}}


def create_engine(settings: Settings) -> AsyncEngine:
    """SQLAlchemy's engine: the database itself on SQLite, the migrations on both."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        _configure_sqlite(engine)
        return engine
    # On PostgreSQL only migrations and tools use it: no connection is kept.
    return create_async_engine(url, poolclass=NullPool, connect_args=_PG_SESSION)


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
    closed rather than pooled by `server.db.connection.PgSession` instead."""


async def _open_pool(settings: Settings) -> asyncpg.Pool:
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
        **_PG_SESSION,
    )
    return pool


class Database:
    """The database and its transaction helpers; opened and closed by the app lifespan.

    Every helper hands out a `Conn` whose pool connection belongs to its block alone
    and is driven by one coroutine, so a driver connection never has two operations
    at once (see `server.db.connection.PgSession`).
    """

    def __init__(self, *, pool: asyncpg.Pool | None = None, engine: AsyncEngine | None = None) -> None:
        if (pool is None) == (engine is None):
            raise ValueError("a Database has a pool (PostgreSQL) or an engine (SQLite)")
        self._fair = FairPool(pool) if pool is not None else None
        self._engine = engine
        # Set once the fan-out is up; every write transaction announces through it.
        self.announcer: Announcer | None = None

    @classmethod
    async def open(cls, settings: Settings) -> Database:
        if make_url(settings.database_url).get_backend_name() == "sqlite":
            return cls(engine=create_engine(settings))
        return cls(pool=await _open_pool(settings))

    @property
    def dialect(self) -> str:
        return "sqlite" if self._fair is None else "postgresql"

    def _session(self, mode: Mode) -> PgSession:
        # A PgSession is its own `async with` block: it commits (or rolls back) and
        # gives its connection back on the way out.
        assert self._fair is not None
        return PgSession(self._fair, mode)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One write transaction: commit on success, roll back on any exception."""
        if self._engine is not None:
            async with self._engine.connect() as sa_conn:
                await sa_conn.execution_options(tasksync_write=True)
                async with sa_conn.begin():
                    tx = Tx(SqliteConn(sa_conn), self.announcer)
                    yield tx
        else:
            async with self._session("write") as session:
                tx = Tx(session, self.announcer)
                yield tx
        # Reached only when the commit succeeded.
        for callback in tx._after_commit:
            try:
                await callback()
            except Exception:
                # The write is durable in the log; a lost wake-up is caught up later.
                log.exception("after-commit callback failed")

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Conn]:
        """A read-only transaction whose statements all see one snapshot of the data."""
        if self._engine is not None:
            async with self._engine.connect() as sa_conn, sa_conn.begin():
                yield SqliteConn(sa_conn)
            return
        async with self._session("snapshot") as session:
            yield session

    def read(self) -> AbstractAsyncContextManager[Conn]:
        """A connection for reads that are each one statement (one snapshot apiece).

        On PostgreSQL it runs in autocommit: no BEGIN/COMMIT round trips around a
        single SELECT, and no generator-based context manager around the session (the
        read path of every list and get). SQLite reads are local and keep their
        deferred transaction.
        """
        if self._engine is not None:
            return self.snapshot()
        return self._session("autocommit")

    async def ping(self) -> None:
        if self._engine is not None:
            async with self._engine.connect() as sa_conn:
                await sa_conn.execute(sa.text("SELECT 1"))
            return
        async with self._session("autocommit") as session:
            await session.fetchval(_PING)

    async def dispose(self) -> None:
        if self._engine is not None:
            await self._engine.dispose()
        if self._fair is not None:
            try:
                # Waits for checked-out connections to come back; a request stuck past
                # the graceful shutdown must not hold the process up for ever.
                await asyncio.wait_for(self._fair.pool.close(), _CLOSE_TIMEOUT_SECONDS)
            except TimeoutError:
                self._fair.pool.terminate()
