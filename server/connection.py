"""One connection interface over the two drivers: `Conn.fetch/fetchrow/fetchval/execute`
take a SQLAlchemy Core statement (written once, with named `bindparam`s) and a dict of
values, and give rows as mappings.

* PostgreSQL (`PgConn`): the statement is compiled once to `$n` SQL and run on an
  asyncpg connection from the pool the app owns (`server.db.Database`), which asyncpg
  prepares and caches. No SQLAlchemy at run time: its per-statement cost (cache lookup,
  parameter and result processing) was most of a request's CPU, and driving asyncpg
  underneath it let two code paths use one driver connection at once.
* SQLite (`SqliteConn`): the statement runs through SQLAlchemy, as usual.

On PostgreSQL values skip SQLAlchemy's type processing, so they must already be what
asyncpg takes (timezone-aware datetimes, dates, bools, ints, strings).

Statements are module constants or come from cached builders (one per shape): the
compiled form is cached by the statement object, so a statement built per call would
be compiled per call (and `_compiled` would grow; it warns when it does).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, cast

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler

log = logging.getLogger(__name__)

Row = Mapping[str, Any]
Values = Mapping[str, Any]
_NO_VALUES: Values = {}


class Conn(Protocol):
    """A connection inside one of `server.db.Database`'s helpers (a transaction, a
    snapshot, or autocommit reads)."""

    @property
    def dialect(self) -> str: ...

    async def fetch(self, stmt: sa.Executable, values: Values = _NO_VALUES) -> Sequence[Row]:
        """All rows."""
        ...

    async def fetchrow(self, stmt: sa.Executable, values: Values = _NO_VALUES) -> Row | None:
        """The first row, or None."""
        ...

    async def fetchval(self, stmt: sa.Executable, values: Values = _NO_VALUES) -> Any:
        """The first column of the first row, or None."""
        ...

    async def execute(self, stmt: sa.Executable, values: Values = _NO_VALUES) -> int:
        """Run a statement; returns the number of rows it affected."""
        ...


class TxConn(Conn, Protocol):
    """The connection of a write transaction (`server.db.Tx.conn`)."""

    async def fetchrow_alone(self, stmt: sa.Executable, values: Values = _NO_VALUES) -> Row | None:
        """`fetchrow` for a statement that is ALL the write does: on PostgreSQL, when no
        statement ran before it, it runs without BEGIN/COMMIT (a statement on its own is
        a transaction of its own), and any statement after it is refused."""
        ...


# `$n` placeholders, as asyncpg takes them; compiling through the public `compile()`
# with this dialect is SQLAlchemy's supported way to get a statement's SQL text.
_PG = asyncpg_dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]
# More distinct statements than the code has shapes means one is built per call.
_CACHE_WARNING = 2_000


class _Compiled:
    """`$n` SQL, the parameter names in position order, and the values of literals."""

    __slots__ = ("defaults", "names", "sql", "stmt")

    def __init__(self, stmt: sa.Executable) -> None:
        compiled = cast(SQLCompiler, cast(sa.ClauseElement, stmt).compile(dialect=_PG))
        self.stmt = stmt  # held, so its id() stays this statement's
        self.sql = str(compiled)
        self.names = list(compiled.positiontup or [])
        self.defaults = dict(compiled.params)  # literal values in the statement (`seq + 1`)

    def args(self, values: Values) -> list[Any]:
        return [values[n] if n in values else self.defaults[n] for n in self.names]


_compiled: dict[int, _Compiled] = {}


def compiled(stmt: sa.Executable) -> _Compiled:
    entry = _compiled.get(id(stmt))
    if entry is None:
        entry = _compiled[id(stmt)] = _Compiled(stmt)
        if len(_compiled) == _CACHE_WARNING:
            log.warning("%d distinct SQL statements compiled: is one built per call?", _CACHE_WARNING)
    return entry


def _rowcount(status: str) -> int:
    # asyncpg returns the command tag: "UPDATE 3", "INSERT 0 1", "SELECT 2".
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0


class PgConn:
    """An asyncpg connection (checked out of `Database`'s pool) behind `Conn`."""

    __slots__ = ("raw",)

    def __init__(self, raw: asyncpg.Connection) -> None:
        self.raw = raw

    @property
    def dialect(self) -> str:
        return "postgresql"

    async def _before_statement(self) -> None:
        """Called before every statement (see `PgTransaction`)."""

    async def fetch(self, stmt: sa.Executable, values: Values = _NO_VALUES) -> Sequence[Row]:
        c = compiled(stmt)
        await self._before_statement()
        return cast(Sequence[Row], await self.raw.fetch(c.sql, *c.args(values)))

    async def fetchrow(self, stmt: sa.Executable, values: Values = _NO_VALUES) -> Row | None:
        c = compiled(stmt)
        await self._before_statement()
        return cast(Row | None, await self.raw.fetchrow(c.sql, *c.args(values)))

    async def fetchval(self, stmt: sa.Executable, values: Values = _NO_VALUES) -> Any:
        c = compiled(stmt)
        await self._before_statement()
        return await self.raw.fetchval(c.sql, *c.args(values))

    async def execute(self, stmt: sa.Executable, values: Values = _NO_VALUES) -> int:
        c = compiled(stmt)
        await self._before_statement()
        return _rowcount(await self.raw.execute(c.sql, *c.args(values)))


class PgTransaction(PgConn):
    """A write transaction on an asyncpg connection whose BEGIN is sent with its first
    statement — unless that statement is the write's only one (`fetchrow_alone`): then
    it runs on its own, which in PostgreSQL is a transaction of its own, and the BEGIN
    and COMMIT round trips are saved. `server.db.Database.transaction` ends it."""

    __slots__ = ("_alone", "_transaction")

    def __init__(self, raw: asyncpg.Connection) -> None:
        super().__init__(raw)
        self._transaction: asyncpg.transaction.Transaction | None = None
        self._alone = False

    async def _before_statement(self) -> None:
        if self._alone:
            raise RuntimeError("a statement after the write's only statement")
        if self._transaction is None:
            self._transaction = self.raw.transaction()
            await self._transaction.start()

    async def fetchrow_alone(self, stmt: sa.Executable, values: Values = _NO_VALUES) -> Row | None:
        if self._transaction is not None:
            return await self.fetchrow(stmt, values)
        c = compiled(stmt)
        self._alone = True
        return cast(Row | None, await self.raw.fetchrow(c.sql, *c.args(values)))

    async def commit(self) -> None:
        if self._transaction is not None:
            await self._transaction.commit()

    async def rollback(self) -> None:
        if self._transaction is not None and not self.raw.is_closed():
            await self._transaction.rollback()


class SqliteConn:
    """A SQLAlchemy connection (SQLite) behind `Conn`."""

    __slots__ = ("sa",)

    def __init__(self, conn: AsyncConnection) -> None:
        self.sa = conn

    @property
    def dialect(self) -> str:
        return "sqlite"

    async def fetch(self, stmt: sa.Executable, values: Values = _NO_VALUES) -> Sequence[Row]:
        return cast(Sequence[Row], (await self.sa.execute(stmt, dict(values))).mappings().all())

    async def fetchrow(self, stmt: sa.Executable, values: Values = _NO_VALUES) -> Row | None:
        return cast(Row | None, (await self.sa.execute(stmt, dict(values))).mappings().first())

    async def fetchval(self, stmt: sa.Executable, values: Values = _NO_VALUES) -> Any:
        return (await self.sa.execute(stmt, dict(values))).scalar()

    async def execute(self, stmt: sa.Executable, values: Values = _NO_VALUES) -> int:
        result = await self.sa.execute(stmt, dict(values))
        return int(getattr(result, "rowcount", 0) or 0)

    async def fetchrow_alone(self, stmt: sa.Executable, values: Values = _NO_VALUES) -> Row | None:
        return await self.fetchrow(stmt, values)
