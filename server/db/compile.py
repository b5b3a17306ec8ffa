"""SQLAlchemy Core statements compiled once to asyncpg's `$n` SQL.

Statements are module constants or come from cached builders (one per shape): the
compiled form is cached by the statement object, so a statement built per call would
be compiled per call (and the cache would grow; it warns when it does).
"""

from __future__ import annotations

import logging
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.sql.compiler import SQLCompiler

from server.db.connection import Values

log = logging.getLogger(__name__)

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
