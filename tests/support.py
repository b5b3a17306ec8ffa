"""Test helpers: finding PostgreSQL, cloning databases, minting tokens, and running
real server processes (`python -m server serve`) on free ports."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt

ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET = "tasksync-test-secret-" + "k" * 32
LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def mint(user_id: str, *, ttl: float = 3600, secret: str = TEST_SECRET, **claims: Any) -> str:
    now = int(time.time())
    body: dict[str, Any] = {"sub": user_id, "iat": now, "exp": now + int(ttl), **claims}
    return jwt.encode(body, secret, algorithm="HS256")


@dataclass
class User:
    """A fresh test user with a valid token."""

    id: str = field(default_factory=lambda: f"user-{uuid.uuid4().hex[:12]}")
    token: str = ""

    def __post_init__(self) -> None:
        if not self.token:
            self.token = mint(self.id, email=f"{self.id}@example.com", name=self.id)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def postgres_reachable(url: str) -> bool:
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` (keeps any ?host= query of a socket URL)."""
    base, _, query = url.partition("?")
    head = base.rsplit("/", 1)[0]
    return f"{head}/{name}" + (f"?{query}" if query else "")


async def create_database(admin_url: str, name: str, template: str | None = None) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        clause = f' TEMPLATE "{template}" STRATEGY FILE_COPY' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{clause}')
    finally:
        await conn.close()


async def drop_database(admin_url: str, name: str) -> None:
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def sqlalchemy_url(pg_url: str) -> str:
    return pg_url.replace("postgresql://", "postgresql+asyncpg://", 1)


class ServerProcess:
    """`python -m server serve` in a subprocess on a free port, with its own env."""

    def __init__(self, env: dict[str, str], log_dir: Path, name: str = "server") -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "TASKSYNC_ENV": "production",
            "BETTER_AUTH_SECRET": TEST_SECRET,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "LOG_LEVEL": "warning",
            **env,
        }
        self.log_path = log_dir / f"{name}-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/ws"

    async def start(self, timeout: float = 30.0) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server", "serve"],
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient() as client:
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    raise RuntimeError(f"server exited early; log:\n{self.log()}")
                try:
                    if (await client.get(f"{self.url}/readyz", timeout=1)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise RuntimeError(f"server not ready in {timeout}s; log:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else 0
        self.proc.send_signal(sig)
        deadline = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode


async def kill_listeners(admin_url: str, database_url: str) -> int:
    """Terminate every server's fan-out listening connection on the database of
    `database_url` (found by its application_name); returns how many."""
    from server.realtime.pg_backend import LISTENER_APPLICATION_NAME

    database = database_url.rsplit("/", 1)[1].split("?")[0]
    conn = await asyncpg.connect(admin_url)
    try:
        rows = await conn.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = $1 AND application_name = $2 AND pid <> pg_backend_pid()",
            database,
            LISTENER_APPLICATION_NAME,
        )
    finally:
        await conn.close()
    return len(rows)


@asynccontextmanager
async def running(*servers: ServerProcess) -> AsyncIterator[list[ServerProcess]]:
    """Start the servers; stop them all on the way out, whatever happened."""
    try:
        for server in servers:
            await server.start()
        yield list(servers)
    finally:
        for server in servers:
            await server.stop()
