"""Idle sockets and one event to many sockets, on one server process and on the ceiling.

Idle: open and close a few sockets (imports, pools, allocator warm), read the process's
VmRSS, open N authenticated sockets (N/2 users × 2, spread over several client
processes), wait, read VmRSS again, then ping every socket to prove it is still open.
Memory per socket = (after − before) / sockets alive.

Many idle (full size only): the same with 20,000 sockets (10,000 users × 2) on a fresh
server process and a fresh ceiling (so no memory freed by the phases before is reused):
every one must answer its ping. A socket is a file: where the open-file hard limit
cannot be raised (a container's 20,000, say) the phase opens as many as one process
can hold besides its own files, and the table names the limit.

Burst: N sockets of ONE user (the per-user cap lifted for this run), then K single
writes, one at a time; for each, the time from the event's `at` (stamped in the write
transaction; for the ceiling, when `/fire` is handled) to its arrival on the LAST
socket. Deliveries per second = N / that time (median over the K events).

Ceiling: the ceiling app without a database — a bare Starlette socket route (header
token, accept, hello, then only reads) and `/fire`, a bare loop sending one
pre-encoded frame to every socket.
"""

from __future__ import annotations

import asyncio
import resource
import statistics
from contextlib import AsyncExitStack
from typing import Any

from bench.config import Context, Sizes, mint
from bench.fanout import epoch
from bench.httpclient import HttpConnection
from bench.loadgen import task_body
from bench.profile import profiled
from bench.report import Figure
from bench.servers import HttpService, database, rss_kib, start_ceiling, start_server
from bench.worker import Worker, raise_nofile, start_workers

# Files a server process holds besides its sockets: pool and listener connections, logs,
# the event loop's own (about 40 in all when idle), with room to spare.
FD_RESERVE = 100


def _spread(targets: list[list[Any]], workers: list[Worker]) -> list[list[list[Any]]]:
    return [targets[k :: len(workers)] for k in range(len(workers))]


async def _open(workers: list[Worker], port: int, path: str, users: list[str]) -> tuple[int, int]:
    """Sockets opened, and how many of them took more than one attempt."""
    parts = _spread([[port, u] for u in users], workers)
    replies = await asyncio.gather(
        *(w.call("open", host="127.0.0.1", path=path, targets=p) for w, p in zip(workers, parts, strict=True))
    )
    opened = sum(int(r["opened"]) for r in replies)
    if opened != len(users):
        errors = [r["errors"] for r in replies]
        raise RuntimeError(f"opened {opened} of {len(users)} sockets on port {port}: {errors}")
    return opened, sum(sum(r.get("retried", {}).values()) for r in replies)


async def _close(workers: list[Worker]) -> None:
    await asyncio.gather(*(w.call("close") for w in workers))


async def idle_phase(
    ctx: Context, svc: HttpService, path: str, workers: list[Worker], n: int
) -> dict[str, Any]:
    await _open(workers, svc.port, path, [f"warm-{i % 50}" for i in range(min(n, 100))])
    await _close(workers)
    await asyncio.sleep(ctx.sizes.settle_seconds)
    before = rss_kib(svc.pid)
    _, retried = await _open(workers, svc.port, path, [f"idle-{i // 2:05d}" for i in range(n)])
    await asyncio.sleep(ctx.sizes.settle_seconds)
    after = rss_kib(svc.pid)
    pings = await asyncio.gather(*(w.call("ping") for w in workers))
    alive = sum(p["alive"] for p in pings)
    await _close(workers)
    per_socket_kb = (after - before) * 1024 / 1000 / max(alive, 1)
    return {
        "rss_before_kib": before,
        "rss_after_kib": after,
        "alive": alive,
        "per_socket_kb": per_socket_kb,
        "open_retried": retried,
    }


async def _fire(svc: HttpService, server: bool) -> None:
    conn = await HttpConnection.open("127.0.0.1", svc.port)
    try:
        if server:
            headers = {"Authorization": f"Bearer {mint('burst-user')}", "Content-Type": "application/json"}
            status, body = await conn.request("POST", "/api/tasks", headers, task_body("burst"))
        else:
            status, body = await conn.request("POST", "/fire")
        if status not in (200, 201):
            raise RuntimeError(f"burst write: {status} {body[:200]!r}")
    finally:
        await conn.close()


async def burst_phase(
    ctx: Context, svc: HttpService, path: str, workers: list[Worker], server: bool
) -> dict[str, Any]:
    s = ctx.sizes
    n, _ = await _open(workers, svc.port, path, ["burst-user"] * s.burst_sockets)
    shares = [len(p) for p in _spread([[0]] * n, workers)]
    times = [await _one_burst(svc, workers, server, seq, n, shares) for seq in range(1, s.burst_events + 1)]
    if server:
        # `--profile`: one more event, untimed, under py-spy. It pauses the process for
        # every sample, so a profiled burst would be charged to us and not the ceiling.
        async with profiled(ctx, svc.pid, "burst") as folded:
            if folded is not None:
                await _one_burst(svc, workers, server, s.burst_events + 1, n, shares)
    await _close(workers)
    last_ms = statistics.median(times)
    return {"sockets": n, "to_last_ms": times, "median_to_last_ms": last_ms, "per_second": n / last_ms * 1000}


async def _one_burst(
    svc: HttpService, workers: list[Worker], server: bool, seq: int, n: int, shares: list[int]
) -> float:
    """One write (or `/fire`); milliseconds from its `at` to the last socket's arrival."""
    await _fire(svc, server)
    await asyncio.gather(
        *(w.call("wait_total", total=k * seq, within=60) for w, k in zip(workers, shares, strict=True))
    )
    got = await asyncio.gather(*(w.call("arrivals", seq=seq) for w in workers))
    if sum(g["count"] for g in got) != n:
        raise RuntimeError(f"event {seq} reached {sum(g['count'] for g in got)} of {n} sockets")
    at = epoch(next(g["at"] for g in got if g["at"]))
    await asyncio.sleep(0.2)
    return (max(float(g["last"]) for g in got) - at) * 1000


async def run_idle(ctx: Context) -> list[Figure]:
    s = ctx.sizes
    raw: dict[str, Any] = {}
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(database(ctx.pg, "idle", ctx.log_dir))
        workers = await start_workers(stack, "bench.sockets", s.socket_workers, ctx.log_dir)
        async with AsyncExitStack() as procs:
            server, ceiling = await _start_pair(ctx, procs, db, "idle")
            for side, svc, path in (("ceiling", ceiling, "/ws"), ("server", server, "/api/ws")):
                idle = await idle_phase(ctx, svc, path, workers, s.idle_sockets)
                burst = await burst_phase(ctx, svc, path, workers, side == "server")
                raw[side] = {"idle": idle, "burst": burst}
        if s.many_idle_sockets:
            n, limit = _many_sockets(s.many_idle_sockets)
            raw["fd_limit"] = limit
            async with AsyncExitStack() as procs:
                server, ceiling = await _start_pair(ctx, procs, db, "many")
                for side, svc, path in (("ceiling", ceiling, "/ws"), ("server", server, "/api/ws")):
                    raw[side]["many"] = {**await idle_phase(ctx, svc, path, workers, n), "sockets": n}
    ctx.raw["idle"] = raw
    return _figures(raw, s)


def _many_sockets(wanted: int) -> tuple[int, int | None]:
    """How many sockets the many-idle phase opens, and the open-file hard limit that
    bounds it (None: no limit), as the server processes get it (bench/worker.py)."""
    raise_nofile()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        return wanted, None
    return min(wanted, hard - FD_RESERVE), hard


async def _start_pair(
    ctx: Context, stack: AsyncExitStack, db: str, label: str
) -> tuple[HttpService, HttpService]:
    s = ctx.sizes
    cap = str(max(s.burst_sockets, s.idle_sockets) + 10)
    server = await start_server(stack, f"server-{label}", db, ctx.log_dir, MAX_STREAMS_PER_USER=cap)
    ceiling = await start_ceiling(stack, db, ctx.log_dir, pool=False, name=f"ceiling-{label}")
    return server, ceiling


def _figures(raw: dict[str, Any], s: Sizes) -> list[Figure]:
    ours, top = raw["server"], raw["ceiling"]
    idle = f"Idle sockets ({s.idle_sockets:,} on one process)"
    burst = f"One event → {s.burst_sockets:,} sockets of one user"
    kb, bare_kb = ours["idle"]["per_socket_kb"], top["idle"]["per_socket_kb"]
    held = ours["idle"]["alive"]
    rate, bare_rate = ours["burst"]["per_second"], top["burst"]["per_second"]
    return [
        Figure(idle, "memory per idle socket", kb, bare_kb, "KB", "≤ 1.2× ceiling", kb <= 1.2 * bare_kb),
        Figure(
            idle, "sockets held and answering", held, top["idle"]["alive"], "", "all", held == s.idle_sockets
        ),
        Figure(
            burst,
            "commit → last socket",
            ours["burst"]["median_to_last_ms"],
            top["burst"]["median_to_last_ms"],
            "ms",
        ),
        Figure(
            burst,
            "deliveries/s per process",
            rate,
            bare_rate,
            "/s",
            "≥ 0.8× ceiling",
            rate >= 0.8 * bare_rate,
        ),
        *(_many_figures(raw, s) if s.many_idle_sockets else []),
    ]


def _many_figures(raw: dict[str, Any], s: Sizes) -> list[Figure]:
    ours, top, limit = raw["server"]["many"], raw["ceiling"]["many"], raw["fd_limit"]
    n = ours["sockets"]
    bound = f"; open-file limit {limit:,}" if n < s.many_idle_sockets else ""
    many = f"Idle sockets ({n:,} on one process{bound})"
    held = ours["alive"]
    return [
        Figure(many, "memory per idle socket", ours["per_socket_kb"], top["per_socket_kb"], "KB"),
        Figure(many, "sockets held and answering", held, top["alive"], "", "all", held == n),
    ]
