"""A SQLAlchemy connection on SQLite behind `server.db.connection.Conn`: statements run
through SQLAlchemy, with its type processing, as usual."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server.db.connection import NO_VALUES, Row, Values


class SqliteConn:
    """A SQLAlchemy connection (SQLite) behind `Conn`."""

    __slots__ = ("sa",)

    def __init__(self, conn: AsyncConnection) -> None:
        self.sa = conn

    @property
    def dialect(self) -> str:
        return "sqlite"

    async def fetch(self, stmt: sa.Executable, values: Values = NO_VALUES) -> Sequence[Row]:
        return cast(Sequence[Row], (await self.sa.execute(stmt, dict(values))).mappings().all())

    async def fetchrow(self, stmt: sa.Executable, values: Values = NO_VALUES) -> Row | None:
        return cast(Row | None, (await self.sa.execute(stmt, dict(values))).mappings().first())

    async def fetchval(self, stmt: sa.Executable, values: Values = NO_VALUES) -> Any:
        return (await self.sa.execute(stmt, dict(values))).scalar()

    async def execute(self, stmt: sa.Executable, values: Values = NO_VALUES) -> int:
        result = await self.sa.execute(stmt, dict(values))
        return int(getattr(result, "rowcount", 0) or 0)

    async def fetchrow_alone(self, stmt: sa.Executable, values: Values = NO_VALUES) -> Row | None:
        return await self.fetchrow(stmt, values)
