"""Development mode can never be reached from outside: its token endpoint (which lets
anyone act as any user) answers only a loopback peer naming a loopback host, and the
server refuses to listen beyond loopback in development mode."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from server.app import create_app
from tests.conftest import make_settings
from tests.support import ROOT, free_port


@asynccontextmanager
async def dev_app(folder: Path, base_url: str, client: tuple[str, int]) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(
        f"sqlite+aiosqlite:///{folder}/dev.db",
        tasksync_env="development",
        better_auth_secret="",
        dev_secret_file=str(folder / "secret"),
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=client)
        async with httpx.AsyncClient(transport=transport, base_url=base_url) as http:
            yield http


@pytest.mark.parametrize("base_url", ["http://localhost:8000", "http://127.0.0.1:8000", "http://[::1]:8000"])
async def test_a_loopback_caller_gets_a_token(tmp_path: Path, base_url: str) -> None:
    async with dev_app(tmp_path, base_url, ("127.0.0.1", 5000)) as client:
        response = await client.post("/api/dev/token", json={"user": "alice"})
        assert response.status_code == 200 and response.json()["token"]


@pytest.mark.parametrize(
    ("base_url", "peer"),
    [
        ("http://localhost:8000", "192.0.2.7"),  # another machine (server bound to 0.0.0.0)
        ("http://rebound.example:8000", "127.0.0.1"),  # DNS rebinding: a foreign name, our address
        ("http://10.0.0.5:8000", "127.0.0.1"),
    ],
)
async def test_anyone_else_finds_no_such_route(tmp_path: Path, base_url: str, peer: str) -> None:
    async with dev_app(tmp_path, base_url, (peer, 5000)) as client:
        response = await client.post("/api/dev/token", json={"user": "alice"})
        assert response.status_code == 404
        assert response.json() == (await client.post("/api/no-such-route")).json()


def test_development_mode_refuses_to_listen_beyond_loopback(tmp_path: Path) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        "TASKSYNC_ENV": "development",
        "HOST": "0.0.0.0",
        "PORT": str(free_port()),
        "DATABASE_URL": f"sqlite:///{tmp_path}/dev.db",
        "DEV_SECRET_FILE": str(tmp_path / "secret"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "server", "serve"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0
    assert "refusing to serve development mode on 0.0.0.0" in done.stderr
