"""Unplanned faults behind HAProxy: a host killed with SIGKILL, and a host cut off from
PostgreSQL. Writes and live clients of every transport run throughout, through HAProxy
only; the clients of the lost host are live again through the others, and every client
ends with exactly the events 1..N."""

from __future__ import annotations

import time

import httpx
import pytest

from server.realtime.fanout import STREAMS_END_AFTER_LISTENER_LOST_SECONDS
from tests.hosts.conftest import Topology
from tests.hosts.load import load
from tests.hosts.topology import wait_ready
from tests.support import User, metric, wait_until

pytestmark = pytest.mark.slow

# The issue's target is 5 s back live; the tests' bounds stay generous (a loaded CI
# machine), and the measured figures are printed (and kept in docs/deployment.md).
BACK_LIVE_BOUND = 15.0
TRANSPORTS = ("ws", "sse", "poll")


async def open_streams(url: str, transports: tuple[str, ...] = TRANSPORTS) -> int:
    return sum([int(await metric(url, "tasksync_open_streams", transport=t)) for t in transports])


def summary(figures: list[tuple[str, float]]) -> str:
    return ", ".join(f"{name} {seconds:.2f} s" for name, seconds in figures)


async def test_a_killed_host_s_clients_are_back_live_through_the_others(topology: Topology) -> None:
    lb, victim = topology.lb, topology.hosts[0]
    async with load(lb.url, User()) as running:
        await running.progress()
        # Connected sockets and SSE streams drop with the host; a parked long-poll may be
        # answered by HAProxy's retry elsewhere without its client noticing.
        dropping = await open_streams(victim.process.url, ("ws", "sse"))
        assert await open_streams(victim.process.url) > 0, "no stream went to the host about to be killed"
        killed = time.monotonic()
        victim.process.kill()  # SIGKILL: no drain, no 1012, its connections just break
        # Everyone live again well after the kill: those of the killed host have reconnected.
        await running.all_live_after(killed + 1, timeout=BACK_LIVE_BOUND)
        figures = running.back_live(killed)
        assert len(figures) >= dropping, (figures, dropping)
        worst = max(seconds for _, seconds in figures)
        assert worst < BACK_LIVE_BOUND, figures
        await lb.wait_status(victim.name, "DOWN")
        marked_down = time.monotonic() - killed
        last = await running.finish()
        running.assert_exact(last)
        print(
            f"\nkill -9: {len(figures)} clients dropped, back live after at most {worst:.2f} s "
            f"({summary(figures)}); HAProxy had it down by {marked_down:.1f} s; {last} writes, "
            f"{len(running.writer.failed_attempts)} attempts retried"
        )


async def test_a_host_cut_off_from_postgres_is_taken_out_and_rejoins(topology: Topology) -> None:
    lb, victim = topology.lb, topology.hosts[1]
    async with load(lb.url, User()) as running:
        await running.progress()
        dropping = await open_streams(victim.process.url, ("ws", "sse"))
        assert await open_streams(victim.process.url) > 0, "no stream went to the host about to be cut off"
        cut = time.monotonic()
        await victim.db.refuse()
        unready = await wait_ready(victim, ready=False, timeout=10)
        async with httpx.AsyncClient() as direct:
            why = (await direct.get(f"{victim.process.url}/readyz")).json()["detail"]
        assert "database" in why or "listener" in why, why
        await lb.wait_status(victim.name, "DOWN", timeout=10)
        taken_out = time.monotonic() - cut
        # Its streams are ended, not left open and silent, and resume through the others.
        await wait_until(lambda: _none_open(victim.process.url), timeout=BACK_LIVE_BOUND)
        ended = time.monotonic() - cut
        await running.all_live_after(cut + STREAMS_END_AFTER_LISTENER_LOST_SECONDS + 1, BACK_LIVE_BOUND)
        figures = running.back_live(cut)
        assert len(figures) >= dropping, (figures, dropping)
        worst = max(seconds for _, seconds in figures)
        assert worst < BACK_LIVE_BOUND, figures
        sockets = [reader for reader in running.readers if reader.name.startswith("ws")]
        ws_closes = [why for reader in sockets for at, why in reader.drops if at >= cut]
        assert set(ws_closes) <= {"closed 1012"}, ws_closes

        healed = time.monotonic()
        await victim.db.restore()
        await lb.wait_status(victim.name, "UP", timeout=30)
        rejoined = time.monotonic() - healed
        served = await lb.sessions(victim.name)
        async with httpx.AsyncClient(base_url=lb.url, headers=running.writer.user.headers) as fresh:
            for _ in range(6):
                assert (await fresh.get("/api/tasks", headers={"Connection": "close"})).status_code == 200
        assert await lb.sessions(victim.name) > served, "the healed host serves nothing"
        last = await running.finish()
        running.assert_exact(last)
        print(
            f"\ndatabase cut: /readyz 503 after {unready:.2f} s, out of HAProxy after {taken_out:.2f} s, "
            f"its streams ended after {ended:.2f} s; {len(figures)} clients dropped, back live after "
            f"at most {worst:.2f} s ({summary(figures)}); up again {rejoined:.2f} s after the heal; "
            f"{last} writes, {len(running.writer.failed_attempts)} attempts retried"
        )


async def _none_open(url: str) -> bool:
    return await open_streams(url) == 0
