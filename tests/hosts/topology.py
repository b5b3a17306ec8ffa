"""Three server "hosts" on one machine: Linux network namespaces on a private bridge.

    root namespace                      namespace tsh-hN (N = 1, 2, 3)
    tsh-br0 10.231.0.1/24  <-- veth -->  tsh-hNp 10.231.0.1N/24: python -m server serve
      HAProxy 127.0.0.1:<port> -> 10.231.0.1N:8000
      one Netcut per host 10.231.0.1:<port> -> PostgreSQL 127.0.0.1:5432

Each host reaches PostgreSQL only through its own forwarder, so `host.db.refuse()`
partitions exactly that host from the database. Every name made here starts with `tsh`
(Tasksync hosts), and `remove_leftovers()` clears what a crashed run left behind by
that prefix; only addresses of this private subnet are ever traffic targets.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.netcut import Netcut
from tests.support import (
    ServerProcess,
    skip_or_fail,
    wait_until,
)

PREFIX = "tsh"
BRIDGE = f"{PREFIX}-br0"
SUBNET = "10.231.0"
BRIDGE_ADDRESS = f"{SUBNET}.1"
HOST_PORT = 8000


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=10)


def missing_prerequisite() -> str | None:
    """What this machine lacks to build the topology (None: nothing)."""
    if os.geteuid() != 0:
        return "the multi-host tests need root (network namespaces)"
    for tool, package in (("ip", "iproute2"), ("haproxy", "haproxy")):
        if shutil.which(tool) is None:
            return f"`{tool}` is missing: apt-get install {package} (make pytest installs it as root)"
    return None


def require_prerequisites() -> None:
    problem = missing_prerequisite()
    if problem:
        skip_or_fail(problem)


# One topology on a machine at a time: its names and subnet are fixed, so a second test
# run (another `make test` in another checkout, say) waits for the first to finish with
# it instead of tearing it down as "leftovers". The kernel drops the lock of a run that
# died, whose leftovers are then fair game.
LOCK = Path(tempfile.gettempdir()) / "tasksync-hosts.lock"
LOCK_WAIT_SECONDS = 600.0


@contextlib.asynccontextmanager
async def machine_lock() -> AsyncIterator[None]:
    with LOCK.open("a") as handle:
        deadline = time.monotonic() + LOCK_WAIT_SECONDS
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"another test run held {LOCK} for {LOCK_WAIT_SECONDS:g} s") from None
                await asyncio.sleep(0.5)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_leftovers() -> None:
    """Remove namespaces (and the processes in them) and links of an earlier run (call it
    holding `machine_lock()`)."""
    for line in ip("netns", "list").stdout.splitlines():
        name = line.split()[0] if line.strip() else ""
        if name.startswith(f"{PREFIX}-"):
            for pid in ip("netns", "pids", name, check=False).stdout.split():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(int(pid), signal.SIGKILL)
            ip("netns", "del", name, check=False)
    for line in ip("-o", "link", "show").stdout.splitlines():
        name = line.split(":")[1].strip().split("@")[0]
        if name.startswith(f"{PREFIX}-"):
            ip("link", "del", name, check=False)


class HostProcess(ServerProcess):
    """`python -m server serve` inside a network namespace, on the host's own address.

    Stopped like every ServerProcess (its own process group; SIGTERM, then SIGKILL; and
    the session's leftover-server net): `ip netns exec` execs the server itself."""

    def __init__(self, netns: str, address: str, env: dict[str, str], log_dir: Path, name: str) -> None:
        super().__init__({**env, "HOST": address, "PORT": str(HOST_PORT)}, log_dir, name)
        self.netns = netns
        self.address = address
        self.port = HOST_PORT
        self.log_path = log_dir / f"{name}.log"

    @property
    def url(self) -> str:
        return f"http://{self.address}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.address}:{self.port}/api/ws"

    def command(self) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *super().command()]


@dataclass
class Host:
    name: str  # as HAProxy knows it: host1, host2, host3
    netns: str
    address: str
    db: Netcut  # this host's only way to PostgreSQL
    process: HostProcess

    async def ready(self) -> bool:
        """Whether the host's own /readyz says 200 now (asked directly, not through HAProxy)."""
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(f"{self.process.url}/readyz")).status_code == 200
        except httpx.HTTPError:
            return False

    async def restart(self) -> None:
        """A new server process on the same address (the last one must have exited)."""
        self.process.kill()
        await self.process.start()


class Network:
    """The bridge and one namespace per host; `close()` removes all of it."""

    def __init__(self, hosts: int) -> None:
        self.names = [f"{PREFIX}-h{n}" for n in range(1, hosts + 1)]
        self.addresses = [f"{SUBNET}.{10 + n}" for n in range(1, hosts + 1)]

    def create(self) -> None:
        remove_leftovers()
        busy = ip("route", "show", f"{SUBNET}.0/24").stdout.strip()
        if busy:
            raise RuntimeError(f"{SUBNET}.0/24 is already routed on this machine: {busy}")
        try:
            ip("link", "add", BRIDGE, "type", "bridge")
            ip("addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE)
            ip("link", "set", BRIDGE, "up")
            for netns, address in zip(self.names, self.addresses, strict=True):
                ip("netns", "add", netns)
                ip("link", "add", netns, "type", "veth", "peer", "name", f"{netns}p", "netns", netns)
                ip("link", "set", netns, "master", BRIDGE, "up")
                ip("-n", netns, "addr", "add", f"{address}/24", "dev", f"{netns}p")
                ip("-n", netns, "link", "set", f"{netns}p", "up")
                ip("-n", netns, "link", "set", "lo", "up")
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        remove_leftovers()


async def wait_ready(host: Host, ready: bool = True, timeout: float = 30.0) -> float:
    """Wait until the host's /readyz says `ready` (or not); returns the seconds it took."""
    started = time.monotonic()

    async def reached() -> bool:
        return await host.ready() is ready

    await wait_until(
        reached,
        timeout=timeout,
        interval=0.1,
        message=lambda: f"{host.name} ready={not ready}; log:\n{host.process.log()}",
    )
    return time.monotonic() - started
