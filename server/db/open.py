"""Opening the database the settings name: SQLite (the embedded default) or PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from server.db.database import Announcer, Database
from server.db.postgres import PG_SESSION, PostgresDatabase, open_pool
from server.db.sqlite import SqliteDatabase, configure_sqlite
from server.settings import Settings


def create_engine(settings: Settings) -> AsyncEngine:
    """SQLAlchemy's engine: the database itself on SQLite, the migrations on both."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url)
        configure_sqlite(engine)
        return engine
    # On PostgreSQL only migrations and tools use it: no connection is kept.
    return create_async_engine(url, poolclass=NullPool, connect_args=PG_SESSION)


async def open_database(settings: Settings, announcer: Announcer | None) -> Database:
    """The database, announcing every write transaction's events through `announcer`."""
    if make_url(settings.database_url).get_backend_name() == "sqlite":
        return SqliteDatabase(create_engine(settings), announcer)
    return PostgresDatabase(await open_pool(settings), announcer)
