"""The conformance suite's fixtures: one server process per run of this folder's test
file, on its own PostgreSQL database, and Debian's Chromium for the browser client (the
browser tests' fixture: it fails rather than skips under CI)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.browser.conftest import browser  # noqa: F401 (a fixture, used by name)
from tests.clients.conftest import server_process
from tests.support import ServerProcess, running


@pytest.fixture(scope="module")
async def server(pg_url: str, artifacts_dir: Path) -> AsyncIterator[ServerProcess]:
    async with running(server_process(pg_url, artifacts_dir, "conformance")) as (process,):
        yield process
