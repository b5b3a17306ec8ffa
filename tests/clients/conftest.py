"""Real server processes for the Python client's tests, and clients bound to them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tasksync_client import Backoff, TasksyncClient, TokenProvider

from tests.support import ServerProcess, running

SERVER_ENV = {
    # Without leeway a short-lived token is refused right at its `exp`, so the renewal
    # tests cannot pass by the server's grace.
    "JWT_LEEWAY_SECONDS": "0",
    # A killed LISTEN connection is noticed and replaced within a second or two.
    "LISTENER_HEALTH_SECONDS": "1",
    "LISTENER_TIMEOUT_SECONDS": "2",
    # The PostgreSQL is shared with the rest of the suite (and with benchmarks): these
    # servers need only a few connections each, so they take only a few.
    "DB_POOL_SIZE": "3",
    "DB_MAX_OVERFLOW": "5",
}

# Reconnect quickly: the tests restart servers and wait for the mirror to come back.
FAST = Backoff(initial=0.05, maximum=0.5)


def server_process(database_url: str, artifacts_dir: Path, name: str) -> ServerProcess:
    return ServerProcess({"DATABASE_URL": database_url, **SERVER_ENV}, artifacts_dir, name)


def client_of(
    server: ServerProcess, token: str | TokenProvider, client_id: str | None = None
) -> TasksyncClient:
    return TasksyncClient(server.url, token, client_id=client_id, backoff=FAST)


@pytest.fixture(scope="module")
async def server(pg_url: str, artifacts_dir: Path) -> AsyncIterator[ServerProcess]:
    """One server on this module's PostgreSQL database."""
    async with running(server_process(pg_url, artifacts_dir, "client")) as (process,):
        yield process
