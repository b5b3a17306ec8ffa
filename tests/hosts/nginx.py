"""Debian's nginx as a subprocess (not the system service), running tests/hosts/nginx.conf
with its ${TASKSYNC_...} placeholders filled in, as envsubst would (nginx reads no
environment)."""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.hosts.balancers import Processes, wait_serving
from tests.support import free_port

CONFIG = Path(__file__).with_name("nginx.conf")
RENDERED_NAME = "tasksync-nginx.conf"


def installed() -> bool:
    return shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()


def render(values: dict[str, str]) -> str:
    """The configuration with every ${NAME} replaced (a name without a value is an error)."""
    return re.sub(r"\$\{(TASKSYNC_[A-Z0-9_]+)\}", lambda match: values[match[1]], CONFIG.read_text())


# The nginx masters this run started (with their workers, in their process groups);
# their pids are kept for the next run to stop what a killed run left behind.
PROCESSES = Processes(
    Path(tempfile.gettempdir()) / "tasksync-hosts-nginx.pids",
    lambda cmdline: (
        any(b"nginx" in part for part in cmdline) and any(RENDERED_NAME.encode() in part for part in cmdline)
    ),
)
kill_leftovers = PROCESSES.kill_leftovers


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
        PROCESSES.started(self.proc)
        await wait_serving(self.proc, self.url, "nginx", self.log)

    async def stop(self) -> None:
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGQUIT)  # graceful: workers finish, at most worker_shutdown_timeout
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        PROCESSES.kill(proc)

    def kill(self) -> None:
        if self.proc is not None:
            PROCESSES.kill(self.proc)

    def log(self) -> str:
        parts = [self.run_dir / "nginx-startup.log", self.log_path, self.run_dir / "nginx-stdout.log"]
        return "\n".join(path.read_text(errors="replace")[-2000:] for path in parts if path.exists())
