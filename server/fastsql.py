"""The hottest statements, run on PostgreSQL straight through asyncpg.

SQLAlchemy Core costs about four times raw asyncpg in CPU per statement (cache lookup,
parameter and result processing); on the list, create and fan-out paths that was most
of a request's time. Those statements are still written with Core, with named
`bindparam`s, so there is one source of truth and SQLite runs them through SQLAlchemy as
usual. On PostgreSQL each is compiled once to `$n` SQL and executed on the driver
connection underneath the SQLAlchemy connection — inside the same transaction, because
`server.db` runs every PostgreSQL transaction as the driver's own (see
`server.db._driver_transaction`): the connection must come from `Database.transaction`,
`snapshot` or `read`, and a connection in any other state is refused rather than let a
statement run outside its transaction.

Values skip SQLAlchemy's type processing, so they must already be what asyncpg takes
(timezone-aware datetimes, dates, bools); rows come back as mappings either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

import asyncpg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.compiler import SQLCompiler

_PG = asyncpg_dialect(paramstyle="numeric_dollar")  # type: ignore[no-untyped-call]


class _Compiled:
    """`$n` SQL, the parameter names in position order, and the values of literals."""

    __slots__ = ("defaults", "names", "sql", "stmt")

    def __init__(self, stmt: sa.Executable) -> None:
        compiled = cast(SQLCompiler, cast(sa.ClauseElement, stmt).compile(dialect=_PG))
        self.stmt = stmt
        self.sql = str(compiled)
        self.names = list(compiled.positiontup or [])
        self.defaults = dict(compiled.params)  # literal values in the statement (`seq + 1`)

    def args(self, values: Mapping[str, Any]) -> list[Any]:
        return [values[n] if n in values else self.defaults[n] for n in self.names]


# Statements are built once per shape (module constants or cached builders), so their
# identity is a fine cache key.
_compiled: dict[int, _Compiled] = {}


def _pg(stmt: sa.Executable) -> _Compiled:
    entry = _compiled.get(id(stmt))
    if entry is None or entry.stmt is not stmt:
        entry = _compiled[id(stmt)] = _Compiled(stmt)
    return entry


async def _driver(conn: AsyncConnection) -> Any:
    # In AUTOCOMMIT SQLAlchemy's adapter keeps no transaction of its own, so a statement
    # sent to the driver runs in exactly the transaction the session is in: the one
    # `server.db` opened on the driver, or none (one statement, one snapshot: `read`).
    # In any other mode the adapter would send its own BEGIN later, lazily.
    sync = conn.sync_connection
    if sync is None or sync.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
        raise RuntimeError("fastsql statements need a connection from server.db's Database helpers")
    raw = await conn.get_raw_connection()
    return raw.driver_connection


Rows = Sequence[Mapping[str, Any]]

# A broken or dying connection, as opposed to an error in the statement itself.
_CONNECTION_ERRORS = (
    OSError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, cannot connect now
)


async def meet_disconnect(conn: AsyncConnection, error: BaseException) -> bool:
    """If `error` (raised by the driver) means the connection is broken, let SQLAlchemy
    meet the broken connection itself and return True: its disconnect handling then
    invalidates this connection and the pool's older ones (after a server restart every
    pooled connection is dead), exactly as for any statement of its own, and raises."""
    if not (isinstance(error, _CONNECTION_ERRORS) or conn.dialect.is_disconnect(error, None, None)):  # type: ignore[arg-type]
        return False
    await conn.execute(sa.text("SELECT 1"))
    return True


async def _run(conn: AsyncConnection, stmt: sa.Executable, values: Mapping[str, Any], method: str) -> Any:
    c = _pg(stmt)
    driver = await _driver(conn)
    try:
        return await getattr(driver, method)(c.sql, *c.args(values))
    except Exception as exc:
        await meet_disconnect(conn, exc)
        raise


async def fetch(conn: AsyncConnection, stmt: sa.Executable, values: Mapping[str, Any]) -> Rows:
    """All rows of `stmt`, as mappings."""
    if conn.dialect.name != "postgresql":
        return cast(Rows, (await conn.execute(stmt, dict(values))).mappings().all())
    return cast(Rows, await _run(conn, stmt, values, "fetch"))


async def fetchval(conn: AsyncConnection, stmt: sa.Executable, values: Mapping[str, Any]) -> Any:
    """The first column of the first row (or None)."""
    if conn.dialect.name != "postgresql":
        return (await conn.execute(stmt, dict(values))).scalar()
    return await _run(conn, stmt, values, "fetchval")


async def execute(conn: AsyncConnection, stmt: sa.Executable, values: Mapping[str, Any]) -> None:
    if conn.dialect.name != "postgresql":
        await conn.execute(stmt, dict(values))
        return
    await _run(conn, stmt, values, "execute")
