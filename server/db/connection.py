"""One connection interface over the two drivers: `Conn.fetch/fetchrow/fetchval/execute`
take a SQLAlchemy Core statement (written once, with named `bindparam`s) and a dict of
values, and give rows as mappings.

* PostgreSQL (`server.db.pg_session.PgSession`): the statement is compiled once to `$n`
  SQL (`server.db.compile`) and run on an asyncpg connection from the pool the app owns,
  which asyncpg prepares and caches. No SQLAlchemy at run time: its per-statement cost
  (cache lookup, parameter and result processing) was most of a request's CPU, and
  driving asyncpg underneath it let two code paths use one driver connection at once.
* SQLite (`server.db.sqlite_conn.SqliteConn`): the statement runs through SQLAlchemy, as usual.

On PostgreSQL values skip SQLAlchemy's type processing, so they must already be what
asyncpg takes (timezone-aware datetimes, dates, bools, ints, strings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import sqlalchemy as sa

Row = Mapping[str, Any]
Values = Mapping[str, Any]
NO_VALUES: Values = {}


class Conn(Protocol):
    """A connection inside one of `server.db.database.Database`'s helpers (a transaction, a
    snapshot, or autocommit reads)."""

    @property
    def dialect(self) -> str: ...

    async def fetch(self, stmt: sa.Executable, values: Values = NO_VALUES) -> Sequence[Row]:
        """All rows."""
        ...

    async def fetchrow(self, stmt: sa.Executable, values: Values = NO_VALUES) -> Row | None:
        """The first row, or None."""
        ...

    async def fetchval(self, stmt: sa.Executable, values: Values = NO_VALUES) -> Any:
        """The first column of the first row, or None."""
        ...

    async def execute(self, stmt: sa.Executable, values: Values = NO_VALUES) -> int:
        """Run a statement; returns the number of rows it affected."""
        ...


class TxConn(Conn, Protocol):
    """The connection of a write transaction (`server.db.database.Tx.conn`)."""

    async def fetchrow_alone(self, stmt: sa.Executable, values: Values = NO_VALUES) -> Row | None:
        """`fetchrow` for a statement that is ALL the write does: on PostgreSQL, when no
        statement ran before it, it runs without BEGIN/COMMIT (a statement on its own is
        a transaction of its own), and any statement after it is refused. There it may
        share that transaction with other writes' calls of the same statement
        (`server.db.batches`), which tells their rows apart by position: the statement
        must give exactly one row."""
        ...
