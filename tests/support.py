"""Test helpers: finding PostgreSQL, cloning databases, minting tokens, and running
real server processes (`python -m server serve`) on free ports."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import inspect
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
import warnings
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, NoReturn, TypeVar, cast

import asyncpg
import httpx
import jwt
import pytest

ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET = "tasksync-test-secret-" + "k" * 32
LOCAL_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
# Rate limits out of the way, for every test but the ones about limits.
UNLIMITED_ENV = {
    "RATE_LIMIT_WRITES": "1000000/second",
    "RATE_LIMIT_READS": "1000000/second",
    "RATE_LIMIT_STREAM_OPENS": "1000000/second",
    # Refused tokens answered at once: the tests that hold them back set their own delay.
    "AUTH_REFUSAL_DELAY_SECONDS": "0",
}
# How long a test waits for something to happen before it fails. The bounds end a test
# that would hang; they are no speed targets (latency is measured in bench/), so they
# are generous enough for a loaded machine.
WAIT_TIMEOUT = 10.0
SERVER_START_TIMEOUT = 30.0


def import_pgserver() -> ModuleType | None:
    """`pgserver` (the fallback where no PostgreSQL is installed), or None without it."""
    try:
        with warnings.catch_warnings():
            # platformdirs warns at import when XDG_RUNTIME_DIR is unset (CI, root shells).
            warnings.simplefilter("ignore")
            import pgserver
    except ImportError:
        return None
    return pgserver


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def under_ci() -> bool:
    """Whether this is a CI run (`CI` set to 1, true, yes or on, in any case), where a
    missing service fails the tests that need it instead of skipping them."""
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def skip_or_fail(message: str) -> NoReturn:
    """Skip the test for want of `message`'s service; fail it under CI."""
    if under_ci():
        pytest.fail(message)
    pytest.skip(message)


T = TypeVar("T")


async def wait_until(
    condition: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = WAIT_TIMEOUT,
    interval: float = 0.05,
    message: str | Callable[[], str] = "",
) -> T:
    """Poll `condition` (a function, plain or async) until it returns something truthy,
    and return that; fail the test if `timeout` seconds pass first. The bound is there
    to end a test that would hang, not to time anything: keep it generous.

        await wait_until(lambda: any(r["level"] == "warning" for r in server.log_records()))
        value = await wait_until(lambda: metric(server.url, "tasksync_open_sockets"))
    """
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return cast(T, result)
        if time.monotonic() >= deadline:
            text = message() if callable(message) else message
            name = getattr(condition, "__qualname__", repr(condition))
            raise AssertionError(f"not reached within {timeout:g} s: {text or name}")
        await asyncio.sleep(interval)


async def window_start(seconds: float) -> None:
    """Return just after a window of a `seconds`-long rate budget begins. The budgets'
    windows start at multiples of their length on the clock, and a sliding-window
    counter weighs the last window's hits by how much of it still overlaps: a request
    just past a window's start fits again. A test that must see a refusal makes its
    requests from here, so they fall in one window (a slow machine's too)."""
    await asyncio.sleep(seconds - time.time() % seconds + 0.05)


async def past(deadline: float) -> None:
    """Return once the wall clock is past `deadline` (a Unix time, such as a token's
    `exp`). For scenarios that are about time passing; never to wait for an event."""
    await asyncio.sleep(max(0.0, deadline - time.time()))


def metric_sample(metrics: str, name: str, **labels: str) -> float:
    """The value of one series in Prometheus text format (0 if absent)."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in metrics.splitlines():
        match = re.match(r"^([a-z_]+)(?:\{(.*)\})? (\S+)$", line)
        if match and match[1] == name:
            have = ",".join(sorted((match[2] or "").split(","))) if match[2] else ""
            if have == wanted:
                return float(match[3])
    return 0.0


async def metric(base_url: str, name: str, **labels: str) -> float:
    """One series of a running server's `/metrics` now."""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        return metric_sample((await client.get("/metrics")).text, name, **labels)


async def wait_for_metric(
    base_url: str,
    name: str,
    reached: Callable[[float], bool],
    *,
    timeout: float = WAIT_TIMEOUT,
    **labels: str,
) -> float:
    """Wait until one series of a running server's `/metrics` satisfies `reached`.

    parked = await metric(server.url, "tasksync_open_streams", transport="poll")
    ...  # start a long-poll
    await wait_for_metric(server.url, "tasksync_open_streams", lambda v: v > parked, transport="poll")
    """
    seen: list[float] = []

    async def check() -> bool:
        seen.append(await metric(base_url, name, **labels))
        return reached(seen[-1])

    await wait_until(check, timeout=timeout, message=lambda: f"{name}{labels} stayed at {seen[-1:]}")
    return seen[-1]


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
    """`python -m server serve` in a subprocess on a free port, with its own env.

    Start it through `running()`, which stops it whatever happens. Each process runs in a
    session (process group) of its own, so a stop reaches everything it started, and a
    Ctrl-C on the test run reaches the tests, which stop their servers themselves. Any
    still alive when the run ends are killed by `kill_leftover_servers()`.
    """

    def __init__(self, env: dict[str, str], log_dir: Path, name: str = "server") -> None:
        self.name = name
        self.port = free_port()
        self.env = {
            **os.environ,
            "TASKSYNC_ENV": "production",
            "BETTER_AUTH_SECRET": TEST_SECRET,
            "HOST": "127.0.0.1",
            "PORT": str(self.port),
            "LOG_LEVEL": "warning",
            # Tests write and reconnect far faster than a person; the limit tests set
            # their own budgets (tests/limits/).
            **UNLIMITED_ENV,
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

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self) -> list[str]:
        """What is run (a subclass may wrap it, e.g. in `ip netns exec`)."""
        return [sys.executable, "-m", "server", "serve"]

    async def start(self, timeout: float = SERVER_START_TIMEOUT) -> None:
        """Start the process and wait for `/readyz`; on any failure, nothing is left running."""
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _STARTED.add(self)
        try:
            await wait_until(self._ready, timeout=timeout, interval=0.1, message=self._not_ready)
        except BaseException:
            self.kill()
            raise

    async def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise RuntimeError(f"server {self.name} exited early; log:\n{self.log()}")
        try:
            async with httpx.AsyncClient() as client:
                return (await client.get(f"{self.url}/readyz", timeout=2)).status_code == 200
        except httpx.HTTPError:
            return False

    def _not_ready(self) -> str:
        return f"server {self.name} not ready; log:\n{self.log()}"

    def log(self) -> str:
        """The log's last 5,000 characters, to show in a failure message; an assertion on
        what the server logged reads `log_records()`."""
        return self.log_path.read_text(errors="replace")[-5000:]

    def log_records(self) -> list[dict[str, Any]]:
        """Every JSON line of the whole log, parsed (lines that are not JSON are skipped:
        a log assertion reads fields, never the formatting)."""
        records = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict):
                records.append(record)
        return records

    async def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> int:
        """Signal the process and wait for it to exit (killing it after `timeout`, or at
        once if the wait itself is interrupted); returns its exit code."""
        proc = self.proc
        if proc is None:
            return 0
        try:
            if proc.poll() is None:
                proc.send_signal(sig)
                deadline = time.monotonic() + timeout
                while proc.poll() is None and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
        finally:
            self.kill()
        return proc.returncode

    def kill(self) -> None:
        """SIGKILL the process and its group at once (a no-op when it has exited)."""
        proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        _STARTED.discard(self)


# Every server started and not yet seen to stop: the safety net's list.
_STARTED: set[ServerProcess] = set()


def kill_leftover_servers() -> list[str]:
    """Kill every server process still running; returns their names. The test session
    calls this when it ends (and at interpreter exit), after the fixtures' own stops."""
    leftovers = [server for server in list(_STARTED) if server.alive]
    for server in list(_STARTED):
        server.kill()
    return [server.name for server in leftovers]


atexit.register(kill_leftover_servers)


async def kill_listeners(admin_url: str, database_url: str) -> int:
    """Terminate every server's fan-out listening connection on the database of
    `database_url` (found by its application_name); returns how many."""
    from server.realtime.listener.postgres import LISTENER_APPLICATION_NAME

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
    """Start the servers (together); stop them all on the way out, whatever happened:
    a failed start, a failed test, a cancellation or a Ctrl-C.

        async with running(ServerProcess(env, log_dir, "a"), ServerProcess(env, log_dir, "b")) as (a, b):
            ...
    """
    try:
        try:
            async with asyncio.TaskGroup() as group:
                for server in servers:
                    group.create_task(server.start())
        except BaseExceptionGroup as failed:
            # One server failing to start is the usual case: report its own error.
            if len(failed.exceptions) == 1:
                raise failed.exceptions[0] from None
            raise
        yield list(servers)
    finally:
        try:
            await asyncio.gather(*(server.stop() for server in servers))
        finally:
            for server in servers:
                server.kill()


@dataclass
class Cluster:
    """Running servers on one database, as two entry points `a` and `b` (the same single
    process when there is only one, as on SQLite)."""

    kind: str
    servers: list[ServerProcess]

    @property
    def a(self) -> ServerProcess:
        return self.servers[0]

    @property
    def b(self) -> ServerProcess:
        return self.servers[-1]
