"""The event log's retention rule and channel naming, against the real databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.database import Database
from server.db.migrate import upgrade_to_head
from server.db.open import create_engine, open_database
from server.db.tables import events, users
from server.realtime.channels import channel_for
from server.realtime.log import log_window, now, prune
from tests.conftest import make_settings
from tests.support import User


@pytest.fixture(scope="module")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """SQLAlchemy straight to the database, to seed and inspect it."""
    seeder = create_engine(make_settings(database_url))
    await upgrade_to_head(seeder)
    yield seeder
    await seeder.dispose()


@pytest.fixture(scope="module")
async def db(database_url: str, engine: AsyncEngine) -> AsyncIterator[Database]:
    database = await open_database(make_settings(database_url), announcer=None)
    yield database
    await database.dispose()


async def _seed(engine: AsyncEngine, user_id: str, count: int, age: timedelta) -> None:
    async with engine.begin() as conn:
        await conn.execute(users.insert().values(id=user_id, seq=count, created_at=now()))
        await conn.execute(
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


async def _seqs(engine: AsyncEngine, user_id: str) -> list[int]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(events.c.seq).where(events.c.user_id == user_id).order_by(events.c.seq)
        )
        return [r.seq for r in rows]


async def test_old_events_beyond_the_newest_thousand_go(db: Database, engine: AsyncEngine) -> None:
    old, recent = User().id, User().id
    await _seed(engine, old, 1200, age=timedelta(days=8))
    await _seed(engine, recent, 1200, age=timedelta(days=1))
    async with db.transaction() as tx:
        pruned = await prune(tx.conn, keep_events=1000, keep_days=7)
    assert pruned >= 200  # other tests' old users may go too
    assert await _seqs(engine, old) == list(range(201, 1201))  # the newest 1,000 stay
    assert len(await _seqs(engine, recent)) == 1200  # younger than 7 days: all stay
    async with db.read() as conn:
        window = await log_window(conn, old)
    assert (window.floor, window.head) == (200, 1200)
    assert window.can_resume(200) and not window.can_resume(199) and not window.can_resume(1201)


def test_channel_names_are_short_ascii_and_distinct() -> None:
    stem = "ü" * 70
    a, b = channel_for(stem + "a" * 10), channel_for(stem + "b" * 10)
    assert a != b
    for name in (a, b, channel_for("x" * 255), channel_for("")):
        assert name.isascii() and len(name.encode()) < 64
