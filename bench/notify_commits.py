"""`python -m bench.notify_commits` — what a NOTIFY inside the write transaction costs the
database, against the server's way: wake-ups sent after the commit, coalesced.

Many writers (asyncpg connections, default 40) each commit one-`INSERT` transactions
into a table of their own for a few seconds, four ways, interleaved round by round:

* `plain`: the `INSERT` alone — the database's own commit rate, the ceiling;
* `notify inside`: the `INSERT` and a `pg_notify` in the same transaction — what the
  server did before: every such commit takes PostgreSQL's one notification lock,
  held through the WAL flush (`src/backend/commands/async.c`);
* `notify after, each`: the `INSERT` commits, then a `pg_notify` of its own;
* `notify after, coalesced`: the `INSERT` commits and its wake-up is owed; one sender
  (as `server.realtime.wakeups` is, per process) sends all that is owed in one
  `SELECT pg_notify(c, p) FROM unnest(...)`, whatever came meanwhile in the next.

A listener on the channels makes the NOTIFYs real work for the queue. Figures are
commits/s, and each way's ratio to `plain` in the same round.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

import asyncpg

_TABLE = "bench_notify_commits"
_INSERT = f"INSERT INTO {_TABLE} (writer, body) VALUES ($1, $2)"
_NOTIFY = "SELECT pg_notify($1, $2)"
_NOTIFY_MANY = "SELECT pg_notify(c, p) FROM unnest($1::text[], $2::text[]) AS t(c, p)"
_BODY = '{"type":"task.created","task":{"title":"Buy milk"}}'
_CHANNELS = 64


class Coalescer:
    """One sender per process: what is owed while a batch is out goes in the next."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self._conn = conn
        self._owed: dict[str, str] = {}
        self._ready = asyncio.Event()
        self.batches = 0

    def owe(self, channel: str, payload: str) -> None:
        self._owed[channel] = payload
        self._ready.set()

    async def run(self) -> None:
        while True:
            await self._ready.wait()
            self._ready.clear()
            batch, self._owed = self._owed, {}
            if batch:
                await self._conn.execute(_NOTIFY_MANY, list(batch), list(batch.values()))
                self.batches += 1


Way = Callable[[asyncpg.Connection, int, int], Awaitable[None]]


async def _plain(conn: asyncpg.Connection, writer: int, n: int) -> None:
    async with conn.transaction():
        await conn.execute(_INSERT, writer, _BODY)


async def _inside(conn: asyncpg.Connection, writer: int, n: int) -> None:
    async with conn.transaction():
        await conn.execute(_INSERT, writer, _BODY)
        await conn.execute(_NOTIFY, f"bench_{writer % _CHANNELS}", str(n))


async def _after_each(conn: asyncpg.Connection, writer: int, n: int) -> None:
    async with conn.transaction():
        await conn.execute(_INSERT, writer, _BODY)
    await conn.execute(_NOTIFY, f"bench_{writer % _CHANNELS}", str(n))


async def run_way(dsn: str, way: str, writers: int, seconds: float) -> tuple[float, int]:
    conns = [await asyncpg.connect(dsn) for _ in range(writers + 1)]
    sender_conn, writer_conns = conns[0], conns[1:]
    coalescer = Coalescer(sender_conn)
    sender = asyncio.create_task(coalescer.run()) if way == "notify after, coalesced" else None
    commits = 0
    deadline = time.perf_counter() + seconds

    async def write(conn: asyncpg.Connection, writer: int) -> None:
        nonlocal commits
        n = 0
        while time.perf_counter() < deadline:
            n += 1
            if way == "plain":
                await _plain(conn, writer, n)
            elif way == "notify inside":
                await _inside(conn, writer, n)
            elif way == "notify after, each":
                await _after_each(conn, writer, n)
            else:
                await _plain(conn, writer, n)
                coalescer.owe(f"bench_{writer % _CHANNELS}", str(n))
            commits += 1

    started = time.perf_counter()
    try:
        await asyncio.gather(*(write(conn, i) for i, conn in enumerate(writer_conns)))
    finally:
        elapsed = time.perf_counter() - started
        if sender is not None:
            sender.cancel()
        for conn in conns:
            await conn.close()
    return commits / elapsed, coalescer.batches


async def main_async(dsn: str, writers: int, seconds: float, rounds: int) -> None:
    admin = await asyncpg.connect(dsn)
    listener = await asyncpg.connect(dsn)
    await admin.execute(f"DROP TABLE IF EXISTS {_TABLE}")
    await admin.execute(f"CREATE TABLE {_TABLE} (id bigserial PRIMARY KEY, writer int, body text)")
    for channel in range(_CHANNELS):
        await listener.add_listener(f"bench_{channel}", lambda *_: None)
    ways = ["plain", "notify inside", "notify after, each", "notify after, coalesced"]
    rates: dict[str, list[float]] = {way: [] for way in ways}
    ratios: dict[str, list[float]] = {way: [] for way in ways}
    try:
        for round_ in range(1, rounds + 1):
            results = {}
            for way in ways:
                rate, batches = await run_way(dsn, way, writers, seconds)
                results[way] = rate
                extra = f" in {batches:,} batches" if batches else ""
                print(f"round {round_}: {way:<24} {rate:8,.0f} commits/s{extra}", flush=True)
                await admin.execute(f"TRUNCATE {_TABLE}")
            for way in ways:
                rates[way].append(results[way])
                ratios[way].append(results[way] / results["plain"])
    finally:
        await listener.close()
        await admin.execute(f"DROP TABLE IF EXISTS {_TABLE}")
        await admin.close()
    print(f"\n{writers} writers, {rounds} rounds of {seconds:g} s per way (ratios to plain, same round)")
    print("| transaction | commits/s (min–max) | vs plain (min–max) |")
    print("| --- | ---: | ---: |")
    for way in ways:
        low, high = min(rates[way]), max(rates[way])
        print(
            f"| {way} | {low:,.0f}–{high:,.0f} (median {statistics.median(rates[way]):,.0f}) "
            f"| {min(ratios[way]):.2f}–{max(ratios[way]):.2f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dsn", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--writers", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main_async(args.dsn, args.writers, args.seconds, args.rounds))


if __name__ == "__main__":
    main()
