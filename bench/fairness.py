"""Fairness: one user at its limits costs the others nothing measurable.

Two server processes share their limits through Redis (the deployment the contract
describes), with the default budgets. Victims (`bench.victim`, fresh users) do what a
person's app does — paced creates through one process, list reads through the other, a
live socket that must see each create — while their latencies are recorded: alone
(the baseline, which is this benchmark's ceiling), then while one other user floods
(`bench.flood`, a worker process of its own), for each flood in turn (`FLOODS`). The
flooded phase counts from the flood's first connection: the victims start with it, and
a sample they sent before it is left out. Figures: the victims' p99 flooded ÷ alone, in
the same run, per flood; target ≤ 1.2 (the issue: "does not move another user's p99 by
more than 20%"). Each flood runs `fairness_rounds` times, each round a phase alone and
then the flood from a fresh user (from its first request again), and a figure is the p99
over all rounds' samples: 200 samples a phase would put the p99 on the second-slowest
one, and consecutive single rounds moved it by up to 8×. The server processes' peak
resident set is recorded in every phase, and shown for the flood that aims at memory.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from typing import Any

from bench.config import Context, Sizes, mint
from bench.flood import describe_writes
from bench.flood_sockets import describe_sockets
from bench.flood_tokens import describe_tokens
from bench.flood_unread import describe_unread, seed_hoarder
from bench.generators import percentile
from bench.httpclient import HttpConnection
from bench.loadgen import task_body
from bench.peak_rss import PeakRss
from bench.report import Figure
from bench.servers import cpu_seconds, database, rss_kib, start_server
from bench.victim import Victim
from bench.worker import Worker

# The server's default budgets, written out: the bench servers otherwise run unlimited.
DEFAULT_LIMITS = {
    "RATE_LIMIT_WRITES": "100/10 seconds",
    "RATE_LIMIT_READS": "300/10 seconds",
    "RATE_LIMIT_STREAM_OPENS": "30/minute",
}
SHARED_LIMITS = "redis://127.0.0.1:6379/3"
# After a flood, before the next baseline: held refusals are answered, closed
# connections let go, and what the flood left in the servers' buffers is worked off
# (the servers are quiet: each busy less than QUIET_BUSY over a QUIET_SECONDS window),
# so no flood's tail is measured as the next one's "alone".
SETTLE_SECONDS = 1.0
QUIET_SECONDS, QUIET_BUSY, QUIET_WITHIN = 0.5, 0.15, 30.0
FLOODER_NICE = 19
# Users at once in the warm-up, each with a connection to every process, and their rounds.
WARM_USERS, WARM_REQUESTS = 24, 3
KINDS = (("read", "REST read"), ("write", "REST write"), ("event", "write → own socket"))


@dataclass(frozen=True)
class Flood:
    kind: str  # bench.flood's FLOODS
    title: str
    connections: Callable[[Sizes], int]
    describe: Callable[[dict[str, int]], str]


FLOODS = (
    Flood("writes", "REST writes at the budget", lambda s: s.fairness_flood_connections, describe_writes),
    Flood("tokens", "expired token retried", lambda s: s.fairness_token_connections, describe_tokens),
    Flood("sockets", "socket messages", lambda s: s.fairness_socket_connections, describe_sockets),
    Flood("unread", "large answers never read", lambda s: s.fairness_unread_connections, describe_unread),
)


async def _phase(
    ports: list[int], pids: list[int], s: Sizes, flood: Callable[[], Awaitable[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The victims for one phase, alone or (`flood`: the call that runs it) flooded: each
    victim's samples (`bench.victim.Victim.result`) and the phase's memory and CPU."""
    n = s.fairness_victims
    victims = [await Victim.open(ports[i % 2], ports[(i + 1) % 2]) for i in range(n)]
    cpu, started = [cpu_seconds(pid) for pid in pids], time.monotonic()
    # Alone, samples count from the phase's start (the slowest ones' times too).
    reply: dict[str, Any] = {"started": started, "counts": {}, "flooder_cpu_busy": 0.0}
    try:
        async with PeakRss(pids) as rss:
            runs = [v.run(s.fairness_seconds, s.fairness_rate) for v in victims]
            if flood is None:
                await asyncio.gather(*runs)
            else:
                reply, *_ = await asyncio.gather(flood(), *runs)
        results = [v.result(since=reply["started"]) for v in victims]
        elapsed = time.monotonic() - started
        busy = [(cpu_seconds(pid) - before) / elapsed for pid, before in zip(pids, cpu, strict=True)]
    finally:
        for v in victims:
            await v.close()
    return {
        "victims": results,
        "rss_start_kib": max(rss.start_kib.values()),
        "rss_peak_kib": max(rss.kib.values()),
        "rss_peak_per_process_kib": list(rss.kib.values()),
        "rss_from_vmhwm": rss.from_hwm,
        "flood": reply["counts"],
        "flooder_cpu_busy": reply["flooder_cpu_busy"],
        "server_cpu_busy": busy,
    }


def _pooled(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """One figure set over several rounds of a phase: the samples of every round
    together; the largest memory; the floods' counts added up; CPU averaged."""
    counts: Counter[str] = Counter()
    for r in rounds:
        counts.update(r["flood"])
    processes = len(rounds[0]["server_cpu_busy"])
    return {
        **_summary([victim for r in rounds for victim in r["victims"]]),
        "rounds": len(rounds),
        "rss_start_kib": max(r["rss_start_kib"] for r in rounds),
        "rss_peak_kib": max(r["rss_peak_kib"] for r in rounds),
        "rss_peak_per_process_kib": [
            max(r["rss_peak_per_process_kib"][i] for r in rounds) for i in range(processes)
        ],
        "rss_from_vmhwm": all(r["rss_from_vmhwm"] for r in rounds),
        "flood": dict(counts),
        "flooder_cpu_busy": sum(r["flooder_cpu_busy"] for r in rounds) / len(rounds),
        "server_cpu_busy": [
            sum(r["server_cpu_busy"][i] for r in rounds) / len(rounds) for i in range(processes)
        ],
    }


async def _warm_up(ports: list[int]) -> None:
    """A server that has been serving a while, not one just started: many users' requests
    at once have grown its pools (a new PostgreSQL connection is a backend forked and a
    TLS attempt, tens of ms of CPU a burst would otherwise pay) and warmed its code."""
    users = [f"warm-{uuid.uuid4().hex[:8]}" for _ in range(WARM_USERS)]

    async def one(user: str, port: int) -> None:
        conn = await HttpConnection.open("127.0.0.1", port)
        headers = {"Authorization": f"Bearer {mint(user)}", "Content-Type": "application/json"}
        try:
            for _ in range(WARM_REQUESTS):
                await conn.request("POST", "/api/tasks", headers, task_body("warm"))
                await conn.request("GET", "/api/tasks?limit=20", headers)
        finally:
            await conn.close()

    await asyncio.gather(*(one(user, port) for user in users for port in ports))


async def _settle(pids: list[int]) -> float:
    """Wait until the servers are quiet after a flood; the seconds it took."""
    started = time.monotonic()
    await asyncio.sleep(SETTLE_SECONDS)
    while time.monotonic() - started < QUIET_WITHIN:
        before = [cpu_seconds(pid) for pid in pids]
        await asyncio.sleep(QUIET_SECONDS)
        if all(
            cpu_seconds(pid) - cpu < QUIET_BUSY * QUIET_SECONDS for pid, cpu in zip(pids, before, strict=True)
        ):
            break
    return time.monotonic() - started


def _summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {key: sum(r[key] for r in results) for key in ("errors", "lost", "before_flood")}
    out["sockets_closed"] = sum(1 for r in results if r["close_code"])
    for kind, _label in KINDS:
        samples = [ms for r in results for ms in r[kind]]
        out[f"{kind}_n"] = len(samples)
        out[f"{kind}_p50_ms"] = percentile(samples, 50) if samples else 0.0
        out[f"{kind}_p99_ms"] = percentile(samples, 99) if samples else 0.0
        slowest = sorted((x for r in results for x in r["slowest"][kind]), key=lambda x: -x[1])
        out[f"{kind}_slowest_at_s_ms"] = [[round(t, 2), round(ms, 1)] for t, ms in slowest[:5]]
    return out


async def run_fairness(ctx: Context) -> list[Figure]:
    s = ctx.sizes
    raw: dict[str, Any] = {}
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(database(ctx.pg, "fairness", ctx.log_dir))
        env = {**DEFAULT_LIMITS, "RATE_LIMIT_URL": SHARED_LIMITS}
        a = await start_server(stack, "fair-a", db, ctx.log_dir, **env)
        b = await start_server(stack, "fair-b", db, ctx.log_dir, **env)
        ports, pids = [a.port, b.port], [a.pid, b.pid]
        # The flooder stands for a client elsewhere: on this 2-core machine its own CPU
        # would otherwise be taken from the servers and the victims, which a remote
        # client's is not. Niced, it still gets every core the others leave idle.
        worker = await Worker("flood", "bench.flood", ctx.log_dir, nice=FLOODER_NICE).start(stack)
        await _warm_up(ports)
        await _settle(pids)
        for flood in FLOODS:
            # One hoarder for every round of the unread flood (its reads stay in budget);
            # each round of the others starts from a fresh user, its whole budget at once.
            hoarder = f"mallory-unread-{uuid.uuid4().hex[:8]}" if flood.kind == "unread" else None
            if hoarder is not None:
                await seed_hoarder(db, hoarder, s.fairness_unread_tasks)
            alone, flooded, settled, after = [], [], [], []
            for _round in range(s.fairness_rounds):
                user = hoarder or f"mallory-{flood.kind}-{uuid.uuid4().hex[:8]}"
                call = partial(
                    worker.call, "flood", kind=flood.kind, ports=ports, user=user,
                    seconds=s.fairness_seconds + 0.5, connections=flood.connections(s),
                )  # fmt: skip
                alone.append(await _phase(ports, pids, s))
                flooded.append(await _phase(ports, pids, s, call))
                settled.append(await _settle(pids))
                # Whether the memory a flood took is given back once it is over.
                after.append(max(rss_kib(pid) for pid in pids))
            raw[flood.kind] = {
                "alone": _pooled(alone),
                "flooded": _pooled(flooded),
                "settled_s": settled,
                "rss_after_kib": max(after),
            }
    ctx.raw["fairness"] = raw
    return _figures(raw, s)


def _figures(raw: dict[str, Any], s: Sizes) -> list[Figure]:
    figures = []
    for n, flood in enumerate(FLOODS, 1):
        bench = f"Fairness {n}: {flood.title} ({flood.connections(s)} connections)"
        alone, flooded = raw[flood.kind]["alone"], raw[flood.kind]["flooded"]
        for kind, label in KINDS:
            p99, ceiling = flooded[f"{kind}_p99_ms"], alone[f"{kind}_p99_ms"]
            ok = ceiling > 0 and p99 <= 1.2 * ceiling
            figures.append(
                Figure(
                    bench, f"victim's {label} p99 (flooded vs alone)", p99, ceiling, "ms", "≤ 1.2× alone", ok
                )
            )
        counts = flooded["flood"]
        cpu = " / ".join(f"{busy:.0%}" for busy in flooded["server_cpu_busy"])
        alone_cpu = " / ".join(f"{busy:.0%}" for busy in alone["server_cpu_busy"])
        text = (
            f"{flood.describe(counts)}; CPU: flooder {flooded['flooder_cpu_busy']:.0%} of a core, "
            f"servers {cpu} (alone {alone_cpu})"
        )
        figures.append(Figure(bench, "the flood", sum(counts.values()), None, "", text=text))
        if flood.kind == "unread":
            figures.append(
                Figure(
                    bench,
                    "server peak RSS, larger process (flooded vs alone)",
                    flooded["rss_peak_kib"] / 1024,
                    alone["rss_peak_kib"] / 1024,
                    "MiB",
                )
            )
    phases = [flood[phase] for flood in raw.values() for phase in ("alone", "flooded")]
    bad = sum(p["errors"] + p["lost"] + p["sockets_closed"] for p in phases)
    figures.append(
        Figure(
            "Fairness",
            "victims' errors + lost events + sockets closed (all phases)",
            bad,
            None,
            "",
            "0",
            bad == 0,
        )
    )
    return figures
