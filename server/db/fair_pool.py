"""The asyncpg pool behind a first-come, first-served gate.

asyncpg's pool hands out connections through an `asyncio.Queue`, which lets a newcomer
barge: a connection released while others wait goes to whichever `acquire` runs first,
and a woken waiter that lost the race goes back to the *end* of the line
(MagicStack/asyncpg#1247). Under load most requests get a connection at once and a
few wait for ever: in the REST read benchmark (100 connections, a pool of 30) the
pool wait was 0.01 ms at the median and 100-390 ms at p99, up to 1.7 s — the whole
latency tail of the request.

`FairPool` puts a semaphore of the pool's size in front of it: `asyncio.Semaphore` is
fair (a release hands its slot to the longest waiter, and newcomers queue behind
waiters), and with no more holders than connections, the pool's own queue never
has to choose. A wrapper over the pool's public `acquire`/`release`, nothing else.
"""

from __future__ import annotations

import asyncio

import asyncpg


class FairPool:
    """`acquire`/`release` of an asyncpg pool, in the order they were asked for."""

    __slots__ = ("_gate", "pool")

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._gate = asyncio.Semaphore(pool.get_max_size())

    @property
    def max_size(self) -> int:
        size: int = self.pool.get_max_size()
        return size

    async def acquire(self) -> asyncpg.Connection:
        await self._gate.acquire()
        try:
            raw: asyncpg.Connection = await self.pool.acquire()
        except BaseException:
            self._gate.release()
            raise
        return raw

    async def release(self, raw: asyncpg.Connection) -> None:
        try:
            await self.pool.release(raw)
        finally:
            self._gate.release()
