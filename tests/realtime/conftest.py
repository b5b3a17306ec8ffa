"""Real server processes for the sync tests: one on SQLite (the embedded default), or
two on one PostgreSQL database (fan-out through LISTEN/NOTIFY between processes)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import ServerProcess

# Small bounds so the tests reach them quickly.
SERVER_ENV = {
    "CORS_ORIGINS": "http://app.example",
    "WS_AUTH_TIMEOUT_SECONDS": "1",
    "WS_MAX_SOCKETS_PER_USER": "12",
    "STREAM_QUEUE_SIZE": "20",
    "LISTENER_HEALTH_SECONDS": "1",
    "LISTENER_TIMEOUT_SECONDS": "2",
}


@dataclass
class Cluster:
    """Two entry points; on SQLite both are the same single process."""

    kind: str
    servers: list[ServerProcess]

    @property
    def a(self) -> ServerProcess:
        return self.servers[0]

    @property
    def b(self) -> ServerProcess:
        return self.servers[-1]


@pytest.fixture(scope="module")
async def cluster(database_url: str, artifacts_dir: Path) -> AsyncIterator[Cluster]:
    """`database_url` runs each module on SQLite and on PostgreSQL."""
    kind = "sqlite" if database_url.startswith("sqlite") else "postgres"
    count = 1 if kind == "sqlite" else 2
    servers = [
        ServerProcess({"DATABASE_URL": database_url, **SERVER_ENV}, artifacts_dir, f"{kind}{i}")
        for i in range(count)
    ]
    for server in servers:
        await server.start()
    yield Cluster(kind, servers)
    for server in servers:
        await server.stop()
