"""Debian's HAProxy as a subprocess (not the system service), running tests/hosts/haproxy.cfg
with the addresses in its environment, and its runtime API over the stats socket."""

from __future__ import annotations

import asyncio
import contextlib
import csv
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from tests.hosts.balancers import Processes, wait_serving
from tests.support import free_port, wait_until

CONFIG = Path(__file__).with_name("haproxy.cfg")
# The HAProxy processes this run started; their pids are kept for the next run to stop
# what a run killed outright left behind (checked against their command line first).
PROCESSES = Processes(
    Path(tempfile.gettempdir()) / "tasksync-hosts-haproxy.pids",
    lambda cmdline: cmdline[:1] == [b"haproxy"] and str(CONFIG).encode() in cmdline,
)
kill_leftovers = PROCESSES.kill_leftovers


class HAProxy:
    """`start()`, `reload()` (a new process takes over, as `systemctl reload` does),
    `stop()`; `state()` and `set_state()` speak to the runtime API."""

    def __init__(
        self,
        hosts: dict[str, str],
        run_dir: Path,
        *,
        extra_configs: tuple[Path, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        """`extra_configs` are read after haproxy.cfg (more frontends, say), with `env`
        added to the environment they take their values from."""
        self.port = free_port()
        self.run_dir = run_dir
        run_dir.mkdir(parents=True, exist_ok=True)
        self.socket = run_dir / "haproxy-admin.sock"
        self.extra_configs = extra_configs
        self.env = {
            **os.environ,
            "TASKSYNC_LB_BIND": f"127.0.0.1:{self.port}",
            "TASKSYNC_LB_ADMIN_SOCKET": str(self.socket),
            **{f"TASKSYNC_{name.upper()}": address for name, address in hosts.items()},
            **(env or {}),
        }
        self.hosts = list(hosts)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = run_dir / "haproxy.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/api/ws"

    def _spawn(self, *extra: str) -> subprocess.Popen[bytes]:
        configs = [arg for path in self.extra_configs for arg in ("-f", str(path))]
        with self.log_path.open("ab") as log:
            proc = subprocess.Popen(
                ["haproxy", "-db", "-f", str(CONFIG), *configs, *extra],
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        PROCESSES.started(proc)
        return proc

    async def start(self) -> None:
        self.proc = self._spawn()
        await wait_serving(self.proc, self.url, "haproxy", self.log)

    async def reload(self) -> None:
        """Start a new process that takes the port over; the old one finishes what it holds
        (at most `hard-stop-after`) and exits."""
        old = self.proc
        assert old is not None
        self.proc = self._spawn("-sf", str(old.pid))
        await wait_serving(self.proc, self.url, "haproxy", self.log)
        deadline = time.monotonic() + 15
        while old.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        PROCESSES.kill(old)

    async def stop(self, sig: int = signal.SIGTERM) -> None:
        proc = self.proc
        if proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
        deadline = time.monotonic() + 10
        while proc.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        PROCESSES.kill(proc)

    def kill(self) -> None:
        if self.proc is not None:
            PROCESSES.kill(self.proc)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:]

    # -- the runtime API --------------------------------------------------------------

    async def command(self, line: str) -> str:
        reader, writer = await asyncio.open_unix_connection(str(self.socket))
        try:
            writer.write(line.encode() + b"\n")
            await writer.drain()
            return (await reader.read()).decode()
        finally:
            writer.close()

    async def state(self) -> dict[str, dict[str, str]]:
        """Per host, its row of `show stat` (status: UP, DOWN, DRAIN, MAINT, ...)."""
        text = await self.command("show stat")
        rows = csv.DictReader(text.lstrip("# ").splitlines())
        return {
            row["svname"]: row for row in rows if row["pxname"] == "hosts" and row["svname"] in self.hosts
        }

    async def set_state(self, host: str, state: str) -> None:
        """`ready`, `drain` or `maint`."""
        answer = await self.command(f"set server hosts/{host} state {state}")
        assert not answer.strip(), answer

    async def wait_status(self, host: str, *statuses: str, timeout: float = 30.0) -> float:
        """Wait until HAProxy reports `host` in one of `statuses`; returns the seconds it took."""
        started = time.monotonic()
        seen: list[str] = []

        async def reached() -> bool:
            seen.append((await self.state())[host]["status"])
            return seen[-1] in statuses

        await wait_until(reached, timeout=timeout, interval=0.1, message=lambda: f"{host} is {seen[-1:]}")
        return time.monotonic() - started

    async def sessions(self, host: str) -> int:
        """Sessions HAProxy has sent to `host` so far."""
        return int((await self.state())[host]["stot"])
