"""The network of `python -m bench.hundred_k`: network namespaces on a private bridge,
one per server host, one for the HAProxy processes, one for the load generator.

    root namespace                    namespaces
    tsb-br0 10.232.0.1/24  <-veth->   tsb-lb  10.232.0.2  HAProxy processes, ports 9001…
                           <-veth->   tsb-cl  10.232.0.3  load-generator processes
                           <-veth->   tsb-sN  10.232.0.(10+N)  one server process on :8000

The same pattern as tests/hosts/topology.py (copied, not imported: bench/ does not import
the tests), with its own prefix and subnet so the two never touch each other's links.
Every namespace but the servers' gets the whole port range (1024–65535): 100,000 client
connections, and 100,000 more from HAProxy to the servers, need more ephemeral ports
than one address's default range. Sysctls in a namespace are its own, so the root
namespace (and whatever else runs on the machine) keeps its settings. The servers reach
PostgreSQL through its Unix socket, which a network namespace does not hide.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess

PREFIX = "tsb"
BRIDGE = f"{PREFIX}-br0"
SUBNET = "10.232.0"
BRIDGE_ADDRESS = f"{SUBNET}.1"
LB_NETNS, LB_ADDRESS = f"{PREFIX}-lb", f"{SUBNET}.2"
CLIENT_NETNS, CLIENT_ADDRESS = f"{PREFIX}-cl", f"{SUBNET}.3"
SERVER_PORT = 8000
# Per namespace: a full ephemeral range, and a listen backlog for a reconnect storm.
SYSCTLS = {"net.ipv4.ip_local_port_range": "1024 65535", "net.core.somaxconn": "8192"}


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], check=check, capture_output=True, text=True, timeout=10)


def missing_prerequisite() -> str | None:
    """What this machine lacks for the benchmark (None: nothing)."""
    if os.geteuid() != 0:
        return "bench.hundred_k needs root (network namespaces)"
    for tool, package in (("ip", "iproute2"), ("haproxy", "haproxy")):
        if shutil.which(tool) is None:
            return f"`{tool}` is missing: apt-get install {package}"
    return None


def server_address(n: int) -> str:
    return f"{SUBNET}.{10 + n}"


def in_netns(netns: str, argv: list[str]) -> list[str]:
    """`argv` run inside `netns` (`ip netns exec` execs it: the pid is the command's)."""
    return ["ip", "netns", "exec", netns, *argv]


def remove_leftovers() -> None:
    """Remove this benchmark's namespaces (killing what runs in them) and links."""
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


class Network:
    """The bridge, the HAProxy and client namespaces and `servers` server namespaces."""

    def __init__(self, servers: int) -> None:
        self.servers = [(f"{PREFIX}-s{n}", server_address(n)) for n in range(1, servers + 1)]

    def create(self) -> None:
        remove_leftovers()
        busy = ip("route", "show", f"{SUBNET}.0/24").stdout.strip()
        if busy:
            raise RuntimeError(f"{SUBNET}.0/24 is already routed on this machine: {busy}")
        try:
            ip("link", "add", BRIDGE, "type", "bridge")
            ip("addr", "add", f"{BRIDGE_ADDRESS}/24", "dev", BRIDGE)
            ip("link", "set", BRIDGE, "up")
            for netns, address in [(LB_NETNS, LB_ADDRESS), (CLIENT_NETNS, CLIENT_ADDRESS), *self.servers]:
                self._namespace(netns, address)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def _namespace(netns: str, address: str) -> None:
        ip("netns", "add", netns)
        ip("link", "add", netns, "type", "veth", "peer", "name", f"{netns}p", "netns", netns)
        ip("link", "set", netns, "master", BRIDGE, "up")
        ip("-n", netns, "addr", "add", f"{address}/24", "dev", f"{netns}p")
        ip("-n", netns, "link", "set", f"{netns}p", "up")
        ip("-n", netns, "link", "set", "lo", "up")
        for key, value in SYSCTLS.items():
            subprocess.run(
                in_netns(netns, ["sysctl", "-q", "-w", f"{key}={value}"]),
                check=True, capture_output=True, timeout=10,
            )  # fmt: skip

    def close(self) -> None:
        remove_leftovers()
