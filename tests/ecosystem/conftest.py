"""A real server for the ecosystem checks, and the Node tools of `package.json`.

The tools are installed by `make pytest` (`npm ci --prefix tests/ecosystem`); without
them (or without Node) these tests skip, and fail under CI.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import ServerProcess, running, skip_or_fail, sqlalchemy_url

ECOSYSTEM_DIR = Path(__file__).resolve().parent
NODE_BIN = ECOSYSTEM_DIR / "node_modules" / ".bin"
TOOL_TIMEOUT = 120


def node_tool(*args: str | Path, cwd: Path = ECOSYSTEM_DIR) -> subprocess.CompletedProcess[str]:
    """Run `node` or a tool of `node_modules/.bin` (the first argument names it)."""
    if shutil.which("node") is None:
        skip_or_fail("node (>= 20) is not on PATH")
    name, *rest = args
    if name == "node":
        program = shutil.which("node")
    else:
        program = str(NODE_BIN / str(name))
        if not Path(program).exists():
            skip_or_fail(f"{name} is not installed: run `npm ci --prefix tests/ecosystem`")
    return subprocess.run(
        [str(program), *map(str, rest)], cwd=cwd, capture_output=True, text=True, timeout=TOOL_TIMEOUT
    )


@pytest.fixture(scope="module")
async def server(pg_url: str, artifacts_dir: Path) -> AsyncIterator[ServerProcess]:
    async with running(
        ServerProcess({"DATABASE_URL": sqlalchemy_url(pg_url)}, artifacts_dir, "ecosystem")
    ) as (served,):
        yield served


async def fetch_json(server: ServerProcess, path: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.url, timeout=10) as http:
        response = await http.get(path)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, Any] = json.loads(response.content)
    return document
