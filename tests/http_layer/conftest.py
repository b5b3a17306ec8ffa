"""A real `python -m server serve` (uvicorn) per module and database: the HTTP layer is
what users run, so it is tested as such, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.support import ServerProcess, User, running


@pytest.fixture(scope="module")
async def server(database_url: str, artifacts_dir: Path) -> AsyncIterator[ServerProcess]:
    env = {
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "info",
        "BODY_TIMEOUT_SECONDS": "1",
        "HEADER_TIMEOUT_SECONDS": "1",
    }
    process = ServerProcess(env, artifacts_dir, "http")
    async with running(process):
        yield process


@pytest.fixture
async def api(server: ServerProcess, user: User) -> AsyncIterator[httpx.AsyncClient]:
    """A well-behaved client of the same user, to look at what the raw requests did."""
    async with httpx.AsyncClient(base_url=server.url, headers=user.headers, timeout=10) as client:
        yield client


async def titles(api: httpx.AsyncClient) -> list[str]:
    response = await api.get("/api/tasks", params={"order": "asc"})
    assert response.status_code == 200, response.text
    return [task["title"] for task in response.json()["items"]]
