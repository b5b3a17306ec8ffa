"""The topology of tests/hosts: three namespaced hosts, one forwarder each to PostgreSQL,
HAProxy in front. Built once per test module on its own database, torn down whatever
happens (and a crashed run's leftovers removed first); each test starts from a healthy
topology (every host up in HAProxy, every database link restored)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.hosts.haproxy import HAProxy, kill_leftovers
from tests.hosts.topology import (
    BRIDGE_ADDRESS,
    HOST_PORT,
    Host,
    HostProcess,
    Network,
    machine_lock,
    require_prerequisites,
)
from tests.netcut import Netcut
from tests.support import running, sqlalchemy_url

HOSTS = 3


@dataclass
class Topology:
    hosts: list[Host]
    lb: HAProxy

    async def heal(self) -> None:
        """Every host serving and up in HAProxy again, whatever the last test left."""
        if self.lb.proc is None or self.lb.proc.poll() is not None:
            await self.lb.start()
        for host in self.hosts:
            await host.db.restore()
            if not host.process.alive:
                await host.restart()
            await self.lb.set_state(host.name, "ready")
        for host in self.hosts:
            await self.lb.wait_status(host.name, "UP")


def _through(pg_url: str, port: int) -> str:
    parts = urlsplit(pg_url)
    return sqlalchemy_url(
        parts._replace(netloc=f"{parts.username or 'postgres'}@{BRIDGE_ADDRESS}:{port}").geturl()
    )


@pytest.fixture(scope="module")
async def built(pg_url: str, artifacts_dir: Path) -> AsyncIterator[Topology]:
    require_prerequisites()
    run_dir = Path(tempfile.mkdtemp(prefix="hosts-", dir=artifacts_dir))
    network = Network(HOSTS)
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(machine_lock())
        kill_leftovers()
        # Torn down whatever happens, last (the exit stack unwinds in reverse): HAProxy,
        # the hosts, their forwarders, then the namespaces and the bridge.
        stack.callback(network.close)
        network.create()
        hosts = []
        for n, (netns, address) in enumerate(zip(network.names, network.addresses, strict=True), 1):
            cut = await stack.enter_async_context(
                Netcut(urlsplit(pg_url).port or 5432, listen_host=BRIDGE_ADDRESS)
            )
            env = {
                "DATABASE_URL": _through(pg_url, cut.port),
                "LOG_LEVEL": "info",
                "DB_POOL_SIZE": "5",
                "DB_MAX_OVERFLOW": "5",
            }
            hosts.append(
                Host(f"host{n}", netns, address, cut, HostProcess(netns, address, env, run_dir, f"host{n}"))
            )
        await stack.enter_async_context(running(*(host.process for host in hosts)))
        lb = HAProxy({host.name: f"{host.address}:{HOST_PORT}" for host in hosts}, run_dir)
        stack.callback(lb.kill)
        await lb.start()
        topology = Topology(hosts, lb)
        await topology.heal()
        yield topology


@pytest.fixture
async def topology(built: Topology) -> Topology:
    await built.heal()
    return built
