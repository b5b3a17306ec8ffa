"""Writes that are one statement each go to PostgreSQL together under load (one
transaction, one commit for many), yet each write keeps its own outcome: its own row,
its own refusal, its own error, and a write whose request is gone is never sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa

from server.db.batches import LEADERS, StatementBatches
from server.db.fair_pool import FairPool
from tests.conftest import AppFactory
from tests.support import User, sqlalchemy_url

pytestmark = pytest.mark.postgres

PROBE = sa.text(
    "INSERT INTO batch_probe (user_id, n) VALUES (:user_id, :n)"
    " RETURNING n, pg_current_xact_id()::text AS xact"
)


@pytest.fixture
async def probe_pool(pg_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(pg_url, min_size=0, max_size=LEADERS + 1)
    await pool.execute("CREATE TABLE batch_probe (user_id text NOT NULL, n int NOT NULL CHECK (n > 0))")
    try:
        yield pool
    finally:
        await pool.execute("DROP TABLE batch_probe")
        await pool.close()


async def _stored(pool: asyncpg.Pool) -> list[int]:
    return sorted(r["n"] for r in await pool.fetch("SELECT n FROM batch_probe"))


async def test_writes_sent_together_each_get_their_row_and_a_bad_one_fails_alone(
    probe_pool: asyncpg.Pool,
) -> None:
    # Batches of at most 8, so the bad write spoils only its own.
    batches = StatementBatches(FairPool(probe_pool), PROBE, max_batch=8)
    wanted = [-1 if n == 20 else n for n in range(1, 41)]  # one write the table refuses
    results = await asyncio.gather(
        *(batches.fetchrow({"user_id": f"user-{n % 7}", "n": n}) for n in wanted), return_exceptions=True
    )
    good: list[Any] = []
    for n, result in zip(wanted, results, strict=True):
        if n < 0:
            assert isinstance(result, asyncpg.exceptions.CheckViolationError)
        else:
            assert not isinstance(result, BaseException), result
            assert result["n"] == n  # each write its own row, whatever the batch's order
            good.append(result)
    assert await _stored(probe_pool) == [n for n in wanted if n > 0]
    # Fewer transactions than writes: they went together (the ones beside the bad
    # write again alone, after their batch rolled back).
    assert len({r["xact"] for r in good}) < len(good)


async def test_a_write_cancelled_while_it_waits_is_never_sent(probe_pool: asyncpg.Pool) -> None:
    batches = StatementBatches(FairPool(probe_pool), PROBE)
    writes = [asyncio.create_task(batches.fetchrow({"user_id": "u", "n": n})) for n in range(1, 31)]
    for _ in range(3):
        await asyncio.sleep(0)  # every write queued; the first few are being sent
    gone = writes[LEADERS + 5 : LEADERS + 9]
    for write in gone:
        write.cancel()
    kept = [w for w in writes if w not in gone]
    rows = await asyncio.wait_for(asyncio.gather(*kept), 10)  # nobody left waiting for ever
    assert [r["n"] for r in rows] == [n for n, w in enumerate(writes, 1) if w not in gone]
    assert await _stored(probe_pool) == [r["n"] for r in rows]
    # The line still moves after the cancellations.
    assert (await batches.fetchrow({"user_id": "u", "n": 99}))["n"] == 99


@pytest.fixture(scope="module")
def database_url(pg_url: str) -> str:
    return sqlalchemy_url(pg_url)


async def test_creates_at_once_commit_together_and_each_keeps_its_seq_and_quota(
    app_factory: AppFactory, pg_url: str
) -> None:
    client = await app_factory(max_tasks_per_user=5)
    users = [User() for _ in range(12)]
    full = users[0]
    for k in range(5):  # one user at its quota
        response = await client.post("/api/tasks", json={"title": f"mine {k}"}, headers=full.headers)
        assert response.status_code == 201

    async def create(user: User, k: int) -> tuple[User, int, int]:
        response = await client.post("/api/tasks", json={"title": f"t{k}"}, headers=user.headers)
        seq = int(response.headers.get("Tasksync-Seq", "0"))
        return user, response.status_code, seq

    answers = await asyncio.gather(*(create(u, k) for k in range(4) for u in users))
    assert {status for user, status, _ in answers if user is full} == {403}
    for user in users[1:]:
        # Each create its own seq, none lost or given twice, in the user's log.
        assert sorted(seq for u, status, seq in answers if u is user and status == 201) == [1, 2, 3, 4]
    conn = await asyncpg.connect(pg_url)
    try:
        for user in users[1:]:
            events = await conn.fetch(
                "SELECT e.seq, e.task_id, t.created_seq FROM events e JOIN tasks t"
                " ON t.user_id = e.user_id AND t.id = e.task_id WHERE e.user_id = $1 ORDER BY e.seq",
                user.id,
            )
            assert [(e["seq"], e["created_seq"]) for e in events] == [(1, 1), (2, 2), (3, 3), (4, 4)]
        created = await conn.fetchval(
            "SELECT count(DISTINCT xmin::text) FROM tasks WHERE user_id = ANY($1::text[])",
            [u.id for u in users[1:]],
        )
        assert created < 4 * len(users[1:])  # 44 creates, fewer commits
    finally:
        await conn.close()
