"""Planned restarts behind HAProxy: every host in turn, then HAProxy itself. Writes and
live clients of every transport run throughout, through HAProxy only, and each client
ends with exactly the events 1..N."""

from __future__ import annotations

import signal
import time

import pytest

from tests.hosts.conftest import Topology
from tests.hosts.load import load
from tests.support import User, wait_until

pytestmark = pytest.mark.slow


async def test_a_rolling_restart_fails_no_request_and_loses_no_event(topology: Topology) -> None:
    lb = topology.lb
    async with load(lb.url, User()) as running:
        for host in topology.hosts:
            await running.progress()
            await lb.set_state(host.name, "drain")
            await lb.wait_status(host.name, "DRAIN")
            # uvicorn ends a clean shutdown by re-raising the signal it caught.
            assert await host.process.stop() in (0, -signal.SIGTERM), host.process.log()
            await host.process.start()
            await lb.set_state(host.name, "ready")
            await lb.wait_status(host.name, "UP")
        last = await running.finish()
        running.assert_exact(last)
        # Nothing the writer saw needed a retry: drained hosts got no new requests, and the
        # load balancer retried the connections a stopping host refused.
        assert running.writer.failed_attempts == []
        closes = [why for reader in running.readers for _, why in reader.drops]
        assert "closed 1012" in closes, closes
        print(f"rolling restart: {last} writes; drops seen by clients: {closes}")


async def test_clients_resume_after_haproxy_restarts(topology: Topology) -> None:
    lb = topology.lb
    async with load(lb.url, User()) as running:
        await running.progress()
        stopped = time.monotonic()
        await lb.stop()
        await wait_until(lambda: not any(r.connected for r in running.readers), message="still connected")
        await lb.start()
        await running.wait_connected()
        await wait_until(lambda: all(r.first_event_after(stopped) for r in running.readers))
        back = max(t for _, t in running.back_live(stopped))
        # A reload hands the port to a new process; the old one's streams are cut at
        # hard-stop-after and reconnect through the new one.
        reloaded = time.monotonic()
        await lb.reload()
        old_gone = time.monotonic()
        await running.all_live_after(old_gone, timeout=15)
        cut = [r.name for r in running.readers if r.drop_after(reloaded)]
        assert any(name.startswith("ws") for name in cut), cut
        last = await running.finish()
        running.assert_exact(last)
        print(
            f"\nhaproxy restart: every client live again {back:.2f} s after the stop; reload: old "
            f"process gone after {old_gone - reloaded:.1f} s, {cut} reconnected; {last} writes"
        )
