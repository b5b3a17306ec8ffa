"""Fan-out latency: N users × one socket on each of 2 server processes, paced REST writes
by a separate writer process, every delivery checked and timed.

Latency of a delivery = arrival time at the client − the event's `at`. The server stamps
`at` inside the write transaction just before it inserts the event row and NOTIFYs,
truncated to the millisecond, so this over-states commit→receive by the rest of the
transaction and by up to 1 ms of truncation: a conservative figure. Same clock (one
machine, wall time) on both ends.

Ceiling, measured during the same window: a raw asyncpg connection commits, at a fixed
rate, transactions that insert a row and `pg_notify(…, <stamp>)` (a real write, so the
commit flushes WAL as the server's does); another one LISTENs. Latency = arrival − the
stamp, taken just before the INSERT, as the server takes `at` before its event INSERT.

Also reported: arrival − the moment the writer got its 201 (after the commit), a lower
bound of commit→receive; the true figure lies between the two.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.config import Context
from bench.generators import percentile
from bench.profile import profiled
from bench.report import Figure
from bench.servers import cpu_seconds, database, start_server
from bench.worker import start_workers

SOCKET_WORKERS = 2


def epoch(at: str) -> float:
    return datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC).timestamp()


async def notify_probe(dsn: str, rate: float, stop: asyncio.Event) -> list[float]:
    """Commit→listener latencies (ms) of raw NOTIFYs sent at `rate` per second until `stop`."""
    listener, sender = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    latencies: list[float] = []

    def arrived(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        latencies.append((time.time() - float(payload)) * 1000)

    try:
        await sender.execute("CREATE TABLE IF NOT EXISTS bench_probe (n bigint, stamp float8)")
        await listener.add_listener("bench_probe", arrived)
        start, n = time.monotonic(), 0
        while not stop.is_set():
            stamp = time.time()
            async with sender.transaction():
                await sender.execute("INSERT INTO bench_probe VALUES ($1, $2)", n, stamp)
                await sender.execute("SELECT pg_notify('bench_probe', $1)", repr(stamp))
            n += 1
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        await asyncio.sleep(0.2)
    finally:
        await listener.close()
        await sender.close()
    return latencies


async def run_fanout(ctx: Context) -> list[Figure]:
    s = ctx.sizes
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(database(ctx.pg, "fanout", ctx.log_dir))
        servers = [
            await start_server(stack, f"server-fanout-{i}", db, ctx.log_dir) for i in range(s.fanout_servers)
        ]
        users = [f"fan-{i:05d}" for i in range(s.fanout_users)]
        socks = await start_workers(stack, "bench.sockets", SOCKET_WORKERS, ctx.log_dir)
        (writer,) = await start_workers(stack, "bench.loadgen", 1, ctx.log_dir)
        shares = [users[k::SOCKET_WORKERS] for k in range(SOCKET_WORKERS)]
        opened = await asyncio.gather(
            *(
                w.call(
                    "open",
                    host="127.0.0.1",
                    path="/api/ws",
                    targets=[[srv.port, u] for u in share for srv in servers],
                )
                for w, share in zip(socks, shares, strict=True)
            )
        )
        want = len(users) * len(servers)
        if sum(o["opened"] for o in opened) != want:
            raise RuntimeError(f"opened {[o['opened'] for o in opened]} of {want} sockets: {opened}")

        stop = asyncio.Event()
        probe = asyncio.create_task(notify_probe(db, s.probe_rate, stop))
        try:
            cpu = [cpu_seconds(srv.pid) for srv in servers]
            async with profiled(ctx, servers[0].pid, "fanout"):
                written = await writer.call(
                    "paced", ports=[srv.port for srv in servers], users=users, rate=s.fanout_rate,
                    seconds=s.fanout_seconds, connections=64,
                )  # fmt: skip
            cpu = [cpu_seconds(srv.pid) - c for srv, c in zip(servers, cpu, strict=True)]
        finally:
            stop.set()
            ceiling = await probe

        per_user = Counter(users[w[1]] for w in written["writes"] if w[5] == 201)
        for w, share in zip(socks, shares, strict=True):
            expected = sum(per_user[u] for u in share) * len(servers)
            await w.call("wait_total", total=expected, within=30)
        await asyncio.sleep(0.5)  # let duplicates, if any, arrive too
        reports = [await w.call("report") for w in socks]

    result = analyse(written["writes"], users, [r["sockets"] for r in reports])
    result.update(
        written_seconds=written["seconds"],
        server_cpu_busy=[c / written["seconds"] for c in cpu],
        sockets=want,
        ceiling_samples=len(ceiling),
        ceiling_p50_ms=percentile(ceiling, 50),
        ceiling_p99_ms=percentile(ceiling, 99),
        ceiling_max_ms=max(ceiling, default=0.0),
    )
    ctx.raw["fanout"] = result
    return _figures(result)


def analyse(writes: list[list[Any]], users: list[str], reports: list[list[Any]]) -> dict[str, Any]:
    """Loss, duplication, order and latency over every delivery of every socket."""
    by_user: dict[str, set[str]] = defaultdict(set)
    responded: dict[str, float] = {}
    for n, user, _port, _sent, received, status in writes:
        if status == 201:
            by_user[users[user]].add(f"fw-{n}")
            responded[f"fw-{n}"] = received
    lost = duplicated = reordered = gaps = unexpected = closed = 0
    latencies: list[float] = []
    after_response: list[float] = []
    slow: list[tuple[float, float]] = []  # (arrival, ms) of deliveries over 50 ms: when the tail happened
    for report in reports:
        for user, _port, hello, close_code, events in report:
            closed += close_code is not None
            seqs = [e[0] for e in events]
            titles = {e[3] for e in events}
            lost += len(by_user[user] - titles)
            unexpected += len(titles - by_user[user])
            duplicated += len(seqs) - len(set(seqs))
            reordered += sum(1 for a, b in zip(seqs, seqs[1:], strict=False) if b < a)
            gaps += len(set(range(hello + 1, hello + len(by_user[user]) + 1)) - set(seqs))
            for _seq, at, arrived, title in events:
                latencies.append((arrived - epoch(at)) * 1000)
                if latencies[-1] > 50:
                    slow.append((round(arrived, 3), round(latencies[-1], 1)))
                if title in responded:
                    after_response.append((arrived - responded[title]) * 1000)
    took = [(received - sent) * 1000 for _n, _u, _p, sent, received, _s in writes]
    return {
        "writes": len(writes),
        "write_p50_ms": percentile(took, 50),
        "write_p99_ms": percentile(took, 99),
        "writes_ok": sum(len(t) for t in by_user.values()),
        "deliveries": len(latencies),
        "lost": lost,
        "duplicated": duplicated,
        "reordered": reordered,
        "gaps": gaps,
        "unexpected": unexpected,
        "sockets_closed": closed,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies, default=0.0),
        # A lower bound: arrival − the writer's receipt of the 201 (after the commit).
        "after_response_p50_ms": percentile(after_response, 50),
        "after_response_p99_ms": percentile(after_response, 99),
        "slow_deliveries": sorted(slow)[:500],
    }


def _figures(r: dict[str, Any]) -> list[Figure]:
    bench = "Fan-out, commit → socket"
    faults = r["lost"] + r["duplicated"] + r["reordered"] + r["gaps"] + r["sockets_closed"]
    return [
        Figure(bench, "p50 latency", r["p50_ms"], r["ceiling_p50_ms"], "ms", "≤ 5 ms", r["p50_ms"] <= 5),
        Figure(bench, "p99 latency", r["p99_ms"], r["ceiling_p99_ms"], "ms", "≤ 50 ms", r["p99_ms"] <= 50),
        Figure(bench, "max latency", r["max_ms"], r["ceiling_max_ms"], "ms"),
        Figure(
            bench,
            "p50 / p99 after the 201 (lower bound)",
            r["after_response_p50_ms"],
            None,
            "ms",
            text=f"{r['after_response_p50_ms']:.2f} / {r['after_response_p99_ms']:.1f} ms",
        ),  # fmt: skip
        Figure(
            bench,
            "lost / duplicated / reordered",
            faults,
            None,
            "",
            "0",
            faults == 0 and r["deliveries"] > 0,
            text=f"{max(r['lost'], r['gaps'])} / {r['duplicated']} / {r['reordered']}",
        ),  # fmt: skip
        Figure(
            bench,
            "deliveries (writes/s)",
            r["deliveries"],
            None,
            "",
            "",
            text=f"{r['deliveries']:,} ({r['writes_ok'] / r['written_seconds']:.0f}/s); server CPU busy "
            + " / ".join(f"{c:.0%}" for c in r["server_cpu_busy"]),
        ),  # fmt: skip
    ]
