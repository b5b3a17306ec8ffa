"""What the HAProxy and nginx runners share: keeping track of the load-balancer
processes a run starts (each in its own process group), so that they are killed at exit
and a run killed outright leaves the next one a pid file to clean up after it; and the
wait until a freshly started one forwards `/readyz`."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx

from tests.support import wait_until


class Processes:
    """The processes of one kind a run started. `ours(cmdline)` tells, for a pid found in
    the file of a killed run, whether it is still one of ours (pids are reused)."""

    def __init__(self, pid_file: Path, ours: Callable[[list[bytes]], bool]) -> None:
        self.pid_file = pid_file
        self.ours = ours
        self.running: set[subprocess.Popen[bytes]] = set()
        atexit.register(self.kill_all)

    def started(self, proc: subprocess.Popen[bytes]) -> None:
        self.running.add(proc)
        with self.pid_file.open("a") as pids:
            pids.write(f"{proc.pid}\n")

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """Kill `proc` and its process group (workers may outlive a master killed outright)."""
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        self.running.discard(proc)

    def kill_all(self) -> None:
        for proc in list(self.running):
            self.kill(proc)

    def kill_leftovers(self) -> None:
        """Kill what an earlier run left (by the pids it recorded, if still ours)."""
        if self.pid_file.exists():
            for pid in {int(line) for line in self.pid_file.read_text().split()}:
                try:
                    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
                except OSError:
                    continue
                if self.ours(cmdline):
                    with contextlib.suppress(ProcessLookupError, PermissionError):
                        os.killpg(pid, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)


async def wait_serving(proc: subprocess.Popen[bytes], url: str, name: str, log: Callable[[], str]) -> None:
    """Wait until the load balancer at `url` forwards `/readyz` with a 200."""

    async def serving() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{name} exited; log:\n{log()}")
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(f"{url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    await wait_until(serving, timeout=20, interval=0.1, message=log)
