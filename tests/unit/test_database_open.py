"""Opening the database starts no connection: a server starts while PostgreSQL is down
(or restarting) and answers 503 until it is back, instead of failing to start."""

from __future__ import annotations

import pytest

from server.db.database import unreachable
from server.db.open import open_database
from server.settings import Settings
from tests.support import free_port

pytestmark = pytest.mark.unit


async def test_a_server_opens_its_postgresql_database_while_postgresql_is_down() -> None:
    nobody = f"postgresql+asyncpg://postgres@127.0.0.1:{free_port()}/tasksync"
    db = await open_database(Settings(_env_file=None, database_url=nobody, db_timeout_seconds=2), None)
    try:
        assert db.dialect == "postgresql"
        with pytest.raises(Exception) as failed:
            await db.ping()
        assert unreachable(failed.value)  # a 503 and a retry later, not a 500
    finally:
        await db.dispose()
