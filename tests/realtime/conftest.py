"""Real server processes for the sync tests: one on SQLite (the embedded default), or
two on one PostgreSQL database (fan-out through LISTEN/NOTIFY between processes)."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.support import Cluster, ServerProcess, running, skip_or_fail

# Small bounds so the tests reach them quickly.
SERVER_ENV = {
    "CORS_ORIGINS": "http://app.example",
    "WS_AUTH_TIMEOUT_SECONDS": "1",
    "MAX_STREAMS_PER_USER": "12",
    "STREAM_QUEUE_SIZE": "20",
    "STREAM_LAG_SECONDS": "2",
    "LOG_LEVEL": "info",
    "LISTENER_HEALTH_SECONDS": "1",
    "LISTENER_TIMEOUT_SECONDS": "2",
    # Sockets live until exp + leeway; no leeway makes expiry exact for the tests.
    "JWT_LEEWAY_SECONDS": "0",
}


def redis_url() -> str:
    """The local Redis (or $TASKSYNC_TEST_REDIS); skipped if absent, failed under CI."""
    url = os.environ.get("TASKSYNC_TEST_REDIS", "redis://127.0.0.1:6379/0")
    host, _, port = url.split("//", 1)[1].split("/", 1)[0].partition(":")
    try:
        socket.create_connection((host, int(port or 6379)), timeout=2).close()
    except OSError:
        skip_or_fail(f"no Redis at {url}")
    return url


@pytest.fixture(scope="module", params=["sqlite", "postgres", "postgres+redis"])
def cluster_env(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """SQLite (one process), PostgreSQL fan-out, or PostgreSQL data with Redis fan-out."""
    if request.param == "sqlite":
        db = tmp_path_factory.mktemp("sqlite") / "tasksync.db"
        return {"KIND": "sqlite", "DATABASE_URL": f"sqlite:///{db}"}
    env = {"KIND": request.param, "DATABASE_URL": request.getfixturevalue("pg_url")}
    if request.param == "postgres+redis":
        env["BROADCAST_URL"] = redis_url()
    return env


@pytest.fixture(scope="module")
async def cluster(cluster_env: dict[str, str], artifacts_dir: Path) -> AsyncIterator[Cluster]:
    kind = cluster_env.pop("KIND", "") or "sqlite"
    count = 1 if kind == "sqlite" else 2
    servers = [
        ServerProcess({**cluster_env, **SERVER_ENV}, artifacts_dir, f"{kind}{i}") for i in range(count)
    ]
    async with running(*servers):
        yield Cluster(kind, servers)
