"""Faults: the listening connection killed, PostgreSQL restarted, a server shut down, a
writer killed between its commit and its wake-up — with writes going on — and no
connected client loses an event."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import subprocess
import tempfile
import warnings
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.realtime.conftest import SERVER_ENV
from tests.realtime.live import LiveSocket, assert_contiguous
from tests.realtime.test_sync_guarantees import write
from tests.support import ServerProcess, User, kill_listeners, metric, running, sqlalchemy_url, wait_until

pytestmark = pytest.mark.postgres


async def test_killed_listener_loses_nothing(pg_url: str, pg_admin_url: str, artifacts_dir: Path) -> None:
    servers = [
        ServerProcess({"DATABASE_URL": pg_url, **SERVER_ENV}, artifacts_dir, f"kill{i}") for i in range(2)
    ]
    async with running(*servers):
        user = User()
        async with LiveSocket(servers[1].ws_url, user, since=0) as sock:
            await write(servers[0].url, user, 5)
            await sock.wait_seq(5)
            writer = asyncio.create_task(write(servers[0].url, user, 30))
            assert await kill_listeners(pg_admin_url, pg_url) == 2
            await writer
            await sock.wait_seq(35, timeout=30)
            assert sock.close_code is None
        assert_contiguous(sock.events)


async def test_killed_redis_subscription_loses_nothing(pg_url: str, artifacts_dir: Path) -> None:
    import redis.asyncio as aioredis

    from tests.realtime.conftest import redis_url

    env = {"DATABASE_URL": pg_url, "BROADCAST_URL": redis_url(), **SERVER_ENV}
    servers = [ServerProcess(env, artifacts_dir, f"redis-kill{i}") for i in range(2)]
    async with running(*servers):
        admin = aioredis.Redis.from_url(env["BROADCAST_URL"])
        try:
            user = User()
            async with LiveSocket(servers[1].ws_url, user, since=0) as sock:
                await write(servers[0].url, user, 5)
                await sock.wait_seq(5)
                writer = asyncio.create_task(write(servers[0].url, user, 30))
                # Only our servers' subscriptions: other test runs may share this Redis.
                names = {f"tasksync-listener:{s.proc.pid}" for s in servers if s.proc}
                ours = [c for c in await admin.client_list() if c["name"] in names and int(c["sub"]) > 0]
                assert len(ours) == 1  # only server B has a subscriber (the socket)
                for client in ours:
                    await admin.client_kill_filter(_id=client["id"])
                await writer
                await sock.wait_seq(35, timeout=30)
                assert sock.close_code is None
            assert_contiguous(sock.events)
        finally:
            await admin.aclose()


@pytest.fixture
async def private_pg() -> AsyncIterator[Any]:
    """A PostgreSQL of this test's own (pgserver), so restarting it disturbs nobody."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    pgdata = Path(tempfile.mkdtemp(prefix="tasksync-pg-restart-"))
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    try:
        yield server
    finally:
        # pgserver stops only the postmaster it started itself, and the test restarts
        # it: stop whichever is running now (pg_ctl, which pgserver exports), or every
        # run would leave a PostgreSQL behind.
        with contextlib.suppress(subprocess.CalledProcessError):
            await asyncio.to_thread(
                pgserver.pg_ctl, ["-w", "-m", "fast", "stop"], pgdata=server.pgdata, user=server.system_user
            )
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)


async def test_postgres_restart_loses_nothing(private_pg: Any, artifacts_dir: Path) -> None:
    import pgserver

    url = private_pg.get_uri()
    servers = [
        ServerProcess({"DATABASE_URL": sqlalchemy_url(url), **SERVER_ENV}, artifacts_dir, f"restart{i}")
        for i in range(2)
    ]
    async with running(*servers):
        user = User()
        async with LiveSocket(servers[1].ws_url, user, since=0) as sock:
            await write(servers[0].url, user, 3)
            await sock.wait_seq(3)
            await asyncio.to_thread(
                pgserver.pg_ctl,
                ["-w", "-m", "fast", "restart"],
                pgdata=private_pg.pgdata,
                user=private_pg.system_user,
            )
            # Writes right after the restart (the pool reconnects; the listener is catching
            # up). A write on a pooled connection that died with the restart may fail.
            written = 0

            async def ten_written() -> bool:
                nonlocal written
                with contextlib.suppress(AssertionError):
                    written += len(await write(servers[0].url, user, 1))
                return written == 10

            await wait_until(ten_written, timeout=30, interval=0.1)
            await sock.wait_seq(13, timeout=30)
            assert sock.close_code is None
        assert_contiguous(sock.events)


async def test_graceful_shutdown_closes_sockets_1012(pg_url: str, artifacts_dir: Path) -> None:
    server = ServerProcess({"DATABASE_URL": pg_url, **SERVER_ENV}, artifacts_dir, "shutdown")
    user = User()
    async with (
        running(server),
        LiveSocket(server.ws_url, user) as a,
        LiveSocket(server.ws_url, user, header_auth=False) as b,
    ):
        await a.wait_for(lambda s: bool(s.frames))
        await b.wait_for(lambda s: bool(s.frames))
        code = await server.stop(signal.SIGTERM)
        assert (await a.wait_closed(), await b.wait_closed()) == (1012, 1012)
    # uvicorn re-raises the SIGTERM once its graceful shutdown is done; a hang would
    # have ended in our SIGKILL (-9) instead.
    assert code in (0, -signal.SIGTERM)


async def test_a_writer_killed_between_commit_and_wakeup_leaves_no_client_behind(
    pg_url: str, artifacts_dir: Path
) -> None:
    # Wake-ups are sent after the commit, so a writer killed in between takes them with
    # it. The injection: server A's path to the broadcast database goes silent (a
    # blackholed proxy) while its writes still commit on a path of their own, so the
    # wake-ups of its next writes are owed and never leave; then A is SIGKILLed with
    # them still owed. Every client of every process must be at head within the bound
    # docs/how-a-change-flows.md states (about a second: the recent-events sweep), not
    # at the periodic reconcile: B's and C's sockets, and A's, reconnected to B.
    from urllib.parse import urlsplit

    from tests.netcut import Netcut

    target = urlsplit(pg_url).port or 5432
    async with Netcut(target) as cut:
        parts = urlsplit(pg_url)
        broadcast = parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:{cut.port}").geturl()
        env = {**SERVER_ENV, "DATABASE_URL": pg_url}
        writer_env = {**env, "BROADCAST_URL": sqlalchemy_url(broadcast)}
        servers = [
            ServerProcess(writer_env, artifacts_dir, "killed-writer-a"),
            ServerProcess(env, artifacts_dir, "b"),
            ServerProcess(env, artifacts_dir, "c"),
        ]
        async with running(*servers):
            a, b, c = servers
            user = User()
            async with (
                LiveSocket(a.ws_url, user, since=0) as on_a,
                LiveSocket(b.ws_url, user, since=0) as on_b,
                LiveSocket(c.ws_url, user, since=0) as on_c,
            ):
                await write(a.url, user, 2)
                for sock in (on_a, on_b, on_c):
                    await sock.wait_seq(2)  # the wake-ups pass while the path is open
                await cut.blackhole()
                await write(a.url, user, 3)  # committed; their wake-ups owed
                a.kill()
                await on_a.wait_closed()
                # The fault is the kill: from here the other processes' clients must
                # reach head (seq 5) within 6 s, the sweep running every second; A's
                # client, back on B, gets there on its own replay.
                await asyncio.gather(*(s.wait_seq(5, timeout=6) for s in (on_b, on_c)))
                async with LiveSocket(b.ws_url, user, since=on_a.last_seq) as back:
                    await back.wait_seq(5, timeout=6)
                for sock in (on_b, on_c):
                    assert sock.close_code is None
                    assert_contiguous(sock.events)
                assert_contiguous(on_a.events + back.events)
                swept = [await metric(s.url, "tasksync_swept_feeds_total") for s in (b, c)]
    assert all(n >= 1 for n in swept), f"a socket was woken by something else than the sweep: {swept}"
