"""When writes go together (`server.db.batches`), with a stand-in for asyncpg's pool
whose statements finish when the test says: a lone write is not held back, writes that
arrive while batches are in flight go in the next batch, in users' order, and each gets
its own row."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Sequence
from typing import Any

import pytest
import sqlalchemy as sa

from server.db.batches import ALONE_FROM_BYTES, StatementBatches
from server.db.fair_pool import FairPool

pytestmark = pytest.mark.unit

ECHO = sa.text("SELECT :user_id AS user_id, :n AS n")


class GatedConnection:
    def __init__(self, pool: GatedPool) -> None:
        self._pool = pool

    async def fetchmany(self, sql: str, args: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
        self._pool.sent.append([a[1] for a in args])
        await self._pool.gate.wait()
        return [{"user_id": a[0], "n": a[1]} for a in args]

    def is_closed(self) -> bool:
        return False


class GatedPool:
    """asyncpg's `Pool`, as far as a batch uses it; every statement waits for `gate`."""

    def __init__(self) -> None:
        self.gate = asyncio.Event()
        self.sent: list[list[int]] = []  # each batch's `n`s, in the order sent

    def get_max_size(self) -> int:
        return 10

    async def acquire(self) -> GatedConnection:
        return GatedConnection(self)

    async def release(self, conn: GatedConnection) -> None:
        pass


async def test_a_lone_write_is_sent_at_once_on_its_own() -> None:
    pool = GatedPool()
    pool.gate.set()
    batches = StatementBatches(FairPool(pool), ECHO)  # type: ignore[arg-type]
    row = await asyncio.wait_for(batches.fetchrow({"user_id": "a", "n": 1}), 1)
    assert row == {"user_id": "a", "n": 1} and pool.sent == [[1]]


async def test_writes_arriving_while_a_batch_is_in_flight_go_next_together_in_users_order() -> None:
    pool = GatedPool()
    batches = StatementBatches(FairPool(pool), ECHO, leaders=1)  # type: ignore[arg-type]
    users = ["d", "b", "a", "c", "b", "a", "d", "c", "e", "a"]
    writes = [asyncio.create_task(batches.fetchrow({"user_id": u, "n": n})) for n, u in enumerate(users)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert pool.sent == [[0]]  # the first write is in flight; the other nine wait
    pool.gate.set()
    rows = await asyncio.wait_for(asyncio.gather(*writes), 1)
    assert [(r["user_id"], r["n"]) for r in rows] == list(zip(users, range(10), strict=True))
    # The nine in one batch, by user (then in the order they came).
    assert pool.sent == [[0], [2, 5, 9, 1, 4, 3, 7, 6, 8]]


async def test_a_large_write_goes_in_a_batch_of_its_own() -> None:
    pool = GatedPool()
    batches = StatementBatches(FairPool(pool), ECHO, leaders=1)  # type: ignore[arg-type]
    large = "x" * (ALONE_FROM_BYTES + 1)
    users = ["a", "b", large, "c", "d"]
    writes = [asyncio.create_task(batches.fetchrow({"user_id": u, "n": n})) for n, u in enumerate(users)]
    for _ in range(5):
        await asyncio.sleep(0)
    pool.gate.set()
    await asyncio.wait_for(asyncio.gather(*writes), 1)
    # The others' commits never wait for the large one's bytes.
    assert pool.sent == [[0], [1], [2], [3, 4]]


async def test_a_leader_cancelled_mid_batch_fails_its_batch_cleanly_and_the_line_moves_on() -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    pool = GatedPool()
    batches = StatementBatches(FairPool(pool), ECHO, leaders=1)  # type: ignore[arg-type]
    writes = [asyncio.create_task(batches.fetchrow({"user_id": "a", "n": n})) for n in range(4)]
    for _ in range(5):
        await asyncio.sleep(0)
    pool.gate.set()  # the first write's batch returns; the second leads the next
    pool.gate.clear()
    for _ in range(10):
        await asyncio.sleep(0)
    assert pool.sent == [[0], [1, 2, 3]]
    writes[1].cancel()  # its request gone while its batch is in flight (a shutdown)
    outcomes = await asyncio.gather(*writes, return_exceptions=True)
    assert outcomes[0] == {"user_id": "a", "n": 0}
    assert isinstance(outcomes[1], asyncio.CancelledError)
    # Sent, perhaps committed: the others hear so, and none is sent again.
    assert all(isinstance(o, ConnectionAbortedError) for o in outcomes[2:])
    pool.gate.set()
    later = await asyncio.wait_for(batches.fetchrow({"user_id": "b", "n": 4}), 1)
    assert later == {"user_id": "b", "n": 4} and pool.sent[2:] == [[4]]
    del writes, outcomes
    gc.collect()
    # No write's error is left for asyncio to report as never retrieved.
    assert reported == []
