"""Fairness: one user at its limits costs the others nothing measurable.

Two server processes share their limits through Redis (the deployment the contract
describes), with the default budgets. A victim user does what a person's app does —
paced creates through one process, list reads through the other, and a live socket
that must see each create — while its latencies are recorded: first alone (the
baseline, which is this benchmark's ceiling), then while another user floods creates
over many connections and reopens sockets in a tight loop through both processes
(`bench.flood`, a process of its own). Figures: the victim's p50/p99 under the flood ÷
the same without it, in the same run; target ≤ 1.2 (the issue: "does not move another
user's p99 by more than 20%").
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from contextlib import AsyncExitStack
from typing import Any

import websockets

from bench.config import ROOT, Context, mint
from bench.generators import percentile
from bench.httpclient import HttpConnection
from bench.loadgen import task_body
from bench.report import Figure
from bench.servers import database, start_server

# The server's default budgets, written out: the bench servers otherwise run unlimited.
DEFAULT_LIMITS = {
    "RATE_LIMIT_WRITES": "100/10 seconds",
    "RATE_LIMIT_READS": "300/10 seconds",
    "RATE_LIMIT_STREAM_OPENS": "30/minute",
}
SHARED_LIMITS = "redis://127.0.0.1:6379/3"


async def victim(ports: tuple[int, int], seconds: float, rate: float) -> dict[str, list[float]]:
    """Paced creates on the first process, reads on the second, and the socket's view."""
    user = f"victim-{uuid.uuid4().hex[:8]}"
    headers = {"Authorization": f"Bearer {mint(user)}", "Content-Type": "application/json"}
    writer = await HttpConnection.open("127.0.0.1", ports[0])
    reader = await HttpConnection.open("127.0.0.1", ports[1])
    ws = await websockets.connect(f"ws://127.0.0.1:{ports[1]}/api/ws", additional_headers=headers)
    # By seq: when each create was sent, and when its event reached the socket (which
    # can be before the create's own response is read).
    sent_at: dict[int, float] = {}
    arrived: dict[int, float] = {}
    out: dict[str, list[float]] = {"write": [], "read": [], "event": [], "errors": []}

    async def watch() -> None:
        async for frame in ws:
            event = json.loads(frame)
            if event.get("type", "").startswith("task."):
                arrived[event["seq"]] = time.perf_counter()

    json.loads(await asyncio.wait_for(ws.recv(), 10))  # hello
    watcher = asyncio.create_task(watch())
    try:
        start, n = time.monotonic(), 0
        while time.monotonic() - start < seconds:
            t0 = time.perf_counter()
            status, body = await writer.request("POST", "/api/tasks", headers, task_body("victim"))
            t1 = time.perf_counter()
            if status != 201:
                out["errors"].append(float(status))
            else:
                out["write"].append((t1 - t0) * 1000)
                # The echo: the n-th create of a fresh user is its seq n + 1 …
                sent_at[n + 1] = t0
            status, _ = await reader.request("GET", "/api/tasks?limit=20", headers)
            if status == 200:
                out["read"].append((time.perf_counter() - t1) * 1000)
            else:
                out["errors"].append(float(status))
            n += 1
            await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
        # The last echoes (generously: a late one is slow, only a missing one is lost).
        deadline = time.monotonic() + 10
        while sent_at.keys() - arrived.keys() and time.monotonic() < deadline and not watcher.done():
            await asyncio.sleep(0.05)
    finally:
        watcher.cancel()
        await ws.close()
        await writer.close()
        await reader.close()
    out["event"] = [(arrived[seq] - t) * 1000 for seq, t in sent_at.items() if seq in arrived]
    out["lost"] = [float(len(sent_at.keys() - arrived.keys()))]
    out["close_code"] = [float(ws.close_code or 0)]
    return out


async def run_fairness(ctx: Context) -> list[Figure]:
    s = ctx.sizes
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(database(ctx.pg, "fairness", ctx.log_dir))
        env = {**DEFAULT_LIMITS, "RATE_LIMIT_URL": SHARED_LIMITS}
        a = await start_server(stack, "fair-a", db, ctx.log_dir, **env)
        b = await start_server(stack, "fair-b", db, ctx.log_dir, **env)
        ports = (a.port, b.port)
        baseline = await victim(ports, s.fairness_seconds, s.fairness_rate)
        flood = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bench.flood", str(a.port), str(b.port),
            "--seconds", str(s.fairness_seconds + 2), "--connections", str(s.fairness_flood_connections),
            "--user", f"mallory-{uuid.uuid4().hex[:8]}",
            cwd=ROOT, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await asyncio.sleep(1.0)  # the flood is at full strength before measuring
        flooded = await victim(ports, s.fairness_seconds, s.fairness_rate)
        out, _ = await flood.communicate()
        counts: dict[str, int] = json.loads(out.decode().strip().splitlines()[-1])
    raw: dict[str, Any] = {"baseline": _summary(baseline), "flooded": _summary(flooded), "flood": counts}
    ctx.raw["fairness"] = raw
    return _figures(raw)


def _summary(r: dict[str, list[float]]) -> dict[str, float]:
    out: dict[str, float] = {
        "errors": float(len(r["errors"])),
        "lost": r["lost"][0],
        "socket_close_code": r["close_code"][0],
    }
    for kind in ("write", "read", "event"):
        out[f"{kind}_n"] = float(len(r[kind]))
        out[f"{kind}_p50_ms"] = percentile(r[kind], 50) if r[kind] else 0.0
        out[f"{kind}_p99_ms"] = percentile(r[kind], 99) if r[kind] else 0.0
    return out


def _figures(raw: dict[str, Any]) -> list[Figure]:
    bench = "Fairness: victim while another user floods"
    base, flooded, flood = raw["baseline"], raw["flooded"], raw["flood"]
    figures = []
    for kind, label in (("write", "REST write"), ("read", "REST read"), ("event", "write → own socket")):
        p99, ceiling = flooded[f"{kind}_p99_ms"], base[f"{kind}_p99_ms"]
        ok = ceiling > 0 and p99 <= 1.2 * ceiling
        figures.append(
            Figure(bench, f"{label} p99 (flooded vs alone)", p99, ceiling, "ms", "≤ 1.2× alone", ok)
        )
        figures.append(
            Figure(
                bench,
                f"{label} p50 (flooded vs alone)",
                flooded[f"{kind}_p50_ms"],
                base[f"{kind}_p50_ms"],
                "ms",
            )
        )
    refused = sum(v for k, v in flood.items() if k.endswith(" 429"))
    total = sum(flood.values())
    accepted = flood.get("write 201", 0)
    victim_errors = int(base["errors"] + flooded["errors"] + base["lost"] + flooded["lost"])
    figures.append(
        Figure(
            bench,
            "flood: requests refused / sent (writes accepted)",
            refused,
            None,
            "",
            "",
            None,
            text=f"{refused:,} / {total:,} ({accepted} accepted)",
        )  # fmt: skip
    )
    figures.append(
        Figure(bench, "victim errors + lost events", victim_errors, None, "", "0", victim_errors == 0)
    )
    return figures
