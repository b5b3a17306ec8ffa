"""Writes that are one statement each, sent together: one round trip and one commit for
many (group commit).

Under load many writes are ready at the same moment, each one statement that is all the
write does (`TxConn.fetchrow_alone`: a create). Sent one by one, each pays a pool
checkout, a round trip and PostgreSQL's per-transaction work (its commit and that
commit's WAL flush). Sent together, the database commits once for all of them:
`asyncpg.Connection.fetchmany` sends every statement's Bind/Execute and one Sync, which
PostgreSQL runs as one implicit transaction (atomic, as asyncpg documents it). Every
statement is still about one user; only the commit is shared.

No wait is added. A write's statement goes at once, in a batch of its own, when fewer
than `LEADERS` batches are in flight; otherwise it waits for one of them to finish, and
the next batch takes every statement that gathered meanwhile. The waiting writes need no
task of their own: the writer whose batch finished hands the lead to the first one
still waiting, which sends the next batch (its own statement among them) and then
answers its own request.

A batch is one transaction, so one failing statement rolls the others back with it:
each is then sent again alone, and only the failing one fails. A large write (over
`ALONE_FROM_BYTES` of text) goes in a batch of its own, so that nobody else's commit
waits for its bytes. A batch takes its users' rows in the order of their ids, so two
batches never wait for each other's rows in opposite orders (a deadlock).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from server.db.connection import Row, Values
from server.db.fair_pool import FairPool
from server.db.pg_session import CONNECTION_LOST, PgSession

# Batches in flight at once. A few let the database commit one while the next is sent;
# more would only make each smaller (and take more of the pool from reads).
LEADERS = 4
# Statements in one batch at most: one transaction holds its users' rows until it
# commits, and the other writers of those users wait that long.
MAX_BATCH = 64
# A write whose values hold more text than this goes in a batch of its own: the others
# would wait for its bytes to be written (one user's large writes slow only that user).
ALONE_FROM_BYTES = 16 * 1024


class _Lead:
    """What a waiting write is handed when it is its turn to send the next batch."""


_LEAD = _Lead()


class _Write:
    __slots__ = ("large", "outcome", "values")

    def __init__(self, values: Values, outcome: asyncio.Future[Any]) -> None:
        self.values = values
        self.outcome = outcome
        self.large = sum(len(v) for v in values.values() if isinstance(v, str)) > ALONE_FROM_BYTES


class StatementBatches:
    """One statement's writes, gathered into batches (see the module's docstring)."""

    def __init__(
        self, pool: FairPool, stmt: sa.Executable, *, leaders: int = LEADERS, max_batch: int = MAX_BATCH
    ) -> None:
        self._pool = pool
        self._stmt = stmt
        self._max_leaders = leaders
        self._max_batch = max_batch
        self._waiting: deque[_Write] = deque()
        self._leaders = 0

    async def fetchrow(self, values: Values) -> Row:
        """The statement's one row for `values`, committed."""
        loop = asyncio.get_running_loop()
        write = _Write(values, loop.create_future())
        self._waiting.append(write)
        if self._leaders < self._max_leaders:
            self._leaders += 1
            return await self._lead(write)
        try:
            outcome = await write.outcome
        except asyncio.CancelledError:
            if write in self._waiting:
                self._waiting.remove(write)  # never sent
            elif _handed_the_lead(write):
                self._leaders -= 1  # cancelled as it was handed the lead: pass it on
                self._hand_over()
            raise
        if outcome is _LEAD:
            # Out of the line since it was handed the lead: back at its head, with an
            # outcome to come from the batch it now sends.
            write.outcome = loop.create_future()
            self._waiting.appendleft(write)
            return await self._lead(write)
        row: Row = outcome
        return row

    async def _lead(self, mine: _Write) -> Row:
        """Send batches until `mine` has been sent (by this writer or another)."""
        try:
            while not mine.outcome.done():
                batch = self._take()
                if not batch:
                    break  # another leader took `mine`: its outcome comes from there
                await self._send(batch)
        except asyncio.CancelledError:
            # Its own batch was failed with the others' (`_send`); nobody awaits that
            # outcome now, so read it here rather than leave asyncio to report it.
            if mine.outcome.done() and not mine.outcome.cancelled():
                mine.outcome.exception()
            raise
        finally:
            self._leaders -= 1
            self._hand_over()
        row: Row = await mine.outcome
        return row

    def _take(self) -> list[_Write]:
        waiting = self._waiting
        batch: list[_Write] = []
        while waiting and len(batch) < self._max_batch:
            write = waiting[0]
            if write.large and batch:
                break  # in the next batch, alone
            waiting.popleft()
            if write.outcome.done():  # cancelled, its request gone: not sent
                continue
            batch.append(write)
            if write.large:
                break
        return batch

    def _hand_over(self) -> None:
        """Give the lead to the first write still waiting, if a leader is free."""
        waiting = self._waiting
        while waiting and self._leaders < self._max_leaders:
            first = waiting.popleft()
            if not first.outcome.done():  # else cancelled, its request gone
                self._leaders += 1
                first.outcome.set_result(_LEAD)
                return

    async def _send(self, batch: list[_Write]) -> None:
        batch.sort(key=_user_of)
        try:
            rows = await self._fetchmany([w.values for w in batch])
        except CONNECTION_LOST as error:
            # Sent, perhaps committed: no write of it may be sent again.
            _fail(batch, error)
            return
        except asyncio.CancelledError:
            _fail(batch, ConnectionAbortedError("the write was sent, and its answer abandoned"))
            raise
        except Exception as error:
            if len(batch) == 1:
                _fail(batch, error)
                return
            # The batch rolled back as one: each write again, alone (unless its
            # request has gone meanwhile).
            for write in batch:
                if not write.outcome.done():
                    await self._send([write])
            return
        for write, row in zip(batch, rows, strict=True):
            if not write.outcome.done():
                write.outcome.set_result(row)

    async def _fetchmany(self, values: Sequence[Values]) -> list[Row]:
        async with PgSession(self._pool, "write") as session:
            rows = await session.fetchmany_alone(self._stmt, values)
        if len(rows) != len(values):
            raise RuntimeError(f"a batched statement gave {len(rows)} rows for {len(values)} writes")
        return rows


def _handed_the_lead(write: _Write) -> bool:
    outcome = write.outcome
    return outcome.done() and not outcome.cancelled() and outcome.result() is _LEAD


def _user_of(write: _Write) -> str:
    return str(write.values.get("user_id", ""))


def _fail(batch: list[_Write], error: BaseException) -> None:
    for write in batch:
        if not write.outcome.done():
            write.outcome.set_exception(error)


class Batches:
    """Every batched statement's `StatementBatches`, made on first use."""

    def __init__(self, pool: FairPool) -> None:
        self._pool = pool
        self._by_statement: dict[int, StatementBatches] = {}

    def of(self, stmt: sa.Executable) -> StatementBatches:
        batches = self._by_statement.get(id(stmt))
        if batches is None:
            batches = self._by_statement[id(stmt)] = StatementBatches(self._pool, stmt)
        return batches
