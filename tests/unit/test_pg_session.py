"""The PostgreSQL session's connection-loss rules, with a small stand-in for asyncpg's
pool and connections: a connection found dead at a block's first statement is dropped
and the statement retried once on a fresh one, but only where nothing can be applied
twice; a connection that lost its server is closed, never pooled again."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa

from server.db.fair_pool import FairPool
from server.db.pg_session import CONNECTION_LOST, Mode, PgSession

pytestmark = pytest.mark.unit

SELECT = sa.select(sa.literal(1).label("one"))
UPDATE = sa.text("UPDATE tasks SET title = 'x'")
DEAD = asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed in the middle of operation")
# What a server's shutdown leaves on an idle connection: asyncpg refuses before sending.
BUSY = asyncpg.exceptions.InternalClientError("cannot perform operation: another operation is in progress")


class FakeConnection:
    """asyncpg's `Connection`, as far as the session uses it. `fails` maps a step
    ("begin", "statement", "commit") to the error it raises the first time."""

    def __init__(self, name: str, fails: dict[str, BaseException] | None = None, result: Any = 1) -> None:
        self.name = name
        self.fails = dict(fails or {})
        self.result = result
        self.steps: list[str] = []
        self.terminated = False

    def _step(self, step: str) -> None:
        self.steps.append(step)
        error = self.fails.pop(step, None)
        if error is not None:
            raise error

    def transaction(self, isolation: str | None = None, readonly: bool = False) -> FakeTransaction:
        return FakeTransaction(self, isolation, readonly)

    async def fetch(self, sql: str, *args: Any) -> Any:
        self._step("statement")
        return [{"one": self.result}]

    async def fetchrow(self, sql: str, *args: Any) -> Any:
        self._step("statement")
        return {"one": self.result}

    async def fetchval(self, sql: str, *args: Any) -> Any:
        self._step("statement")
        return self.result

    async def execute(self, sql: str, *args: Any) -> str:
        self._step("statement")
        return f"UPDATE {self.result}"

    def terminate(self) -> None:
        self.terminated = True

    def is_closed(self) -> bool:
        return self.terminated


class FakeTransaction:
    def __init__(self, conn: FakeConnection, isolation: str | None, readonly: bool) -> None:
        self.conn = conn
        self.kind = f"begin {isolation or 'read_committed'}{' read only' if readonly else ''}"

    async def start(self) -> None:
        self.conn._step("begin")
        self.conn.steps[-1] = self.kind

    async def commit(self) -> None:
        self.conn._step("commit")

    async def rollback(self) -> None:
        self.conn._step("rollback")


class FakePool:
    """asyncpg's `Pool`: hands out the given connections in order, records what comes back."""

    def __init__(self, connections: Iterable[FakeConnection]) -> None:
        self._waiting = list(connections)
        self.released: list[FakeConnection] = []

    def get_max_size(self) -> int:
        return 10

    async def acquire(self) -> FakeConnection:
        return self._waiting.pop(0)

    async def release(self, conn: FakeConnection) -> None:
        self.released.append(conn)

    def pooled_again(self) -> list[str]:
        """The connections given back alive, which the pool would hand out again."""
        return [c.name for c in self.released if not c.terminated]


def session(pool: FakePool, mode: Mode) -> PgSession:
    return PgSession(FairPool(pool), mode)


@pytest.mark.parametrize("error", [DEAD, BUSY, ConnectionResetError(104, "reset by peer")])
async def test_a_read_on_a_dead_pooled_connection_is_retried_on_a_fresh_one(error: Exception) -> None:
    dead, fresh = FakeConnection("dead", {"statement": error}), FakeConnection("fresh", result=42)
    pool = FakePool([dead, fresh])
    async with session(pool, "autocommit") as conn:
        assert await conn.fetchval(SELECT) == 42
    assert dead.terminated and not fresh.terminated
    assert pool.pooled_again() == ["fresh"]


async def test_a_write_whose_begin_meets_a_dead_connection_runs_on_a_fresh_one() -> None:
    dead, fresh = FakeConnection("dead", {"begin": DEAD}), FakeConnection("fresh")
    pool = FakePool([dead, fresh])
    async with session(pool, "write") as conn:
        assert await conn.execute(UPDATE) == 1
    assert fresh.steps == ["begin read_committed", "statement", "commit"]
    assert pool.pooled_again() == ["fresh"]


async def test_the_first_statement_of_an_uncommitted_transaction_is_retried() -> None:
    # Nothing of the transaction can have been applied: it never committed.
    dead, fresh = FakeConnection("dead", {"statement": DEAD}), FakeConnection("fresh")
    pool = FakePool([dead, fresh])
    async with session(pool, "write") as conn:
        await conn.execute(UPDATE)
        await conn.execute(UPDATE)
    assert dead.steps == ["begin read_committed", "statement"]
    assert fresh.steps == ["begin read_committed", "statement", "statement", "commit"]


async def test_a_snapshot_is_a_read_only_repeatable_read_transaction() -> None:
    conn_ = FakeConnection("one")
    async with session(FakePool([conn_]), "snapshot") as conn:
        await conn.fetch(SELECT)
        await conn.fetchrow(SELECT)
    assert conn_.steps == ["begin repeatable_read read only", "statement", "statement", "commit"]


async def test_the_retry_is_made_once() -> None:
    first = FakeConnection("first", {"statement": DEAD})
    second = FakeConnection("second", {"statement": DEAD})
    pool = FakePool([first, second, FakeConnection("never asked for")])
    with pytest.raises(asyncpg.exceptions.ConnectionDoesNotExistError):
        async with session(pool, "autocommit") as conn:
            await conn.fetchval(SELECT)
    assert first.terminated and second.terminated
    assert pool.pooled_again() == []


async def test_a_statement_refused_unsent_tries_each_dead_pooled_connection_in_turn() -> None:
    # After a restart (here three in a row) every idle pooled connection may be dead;
    # asyncpg refuses each before sending anything, so trying the next is always safe.
    dead = [FakeConnection(f"dead-{n}", {"statement": BUSY}) for n in range(3)]
    pool = FakePool([*dead, FakeConnection("fresh", result=7)])
    async with session(pool, "autocommit") as conn:
        assert await conn.fetchval(SELECT) == 7
    assert all(c.terminated for c in dead) and pool.pooled_again() == ["fresh"]


async def test_a_statement_refused_unsent_is_tried_no_more_than_the_pool_holds() -> None:
    dead = [FakeConnection(f"dead-{n}", {"statement": BUSY}) for n in range(12)]
    pool = FakePool(dead)  # a pool of 10: 11 tries, then the error
    with pytest.raises(asyncpg.exceptions.InternalClientError):
        async with session(pool, "autocommit") as conn:
            await conn.fetchval(SELECT)
    assert [c.terminated for c in dead] == [True] * 11 + [False]


async def test_a_statement_after_the_first_is_never_retried() -> None:
    # The block's earlier statements ran on that connection: a fresh one would not have them.
    conn_ = FakeConnection("one")
    pool = FakePool([conn_, FakeConnection("never asked for")])
    with pytest.raises(asyncpg.exceptions.ConnectionDoesNotExistError):
        async with session(pool, "write") as conn:
            await conn.execute(UPDATE)
            conn_.fails["statement"] = DEAD
            await conn.execute(UPDATE)
    assert conn_.terminated and pool.pooled_again() == []
    assert "commit" not in conn_.steps


async def test_a_statement_that_timed_out_is_not_retried() -> None:
    # A database that does not answer: another connection would wait as long.
    slow = FakeConnection("slow", {"statement": TimeoutError()})
    pool = FakePool([slow, FakeConnection("never asked for")])
    with pytest.raises(TimeoutError):
        async with session(pool, "autocommit") as conn:
            await conn.fetchval(SELECT)
    assert slow.terminated and pool.pooled_again() == []


async def test_a_write_alone_is_retried_only_if_it_was_never_sent() -> None:
    # Running alone it commits by itself: once sent, it may have been applied.
    sent = FakeConnection("sent", {"statement": DEAD})
    pool = FakePool([sent, FakeConnection("never asked for")])
    with pytest.raises(asyncpg.exceptions.ConnectionDoesNotExistError):
        async with session(pool, "write") as conn:
            await conn.fetchrow_alone(SELECT)
    assert sent.steps == ["statement"]  # no BEGIN: a statement on its own

    busy, fresh = FakeConnection("busy", {"statement": BUSY}), FakeConnection("fresh", result=7)
    pool = FakePool([busy, fresh])
    async with session(pool, "write") as conn:
        row = await conn.fetchrow_alone(SELECT)
    assert row == {"one": 7} and fresh.steps == ["statement"]
    assert pool.pooled_again() == ["fresh"]


async def test_nothing_may_follow_a_write_alone() -> None:
    conn_ = FakeConnection("one")
    with pytest.raises(RuntimeError, match="after the write's only statement"):
        async with session(FakePool([conn_]), "write") as conn:
            await conn.fetchrow_alone(SELECT)
            await conn.execute(UPDATE)


async def test_a_write_alone_joins_a_transaction_already_open() -> None:
    conn_ = FakeConnection("one")
    async with session(FakePool([conn_]), "write") as conn:
        await conn.execute(UPDATE)
        await conn.fetchrow_alone(SELECT)
    assert conn_.steps == ["begin read_committed", "statement", "statement", "commit"]


async def test_a_write_alone_outside_a_write_block_is_refused() -> None:
    with pytest.raises(RuntimeError):
        async with session(FakePool([FakeConnection("one")]), "snapshot") as conn:
            await conn.fetchrow_alone(SELECT)


async def test_a_failed_statement_on_a_working_connection_rolls_back_and_pools_it() -> None:
    # A constraint violation is the statement's fault, not the connection's.
    conn_ = FakeConnection("one", {"statement": asyncpg.exceptions.UniqueViolationError("duplicate key")})
    pool = FakePool([conn_, FakeConnection("never asked for")])
    with pytest.raises(asyncpg.exceptions.UniqueViolationError):
        async with session(pool, "write") as conn:
            await conn.execute(UPDATE)
    assert conn_.steps == ["begin read_committed", "statement", "rollback"]
    assert pool.pooled_again() == ["one"]


async def test_a_block_ended_by_a_lost_connection_closes_it_instead_of_pooling_it() -> None:
    conn_ = FakeConnection("one")
    pool = FakePool([conn_])
    with pytest.raises(OSError):
        async with session(pool, "write") as conn:
            await conn.execute(UPDATE)
            raise OSError("the socket went away while the block ran")
    assert conn_.terminated and "commit" not in conn_.steps
    assert pool.pooled_again() == []


async def test_a_commit_that_meets_a_lost_connection_raises_and_closes_it() -> None:
    conn_ = FakeConnection("one", {"commit": DEAD})
    pool = FakePool([conn_])
    with pytest.raises(asyncpg.exceptions.ConnectionDoesNotExistError):
        async with session(pool, "write") as conn:
            await conn.execute(UPDATE)
    assert conn_.terminated and pool.released == [conn_]


async def test_a_block_without_statements_takes_no_connection() -> None:
    pool = FakePool([])
    async with session(pool, "write"):
        pass
    assert pool.released == []


def test_what_counts_as_a_lost_connection() -> None:
    lost = [DEAD, BUSY, ConnectionResetError(), TimeoutError(), asyncpg.exceptions.AdminShutdownError("")]
    working = [asyncpg.exceptions.UniqueViolationError(""), asyncpg.exceptions.PostgresSyntaxError("")]
    assert [isinstance(e, CONNECTION_LOST) for e in lost] == [True] * len(lost)
    assert [isinstance(e, CONNECTION_LOST) for e in working] == [False] * len(working)


async def test_a_statement_cancelled_by_the_servers_statement_timeout_is_not_retried() -> None:
    # As with a client-side timeout: a database too slow to answer is as slow on another
    # connection, and the connection itself is fine.
    slow = FakeConnection("slow", {"statement": asyncpg.exceptions.QueryCanceledError("statement timeout")})
    pool = FakePool([slow, FakeConnection("never asked for")])
    with pytest.raises(asyncpg.exceptions.QueryCanceledError):
        async with session(pool, "autocommit") as conn:
            await conn.fetchval(SELECT)
    assert pool.pooled_again() == ["slow"]
