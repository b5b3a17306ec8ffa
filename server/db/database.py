"""The database's one interface and the one transaction helper every write goes through.

`Database.transaction()` commits on success and rolls back on any error; callbacks
registered with `Tx.after_commit` run only once the commit has succeeded (used to
publish wake-ups on backends that cannot take part in the transaction).

Two small classes implement it, one per driver: `server.db.postgres` (an asyncpg pool
the app owns, transactions asyncpg opens) and `server.db.sqlite` (SQLAlchemy's engine);
`server.db.open` picks one from the settings. Statements are SQLAlchemy Core either way
(see `server.db.connection`).
"""

from __future__ import annotations

import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
from sqlalchemy import exc

from server.db.connection import Conn, TxConn
from server.db.pg_session import CONNECTION_LOST

log = logging.getLogger(__name__)

# The database cannot be reached (refused, reset, restarting, shutting down), as
# opposed to a statement that failed on a working connection. OSError includes
# TimeoutError: no pool connection came free in time, or no connect.
_UNREACHABLE = (
    *CONNECTION_LOST,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,  # no connection to be had now, retry later
)
# One log line per outage: failures closer together than this are the same outage.
_OUTAGE_GAP_SECONDS = 30.0

AfterCommit = Callable[[], None]


class Announcer(Protocol):
    """Writes an event row and tells the other server processes, once the transaction has
    committed, that the user's log has a new event (`event` holds the values of
    `server.realtime.log.INSERT_EVENT`)."""

    async def record(self, tx: Tx, event: Mapping[str, Any]) -> None: ...

    def recorded(self, tx: Tx, user_id: str, seq: int) -> None:
        """An event row the caller's own statement wrote: announce it after the commit."""
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


class Database(ABC):
    """The database and its transaction helpers; opened by `server.db.open.open_database`
    and closed by the app lifespan.

    Every helper hands out a `Conn` whose connection belongs to its block alone and is
    driven by one coroutine, so a driver connection never has two operations at once
    (see `server.db.pg_session.PgSession`). Every write transaction announces its events
    through `announcer` (`server.realtime.notifier.Notifier` in the app; `None` for
    tools that write without telling anyone).
    """

    dialect: str

    def __init__(self, announcer: Announcer | None) -> None:
        self.announcer = announcer

    @abstractmethod
    def _write(self) -> AbstractAsyncContextManager[TxConn]:
        """A connection in a write transaction that commits when the block succeeds."""

    @abstractmethod
    def snapshot(self) -> AbstractAsyncContextManager[Conn]:
        """A read-only transaction whose statements all see one snapshot of the data."""

    @abstractmethod
    def read(self) -> AbstractAsyncContextManager[Conn]:
        """A connection for reads that are each one statement (one snapshot apiece)."""

    @abstractmethod
    async def ping(self) -> None: ...

    @abstractmethod
    async def dispose(self) -> None: ...

    def transaction(self) -> AbstractAsyncContextManager[Tx]:
        """One write transaction: commit on success, roll back on any exception."""
        return _Transaction(self)


class _Transaction:
    """`Database.transaction()`'s block: a class rather than `@asynccontextmanager`,
    whose generator and wrapper cost every write a few µs for nothing."""

    __slots__ = ("_db", "_session", "_tx")

    def __init__(self, db: Database) -> None:
        self._db = db

    async def __aenter__(self) -> Tx:
        self._session = self._db._write()
        self._tx = Tx(await self._session.__aenter__(), self._db.announcer)
        return self._tx

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: Any) -> None:
        await self._session.__aexit__(kind, error, tb)  # commits, or rolls back on `error`
        if error is not None:
            return
        for callback in self._tx._after_commit:  # the commit succeeded
            try:
                callback()
            except Exception:
                # The write is durable in the log; a lost wake-up is caught up later.
                log.exception("after-commit callback failed")
