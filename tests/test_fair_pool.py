"""Connections are handed out in the order they were asked for: under load no request
waits behind others that arrived after it (the benchmark's latency tail, before)."""

from __future__ import annotations

import asyncio
import itertools
import socket

import asyncpg
import pytest

from server.db.fair_pool import FairPool

pytestmark = pytest.mark.postgres


async def test_no_request_is_served_before_one_that_asked_earlier(pg_url: str) -> None:
    # 40 requests at a time on 2 connections, each asking again as soon as it is done:
    # on asyncpg's pool alone, about three in four are overtaken by a later one.
    pool = await asyncpg.create_pool(pg_url, min_size=2, max_size=2)
    try:
        fair = FairPool(pool)
        tickets = itertools.count()
        served: list[int] = []

        async def client() -> None:
            for _ in range(10):
                ticket = next(tickets)
                raw = await fair.acquire()
                served.append(ticket)
                await raw.fetchval("SELECT 1")
                await fair.release(raw)

        await asyncio.gather(*(client() for _ in range(40)))
        assert len(served) == 400
        assert served == sorted(served)
    finally:
        await pool.close()


async def test_a_failed_connect_gives_its_place_back() -> None:
    with socket.socket() as probe:  # a port nothing listens on: every connect is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pool = await asyncpg.create_pool(f"postgresql://postgres@127.0.0.1:{port}/x", min_size=0, max_size=1)
    try:
        fair = FairPool(pool)
        for _ in range(3):  # with the place lost, the second attempt would wait for ever
            with pytest.raises(OSError):
                await asyncio.wait_for(fair.acquire(), 5)
    finally:
        pool.terminate()
