"""Debian's nginx as a subprocess (not the system service), running tests/hosts/nginx.conf
with its ${TASKSYNC_...} placeholders filled in, as envsubst would (nginx reads no
environment)."""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from tests.support import free_port, wait_until

CONFIG = Path(__file__).with_name("nginx.conf")
RENDERED_NAME = "tasksync-nginx.conf"
# The process groups of the nginx masters this run started, for the next run to stop
# what a killed run left behind (checked against their command line first).
PIDS = Path(tempfile.gettempdir()) / "tasksync-hosts-nginx.pids"
_RUNNING: set[subprocess.Popen[bytes]] = set()


def installed() -> bool:
    return shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()


def render(values: dict[str, str]) -> str:
    """The configuration with every ${NAME} replaced (a name without a value is an error)."""
    return re.sub(r"\$\{(TASKSYNC_[A-Z0-9_]+)\}", lambda match: values[match[1]], CONFIG.read_text())


def _ours(pid: int) -> bool:
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"nginx" in command and RENDERED_NAME.encode() in command


def _killpg(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    # Workers of a master killed outright may outlive it, in its process group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    _RUNNING.discard(proc)


def kill_leftovers() -> None:
    if PIDS.exists():
        for pid in {int(line) for line in PIDS.read_text().split()}:
            if _ours(pid):
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
    PIDS.unlink(missing_ok=True)


@atexit.register
def _kill_running() -> None:
    for proc in list(_RUNNING):
        _killpg(proc)


class Nginx:
    def __init__(self, hosts: dict[str, str], run_dir: Path) -> None:
        self.port = free_port()
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self.config = run_dir / RENDERED_NAME
        self.config.write_text(
            render(
                {
                    "TASKSYNC_LB_BIND": f"127.0.0.1:{self.port}",
                    "TASKSYNC_LB_RUN_DIR": str(run_dir),
                    **{f"TASKSYNC_{name.upper()}": address for name, address in hosts.items()},
                }
            )
        )
        self.log_path = run_dir / "nginx-error.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/ws"

    def _command(self, *extra: str) -> list[str]:
        startup_log = str(self.run_dir / "nginx-startup.log")
        return ["nginx", "-e", startup_log, "-p", str(self.run_dir), "-c", str(self.config), *extra]

    def check(self) -> None:
        """`nginx -t`: the rendered file is a valid configuration."""
        result = subprocess.run(self._command("-t"), capture_output=True, text=True, timeout=20)
        assert result.returncode == 0, result.stderr

    async def start(self) -> None:
        with (self.run_dir / "nginx-stdout.log").open("ab") as out:
            self.proc = subprocess.Popen(
                self._command("-g", "daemon off;"),
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _RUNNING.add(self.proc)
        with PIDS.open("a") as pids:
            pids.write(f"{self.proc.pid}\n")

        async def serving() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited; log:\n{self.log()}")
            try:
                async with httpx.AsyncClient(timeout=2) as client:
                    return (await client.get(f"{self.url}/readyz")).status_code == 200
            except httpx.HTTPError:
                return False

        await wait_until(serving, timeout=20, interval=0.1, message=self.log)

    async def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGQUIT)  # graceful: workers finish, at most worker_shutdown_timeout
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        _killpg(proc)

    def kill(self) -> None:
        if self.proc is not None:
            _killpg(self.proc)

    def log(self) -> str:
        parts = [self.run_dir / "nginx-startup.log", self.log_path, self.run_dir / "nginx-stdout.log"]
        return "\n".join(path.read_text(errors="replace")[-2000:] for path in parts if path.exists())
