"""Child processes and databases of a benchmark run: Tasksync servers, the ceiling app,
worker processes (load generator, socket clients) and throwaway PostgreSQL databases.
Everything is registered on an `AsyncExitStack`, so it is stopped/dropped even when
the benchmark fails half-way."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import asyncpg

from bench.config import ROOT, SECRET
from bench.httpclient import get
from bench.worker import child_setup


def free_port() -> int:
    """A free port below the ephemeral range, which the 20,000+ client sockets use."""
    low, _high = (int(p) for p in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    for _ in range(200):
        port = random.randrange(max(1024, low - 12000), low)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


def rss_kib(pid: int, field: str = "VmRSS") -> int:
    """Resident set size of a process, from /proc/<pid>/status (VmRSS, in KiB; VmHWM: its peak)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for pid {pid}")


def _name_and_ticks(stat: str) -> tuple[str, int]:
    """A /proc/<pid>/stat line's command name and its user + system CPU ticks (the name is
    in parentheses and may hold any character: the fields are after its last ")")."""
    head, _, rest = stat.rpartition(")")
    fields = rest.split()
    return head.partition("(")[2], int(fields[11]) + int(fields[12])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far (/proc/<pid>/stat)."""
    return _name_and_ticks(Path(f"/proc/{pid}/stat").read_text())[1] / os.sysconf("SC_CLK_TCK")


def postgres_cpu_seconds() -> float:
    """CPU time used so far by every PostgreSQL process of this machine (backends that
    ended meanwhile are not counted: the pools' connections live through a round)."""
    total = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            name, ticks = _name_and_ticks(stat.read_text())
        except OSError:  # ended while listed
            continue
        if name == "postgres":
            total += ticks
    return total / os.sysconf("SC_CLK_TCK")


def with_database(url: str, name: str) -> str:
    base, _, query = url.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@asynccontextmanager
async def database(admin_url: str, label: str, log_dir: Path) -> AsyncIterator[str]:
    """A fresh database migrated to the newest schema; dropped on exit."""
    name = f"tasksync_bench_{label}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = with_database(admin_url, name)
    try:
        with (log_dir / f"migrate-{label}.log").open("ab") as log:
            proc = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "server",
                "migrate",
                cwd=ROOT,
                env=server_env(url),
                stdout=log,
                stderr=log,
            )
            if await proc.wait() != 0:
                raise RuntimeError(f"migration failed; see {log.name}")
        yield url
    finally:
        admin = await asyncpg.connect(admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await admin.close()


# `--server-env NAME=VALUE`: settings for every server (and the ceiling, which sizes its
# pool from DB_POOL_SIZE/DB_MAX_OVERFLOW too), to try a configuration without editing code.
OVERRIDES: dict[str, str] = {}


def server_env(database_url: str, port: int = 0, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "TASKSYNC_ENV": "production",
        "BETTER_AUTH_SECRET": SECRET,
        "DATABASE_URL": database_url,
        "HOST": "127.0.0.1",
        "PORT": str(port),
        "MIGRATE_ON_START": "false",
        # The load generator is a few users doing thousands of requests a second: the
        # limits are counted (their cost is in the figures) but set out of reach.
        "RATE_LIMIT_WRITES": "10000000/second",
        "RATE_LIMIT_READS": "10000000/second",
        "RATE_LIMIT_STREAM_OPENS": "10000000/second",
        "MAX_TASKS_PER_USER": "100000000",
        **OVERRIDES,
        **extra,
    }


# `--launcher`: how every Tasksync server process is started. "serve" is the Procfile's
# `python -m server serve`; "uvicorn" is `uvicorn server.app:app` with the flags a
# process manager or a platform passes (bench/README.md lists what they cannot say).
LAUNCHERS = ("serve", "uvicorn")
LAUNCHER = "serve"


def server_argv(env: dict[str, str]) -> list[str]:
    """The command line of one Tasksync server process under LAUNCHER."""
    if LAUNCHER == "serve":
        return [sys.executable, "-m", "server", "serve"]
    uvicorn = Path(sys.executable).with_name("uvicorn")
    return [
        str(uvicorn) if uvicorn.exists() else "uvicorn",
        "server.app:app",
        "--host", env["HOST"],
        "--port", env["PORT"],
        "--ws", "websockets-sansio",
        "--ws-per-message-deflate", "false",
        "--ws-max-size", env.get("WS_MAX_MESSAGE_BYTES", str(64 * 1024)),  # the server's default
        "--proxy-headers",
        "--forwarded-allow-ips", env.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1"),
        "--timeout-graceful-shutdown", "5",
        "--no-access-log",
        "--log-level", env.get("LOG_LEVEL", "info").lower(),
    ]  # fmt: skip


def launcher_text() -> str:
    """LAUNCHER's command line as the report shows it."""
    argv = server_argv({"HOST": "$HOST", "PORT": "$PORT"})
    return " ".join(["python" if argv[0] == sys.executable else Path(argv[0]).name, *argv[1:]])


class Proc:
    """A child process with its output in a log file; `stop()` is idempotent."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.argv, self.env = name, argv, env
        self.log_path = log_dir / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=child_setup,
            )

    def tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() else ""

    async def stop(self, grace: float = 10.0) -> None:
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.to_thread(proc.wait, grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class HttpService(Proc):
    """A uvicorn-served app (a Tasksync server or the ceiling app) on a free port."""

    def __init__(self, name: str, module: str, env: dict[str, str], log_dir: Path) -> None:
        self.port = free_port()
        env = {**env, "HOST": "127.0.0.1", "PORT": str(self.port)}
        argv = server_argv(env) if module == "server" else [sys.executable, "-m", module]
        super().__init__(name, argv, env, log_dir)

    async def wait_ready(self, path: str, within: float = 60.0) -> None:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited early:\n{self.tail()}")
            try:
                status, _ = await asyncio.wait_for(get("127.0.0.1", self.port, path), 2)
                if status == 200:
                    return
            except (OSError, TimeoutError, asyncio.IncompleteReadError):
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready after {within}s:\n{self.tail()}")


async def start_server(
    stack: AsyncExitStack, name: str, db_url: str, log_dir: Path, **env: str
) -> HttpService:
    """A Tasksync server (production mode, HS256 secret) as LAUNCHER starts it, stopped
    when the stack closes."""
    service = HttpService(name, "server", server_env(db_url, 0, **env), log_dir)
    stack.push_async_callback(service.stop)
    service.start()
    await service.wait_ready("/readyz")
    return service


async def start_ceiling(
    stack: AsyncExitStack,
    db_url: str,
    log_dir: Path,
    *,
    pool: bool = True,
    name: str = "ceiling",
    notify: bool = True,
) -> HttpService:
    """The ceiling app (bench/ceiling_app.py) under the server's own uvicorn settings;
    without `pool`, no database at all (the bare-socket ceiling); without `notify`, its
    create commits without a `pg_notify` (the database's own commit rate)."""
    env = server_env(db_url, CEILING_DSN=db_url if pool else "", CEILING_NOTIFY="1" if notify else "0")
    service = HttpService(name, "bench.ceiling_app", env, log_dir)
    stack.push_async_callback(service.stop)
    service.start()
    await service.wait_ready("/ceiling")  # 404 if the server's app got started instead
    return service
