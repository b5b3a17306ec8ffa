"""The database on SQLite (the embedded default): SQLAlchemy's engine over aiosqlite,
in WAL mode, with writers taking the write lock up front."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.connection import Conn, TxConn
from server.db.database import Announcer, Database
from server.db.sqlite_conn import SqliteConn


def configure_sqlite(engine: AsyncEngine) -> None:
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


class SqliteDatabase(Database):
    dialect = "sqlite"

    def __init__(self, engine: AsyncEngine, announcer: Announcer | None) -> None:
        super().__init__(announcer)
        self._engine = engine

    @asynccontextmanager
    async def _write_block(self) -> AsyncIterator[TxConn]:
        async with self._engine.connect() as sa_conn:
            await sa_conn.execution_options(tasksync_write=True)
            async with sa_conn.begin():
                yield SqliteConn(sa_conn)

    def _write(self) -> AbstractAsyncContextManager[TxConn]:
        return self._write_block()

    @asynccontextmanager
    async def _snapshot_block(self) -> AsyncIterator[Conn]:
        async with self._engine.connect() as sa_conn, sa_conn.begin():
            yield SqliteConn(sa_conn)

    def snapshot(self) -> AbstractAsyncContextManager[Conn]:
        return self._snapshot_block()

    def read(self) -> AbstractAsyncContextManager[Conn]:
        # SQLite reads are local: they keep their deferred transaction.
        return self._snapshot_block()

    async def ping(self) -> None:
        async with self._engine.connect() as sa_conn:
            await sa_conn.execute(sa.text("SELECT 1"))

    async def dispose(self) -> None:
        await self._engine.dispose()
