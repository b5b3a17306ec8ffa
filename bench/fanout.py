"""Fan-out latency as the user sees it: N users × one socket on each of 2 server
processes, paced REST writes by a separate writer process, every delivery checked and
timed from the moment the writer SENT its request to the event's arrival on the user's
socket (both sockets of a user are "another device": the writer is not a socket).

Ceilings, in the same run: the same users, sockets and writes against 2 processes of
the ceiling app (one CTE per write whose `pg_notify` carries the event; each process
LISTENs on its socket users' channels and sends the payload on), and a raw asyncpg
NOTIFY probe (commit → listener, one connection commits transactions that insert a row
and notify a timestamp, another LISTENs) running during the server's round.

Also reported: arrival − the event's `at` (stamped in the write transaction) and
arrival − the writer's receipt of its 201 (after the commit, a lower bound of
commit → receive). Same clock (one machine, wall time) on every end.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from contextlib import AsyncExitStack
from datetime import UTC, datetime
from typing import Any

import asyncpg

from bench.config import Context, Sizes
from bench.generators import percentile
from bench.report import Figure
from bench.servers import cpu_seconds, database, start_ceiling, start_server
from bench.worker import Worker, start_workers

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


async def _phase(
    writer: Worker, ports: list[int], users: list[str], s: Sizes
) -> tuple[dict[str, Any], float]:
    """Paced writes to `ports` as `users`; what was written, and its wall-clock seconds."""
    written = await writer.call(
        "paced", ports=ports, users=users, rate=s.fanout_rate, seconds=s.fanout_seconds, connections=64
    )
    return written, float(written["seconds"])


async def run_fanout(ctx: Context) -> list[Figure]:
    s = ctx.sizes
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(database(ctx.pg, "fanout", ctx.log_dir))
        servers = [
            await start_server(stack, f"server-fanout-{i}", db, ctx.log_dir) for i in range(s.fanout_servers)
        ]
        ceilings = [
            await start_ceiling(stack, db, ctx.log_dir, name=f"ceiling-fanout-{i}")
            for i in range(s.fanout_servers)
        ]
        sides = {
            "server": (servers, "/api/ws", [f"fan-{i:05d}" for i in range(s.fanout_users)]),
            "ceiling": (ceilings, "/ws", [f"fanc-{i:05d}" for i in range(s.fanout_users)]),
        }
        socks = await start_workers(stack, "bench.sockets", SOCKET_WORKERS, ctx.log_dir)
        (writer,) = await start_workers(stack, "bench.loadgen", 1, ctx.log_dir)
        held = 0  # a worker's `opened` counts every socket it holds
        for procs, path, users in sides.values():
            shares = [users[k::SOCKET_WORKERS] for k in range(SOCKET_WORKERS)]
            opened = await asyncio.gather(
                *(
                    w.call(
                        "open",
                        host="127.0.0.1",
                        path=path,
                        targets=[[p.port, u] for u in share for p in procs],
                    )
                    for w, share in zip(socks, shares, strict=True)
                )
            )
            held += len(users) * len(procs)
            if sum(o["opened"] for o in opened) != held:
                raise RuntimeError(f"opened {[o['opened'] for o in opened]} of {held} sockets: {opened}")

        # The ceiling's round first, then the server's with the raw NOTIFY probe beside it.
        written: dict[str, dict[str, Any]] = {}
        procs, _, users = sides["ceiling"]
        written["ceiling"], _ = await _phase(writer, [p.port for p in procs], users, s)
        stop = asyncio.Event()
        probe = asyncio.create_task(notify_probe(db, s.probe_rate, stop))
        try:
            # Not under `--profile`: py-spy pauses the process for every sample, which
            # would land in the server's latency tail and not in the ceiling's.
            cpu = [cpu_seconds(srv.pid) for srv in servers]
            written["server"], _ = await _phase(writer, [srv.port for srv in servers], sides["server"][2], s)
            cpu = [cpu_seconds(srv.pid) - c for srv, c in zip(servers, cpu, strict=True)]
        finally:
            stop.set()
            raw_notify = await probe

        expected = [0] * SOCKET_WORKERS
        for side, (procs, _, users) in sides.items():
            per_user = Counter(users[w[1]] for w in written[side]["writes"] if w[5] == 201)
            for k in range(SOCKET_WORKERS):
                expected[k] += sum(per_user[u] for u in users[k::SOCKET_WORKERS]) * len(procs)
        for w, total in zip(socks, expected, strict=True):
            await w.call("wait_total", total=total, within=30)
        await asyncio.sleep(0.5)  # let duplicates, if any, arrive too
        reports = [await w.call("report") for w in socks]

    results = {}
    for side, (procs, _, users) in sides.items():
        ports = {p.port for p in procs}
        mine = [[sock for sock in r["sockets"] if sock[1] in ports] for r in reports]
        results[side] = analyse(written[side]["writes"], users, mine)
        results[side].update(written_seconds=written[side]["seconds"], sockets=len(users) * len(procs))
    result = results["server"]
    result.update(
        server_cpu_busy=[c / result["written_seconds"] for c in cpu],
        ceiling=results["ceiling"],
        ceiling_samples=len(raw_notify),
        notify_p50_ms=percentile(raw_notify, 50),
        notify_p99_ms=percentile(raw_notify, 99),
        notify_max_ms=max(raw_notify, default=0.0),
    )
    ctx.raw["fanout"] = result
    return _figures(result)


def analyse(writes: list[list[Any]], users: list[str], reports: list[list[Any]]) -> dict[str, Any]:
    """Loss, duplication, order and latency over every delivery of every socket."""
    by_user: dict[str, set[str]] = defaultdict(set)
    sent: dict[str, float] = {}
    responded: dict[str, float] = {}
    for n, user, _port, sent_at, received, status in writes:
        if status == 201:
            by_user[users[user]].add(f"fw-{n}")
            sent[f"fw-{n}"] = sent_at
            responded[f"fw-{n}"] = received
    lost = duplicated = reordered = gaps = unexpected = closed = 0
    latencies: list[float] = []  # REST request sent → event received: what the user sees
    from_at: list[float] = []
    after_response: list[float] = []
    slow: list[tuple[float, float]] = []  # (arrival, ms) of deliveries over 25 ms: when the tail happened
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
                from_at.append((arrived - epoch(at)) * 1000)
                if title in sent:
                    latencies.append((arrived - sent[title]) * 1000)
                    after_response.append((arrived - responded[title]) * 1000)
                    if latencies[-1] > 25:
                        slow.append((round(arrived, 3), round(latencies[-1], 1)))
    took = [(received - sent_at) * 1000 for _n, _u, _p, sent_at, received, _s in writes]
    return {
        "writes": len(writes),
        "write_p50_ms": percentile(took, 50),
        "write_p99_ms": percentile(took, 99),
        "writes_ok": sum(len(t) for t in by_user.values()),
        "deliveries": len(from_at),
        "lost": lost,
        "duplicated": duplicated,
        "reordered": reordered,
        "gaps": gaps,
        "unexpected": unexpected,
        "sockets_closed": closed,
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies, default=0.0),
        # From the event's `at` (stamped in the write), and after the 201 (a lower bound).
        "at_p50_ms": percentile(from_at, 50),
        "at_p99_ms": percentile(from_at, 99),
        "after_response_p50_ms": percentile(after_response, 50),
        "after_response_p99_ms": percentile(after_response, 99),
        "slow_deliveries": sorted(slow)[:500],
    }


def _figures(r: dict[str, Any]) -> list[Figure]:
    bench = "Fan-out, REST request sent → other socket"
    c = r["ceiling"]
    faults = r["lost"] + r["duplicated"] + r["reordered"] + r["gaps"] + r["sockets_closed"]
    return [
        Figure(bench, "p50 latency", r["p50_ms"], c["p50_ms"], "ms", "≤ 5 ms", r["p50_ms"] <= 5),
        Figure(bench, "p99 latency", r["p99_ms"], c["p99_ms"], "ms", "≤ 25 ms", r["p99_ms"] <= 25),
        Figure(bench, "max latency", r["max_ms"], c["max_ms"], "ms"),
        Figure(bench, "write's own p50 (request → 201)", r["write_p50_ms"], c["write_p50_ms"], "ms"),
        Figure(
            bench,
            "p50 / p99 after the 201 (lower bound)",
            r["after_response_p50_ms"],
            None,
            "ms",
            text=f"{r['after_response_p50_ms']:.2f} / {r['after_response_p99_ms']:.1f} ms (ceiling "
            f"{c['after_response_p50_ms']:.2f} / {c['after_response_p99_ms']:.1f} ms)",
        ),  # fmt: skip
        Figure(
            bench,
            "raw NOTIFY commit → listener p50 / p99",
            r["notify_p50_ms"],
            None,
            "ms",
            text=f"{r['notify_p50_ms']:.2f} / {r['notify_p99_ms']:.2f} ms",
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
