"""Bring the schema up to date with alembic; safe when several processes start at once."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.open import create_engine
from server.settings import Settings

# An arbitrary constant that identifies "the tasksync migration" among advisory locks.
_MIGRATION_LOCK_KEY = 0x7461736B73796E63 & 0x7FFFFFFFFFFFFFFF


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["connection"] = connection
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    if connection.dialect.name == "postgresql":
        # Processes starting together queue here; the first migrates, the rest find
        # the schema current. The lock ends with the transaction.
        connection.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
    command.upgrade(_alembic_config(connection), revision)


async def upgrade_to_head(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` (the newest by default; the migration tests
    stop at an older one to upgrade a database with data in it)."""
    async with engine.connect() as conn:
        await conn.execution_options(tasksync_write=True)
        await conn.run_sync(_upgrade, revision)
        await conn.commit()


async def migrate(settings: Settings) -> None:
    """Bring the configured database to the newest schema (on an engine of its own)."""
    engine = create_engine(settings)
    try:
        await upgrade_to_head(engine)
    finally:
        await engine.dispose()
