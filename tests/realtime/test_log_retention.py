"""The event log's retention rule and channel naming, against the real databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from server.db import Database, create_engine
from server.migrate import upgrade_to_head
from server.models import events, users
from server.realtime.channels import channel_for
from server.realtime.log import log_window, now, prune
from tests.conftest import make_settings
from tests.support import User


@pytest.fixture(scope="module")
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(create_engine(make_settings(database_url)))
    await upgrade_to_head(database.engine)
    yield database
    await database.dispose()


async def _seed(db: Database, user_id: str, count: int, age: timedelta) -> None:
    async with db.transaction() as tx:
        await tx.conn.execute(users.insert().values(id=user_id, seq=count, created_at=now()))
        await tx.conn.execute(
            events.insert(),
            [
                {
                    "user_id": user_id,
                    "seq": s,
                    "type": "task.created",
                    "task_id": "t",
                    "body": "{}",
                    "at": now() - age,
                }
                for s in range(1, count + 1)
            ],
        )


async def _seqs(db: Database, user_id: str) -> list[int]:
    async with db.engine.connect() as conn:
        rows = await conn.execute(
            sa.select(events.c.seq).where(events.c.user_id == user_id).order_by(events.c.seq)
        )
        return [r.seq for r in rows]


async def test_old_events_beyond_the_newest_thousand_go(db: Database) -> None:
    old, recent = User().id, User().id
    await _seed(db, old, 1200, age=timedelta(days=8))
    await _seed(db, recent, 1200, age=timedelta(days=1))
    async with db.transaction() as tx:
        await prune(tx.conn, keep_events=1000, keep_days=7)
    assert await _seqs(db, old) == list(range(201, 1201))  # the newest 1,000 stay
    assert len(await _seqs(db, recent)) == 1200  # younger than 7 days: all stay
    async with db.engine.connect() as conn:
        window = await log_window(conn, old)
    assert (window.floor, window.head) == (200, 1200)
    assert window.can_resume(200) and not window.can_resume(199) and not window.can_resume(1201)


def test_channel_names_are_short_ascii_and_distinct() -> None:
    stem = "ü" * 70
    a, b = channel_for(stem + "a" * 10), channel_for(stem + "b" * 10)
    assert a != b
    for name in (a, b, channel_for("x" * 255), channel_for("")):
        assert name.isascii() and len(name.encode()) < 64
