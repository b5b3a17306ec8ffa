"""Engine construction and the one transaction helper every write goes through.

`Database.transaction()` commits on success and rolls back on any error; callbacks
registered with `Tx.after_commit` run only once the commit has succeeded (used to
publish wake-ups on backends that cannot take part in the transaction).
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import asyncpg
import sqlalchemy as sa
from sqlalchemy import event, exc
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from server import fastsql
from server.settings import Settings

log = logging.getLogger(__name__)

# The database cannot be reached (refused, reset, restarting, shutting down), as
# opposed to a statement that failed on a working connection.
_UNREACHABLE = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,  # no connection to be had now, retry later
    asyncpg.exceptions.OperatorInterventionError,
)
# One log line per outage: failures closer together than this are the same outage.
_OUTAGE_GAP_SECONDS = 30.0

AfterCommit = Callable[[], Awaitable[None]]


class Announcer(Protocol):
    """Writes an event row and tells the other server processes that the user's log has
    a new event (`event` holds the values of `server.realtime.log.INSERT_EVENT`)."""

    async def record(self, tx: Tx, event: Mapping[str, Any]) -> None: ...


@dataclass
class Tx:
    """An open write transaction: its connection and what to do once it has committed."""

    conn: AsyncConnection
    announcer: Announcer | None = None
    _after_commit: list[AfterCommit] = field(default_factory=list)

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    def after_commit(self, callback: AfterCommit) -> None:
        self._after_commit.append(callback)


def unreachable(error: BaseException) -> bool:
    """Whether `error` means the database cannot be reached right now (a `503` and a
    retry later), not that a statement is wrong (a bug: a `500`)."""
    if isinstance(error, exc.TimeoutError):  # no pool connection came free in time
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
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        immediate = conn.get_execution_options().get("tasksync_write", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def create_engine(settings: Settings) -> AsyncEngine:
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        _configure_sqlite(engine)
        return engine
    return create_async_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=False,
        # Statement-timeouts keep one stuck query from holding a pool slot forever.
        connect_args={"server_settings": {"statement_timeout": "30000"}},
    )


@asynccontextmanager
async def _driver_transaction(conn: AsyncConnection, isolation: str | None = None) -> AsyncIterator[None]:
    """A transaction on PostgreSQL, opened and ended by asyncpg itself, that statements
    sent through `conn` (SQLAlchemy) and straight to its driver (`server.fastsql`) share.

    Why the driver's: SQLAlchemy's asyncpg adapter sends its BEGIN lazily, with its own
    first statement, so a statement sent to the driver before that would run outside the
    transaction, and only a private method starts the adapter's early. Instead `conn` is
    put in AUTOCOMMIT, where the adapter sends no BEGIN/COMMIT/ROLLBACK of its own (its
    commit and rollback are no-ops), and the transaction is asyncpg's public
    `Connection.transaction()` on the driver connection SQLAlchemy hands out publicly
    (`get_raw_connection().driver_connection`). It is safe because every statement,
    whichever way it goes, runs on that one PostgreSQL session, one after another: the
    connection belongs to this block alone (checked out of the pool for it) and one
    coroutine drives it, so asyncpg never has two operations in progress.
    """
    await conn.execution_options(isolation_level="AUTOCOMMIT")
    driver: asyncpg.Connection = (await conn.get_raw_connection()).driver_connection
    try:
        transaction = driver.transaction(isolation=isolation)  # raises at once if closed
        await transaction.start()
    except Exception as error:
        await _after_driver_error(conn, error)
        raise
    try:
        yield
    except BaseException:
        try:
            await transaction.rollback()
        except Exception:
            # The connection is broken, or still busy with a cancelled statement: it
            # must not go back to the pool.
            await conn.invalidate()
        raise
    try:
        await transaction.commit()
    except Exception as error:
        await _after_driver_error(conn, error)
        raise


async def _after_driver_error(conn: AsyncConnection, error: Exception) -> None:
    """After BEGIN or COMMIT failed on the driver: a dead connection is met through
    SQLAlchemy (see `server.fastsql.meet_disconnect`), any other failure leaves the
    session in an unknown state, so the connection is dropped rather than pooled."""
    if await fastsql.meet_disconnect(conn, error):
        return
    await conn.invalidate()


class Database:
    """The engine plus the transaction helpers; opened and closed by the app lifespan."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        # Set once the fan-out is up; every write transaction announces through it.
        self.announcer: Announcer | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One write transaction: commit on success, roll back on any exception."""
        async with self.engine.connect() as conn:
            tx = Tx(conn, self.announcer)
            if self.dialect == "postgresql":
                async with _driver_transaction(conn):
                    yield tx
            else:
                await conn.execution_options(tasksync_write=True)
                async with conn.begin():
                    yield tx
            # Reached only when the commit succeeded.
            for callback in tx._after_commit:
                try:
                    await callback()
                except Exception:
                    # The write is durable in the log; a lost wake-up is caught up later.
                    log.exception("after-commit callback failed")

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[AsyncConnection]:
        """A read-only transaction whose statements all see one snapshot of the data."""
        async with self.engine.connect() as conn:
            if self.dialect == "postgresql":
                async with _driver_transaction(conn, isolation="repeatable_read"):
                    yield conn
                return
            async with conn.begin():
                yield conn

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads that are each one statement (one snapshot apiece).

        On PostgreSQL it runs in autocommit: no BEGIN/ROLLBACK round trips around a
        single SELECT. SQLite reads are local and keep their deferred transaction.
        """
        if self.dialect != "postgresql":
            async with self.snapshot() as conn:
                yield conn
            return
        async with self.engine.connect() as conn:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            yield conn

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
