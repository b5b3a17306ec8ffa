"""The statements of one `Database` block on PostgreSQL, on one pool connection: the
transaction modes, and what counts as a lost connection (and when a statement is
retried on a fresh one)."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import asyncpg
import sqlalchemy as sa

from server.db.compile import compiled
from server.db.connection import NO_VALUES, Row, Values
from server.db.fair_pool import FairPool

if TYPE_CHECKING:
    from server.db.batches import Batches

# The connection is unusable (dropped by the server, or left mid-error by it), as
# opposed to a statement that failed on a working connection.
CONNECTION_LOST: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    asyncpg.exceptions.OperatorInterventionError,  # admin shutdown, crash shutdown
)
# A statement that ran out of time, on our side or by the server's statement_timeout
# (asyncpg files that cancellation under OperatorInterventionError): the connection is
# fine, and the statement would wait as long on another one.
_CANCELLED = asyncpg.exceptions.QueryCanceledError
_TIMED_OUT = (TimeoutError, _CANCELLED)
# Raised before anything was sent: asyncpg found the connection still busy (with the
# error a server's shutdown left on an idle connection, before it saw the socket close).
_NOTHING_SENT = (asyncpg.InternalClientError,)

Mode = Literal["autocommit", "snapshot", "write"]


class PgSession:
    """Statements of one `Database` helper block on PostgreSQL (`Conn`, and `TxConn` in
    "write" mode), on a pool connection checked out at the first statement.

    * "autocommit": each statement on its own. "snapshot": one read-only repeatable-read
      transaction. "write": a transaction whose BEGIN goes with its first statement —
      unless that statement is the write's only one (`fetchrow_alone`), which then runs
      without BEGIN/COMMIT: on its own (a transaction of its own in PostgreSQL), or,
      given `batches`, with other writes' statements of its shape in one transaction
      and one round trip (`server.db.batches`).
    * A connection that turns out to be dead at the first statement is dropped and the
      statement retried on a fresh one (once; on each pooled connection in turn while
      asyncpg refuses them before sending anything), where that cannot apply anything twice:
      before the first statement nothing has happened, so a read, a BEGIN and anything
      inside a not yet committed transaction are safe to redo; a statement running alone
      only when it was never sent. After a server restart every idle pooled connection
      is dead, and the first requests would otherwise each fail on one.
    * `close()` (called on leaving its `async with` block, with the block's error if
      any) ends the transaction and returns the connection; one that lost its server is
      closed instead of pooled.
    """

    __slots__ = ("_alone", "_batches", "_mode", "_pool", "_raw", "_transaction")

    def __init__(self, pool: FairPool, mode: Mode, batches: Batches | None = None) -> None:
        self._pool = pool
        self._mode = mode
        self._batches = batches
        self._raw: asyncpg.Connection | None = None
        self._transaction: asyncpg.transaction.Transaction | None = None
        self._alone = False

    @property
    def dialect(self) -> str:
        return "postgresql"

    async def _run(self, method: str, stmt: sa.Executable, values: Values, alone: bool = False) -> Any:
        c = compiled(stmt)
        return await self._send(method, c.sql, c.args(values), alone)

    async def _send(self, method: str, sql: str, args: Sequence[Any], alone: bool) -> Any:
        if self._alone:
            raise RuntimeError("a statement after the write's only statement")
        if self._raw is not None:
            return await getattr(self._raw, method)(sql, *args)
        # After a restart every idle pooled connection may be dead: one refused before
        # anything was sent is dropped and the next tried, as many as the pool holds;
        # any other loss is retried once.
        tries = 0
        while True:
            tries += 1
            # No acquire timeout: asyncpg runs a timed acquire as a task of its own (a
            # tenth of a list request's database time). The wait is bounded anyway: a
            # pooled connection is held for one request, whose statements time out.
            raw = self._raw = await self._pool.acquire()
            try:
                if self._mode != "autocommit" and not alone:
                    snapshot = self._mode == "snapshot"
                    self._transaction = raw.transaction(
                        isolation="repeatable_read" if snapshot else None, readonly=snapshot
                    )
                    await self._transaction.start()
                self._alone = alone
                return await getattr(raw, method)(sql, *args)
            except CONNECTION_LOST as error:
                # A statement that timed out found a database that does not answer, not a
                # connection a restart left dead: another connection would wait as long.
                nothing_sent = isinstance(error, _NOTHING_SENT)
                if (
                    tries >= (self._pool.max_size + 1 if nothing_sent else 2)
                    or isinstance(error, _TIMED_OUT)
                    or (alone and not nothing_sent)
                ):
                    raise
                await self._drop()

    async def _drop(self) -> None:
        assert self._raw is not None
        self._raw.terminate()
        await self._pool.release(self._raw)
        self._raw = self._transaction = None
        self._alone = False

    async def __aenter__(self) -> PgSession:
        return self

    async def __aexit__(self, _type: object, error: BaseException | None, _tb: object) -> None:
        await self.close(error)

    async def close(self, error: BaseException | None) -> None:
        """Commit (no `error`) or roll back, and give the connection back."""
        if self._raw is None:
            return
        try:
            if self._transaction is not None and error is None:
                await self._transaction.commit()
            elif self._transaction is not None and not self._raw.is_closed():
                with contextlib.suppress(Exception):  # the first error is the one to report
                    await self._transaction.rollback()
        except CONNECTION_LOST:
            self._raw.terminate()
            raise
        finally:
            if isinstance(error, CONNECTION_LOST) and not isinstance(error, _CANCELLED):
                self._raw.terminate()
            await self._pool.release(self._raw)
            self._raw = self._transaction = None

    async def fetch(self, stmt: sa.Executable, values: Values = NO_VALUES) -> Sequence[Row]:
        return cast(Sequence[Row], await self._run("fetch", stmt, values))

    async def fetchrow(self, stmt: sa.Executable, values: Values = NO_VALUES) -> Row | None:
        return cast(Row | None, await self._run("fetchrow", stmt, values))

    async def fetchval(self, stmt: sa.Executable, values: Values = NO_VALUES) -> Any:
        return await self._run("fetchval", stmt, values)

    async def execute(self, stmt: sa.Executable, values: Values = NO_VALUES) -> int:
        return _rowcount(await self._run("execute", stmt, values))

    async def fetchrow_alone(self, stmt: sa.Executable, values: Values = NO_VALUES) -> Row | None:
        if self._mode != "write":
            raise RuntimeError("fetchrow_alone is for write transactions")
        alone = self._raw is None  # else a transaction is open: the statement joins it
        if alone and self._batches is not None:
            if self._alone:
                raise RuntimeError("a statement after the write's only statement")
            self._alone = True
            return await self._batches.of(stmt).fetchrow(values)
        return cast(Row | None, await self._run("fetchrow", stmt, values, alone=alone))

    async def fetchmany_alone(self, stmt: sa.Executable, values: Sequence[Values]) -> list[Row]:
        """The statement once per `values`, all in one transaction of their own (asyncpg
        sends them with one Sync), as the first and only statements of this block: one
        row per statement that gives one."""
        if self._mode != "write" or self._raw is not None:
            raise RuntimeError("fetchmany_alone is a write block's only statements")
        c = compiled(stmt)
        rows = await self._send("fetchmany", c.sql, [[c.args(v) for v in values]], alone=True)
        return cast(list[Row], rows)


def _rowcount(status: str) -> int:
    # asyncpg returns the command tag: "UPDATE 3", "INSERT 0 1", "SELECT 2".
    last = status.rpartition(" ")[2]
    return int(last) if last.isdigit() else 0
