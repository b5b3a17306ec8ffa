"""REST read (`GET /api/tasks`) and write (`POST /api/tasks`) against the ceiling app.

One database seeded with N users × 20 tasks (and their event log); one Tasksync server
and one ceiling process on it. Every user is touched once first (the server creates or
caches the user row on first sight), each side gets a warm-up, then rounds alternate
ceiling/server and the best round of each side is reported. With --profile, one more
round per side runs under py-spy after the measured ones (py-spy costs CPU on this
machine, so it never runs during a measured round): its samples split the measured CPU
per request into categories (bench/breakdown.py).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from bench.breakdown import count, per_request
from bench.config import Context, mint
from bench.generators import LoadResult, run_python, run_wrk
from bench.httpclient import HttpConnection
from bench.profile import profiled
from bench.report import Figure
from bench.servers import (
    HttpService,
    cpu_seconds,
    database,
    postgres_cpu_seconds,
    start_ceiling,
    start_server,
)
from bench.worker import start_workers
from server import wire
from server.schemas import utc_iso
from server.tasks.operations import task_json

TASK_COLUMNS = [
    "id", "user_id", "title", "title_key", "description", "description_json", "completed",
    "due_date", "created_at", "updated_at", "version", "created_seq",
]  # fmt: skip


async def seed(db_url: str, users: list[str], per_user: int, description: str = "seeded") -> None:
    """Users, their tasks and the matching `task.created` events, by COPY."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    user_rows, task_rows, event_rows = [], [], []
    for user in users:
        user_rows.append((user, None, user, per_user, base))
        for k in range(1, per_user + 1):
            stamp = base + timedelta(minutes=k)
            title = f"Task {k} of {user}"
            due = date(2026, 12, k % 28 + 1) if k % 3 else None
            row = (
                str(uuid.uuid4()),
                user,
                title,
                title.casefold(),
                description,
                wire.dumps(description),  # as the server writes it
                k % 4 == 0,
                due,
                stamp,
                stamp,
                1,
                k,
            )
            task_rows.append(row)
            task = task_json(dict(zip(TASK_COLUMNS, row, strict=True)))
            body = {"seq": k, "type": "task.created", "task": task, "origin": None, "at": utc_iso(stamp)}
            # UTF-8 as the server writes it (orjson), not \u escapes: a seeded event
            # is as large as a written one.
            text = json.dumps(body, separators=(",", ":"), ensure_ascii=False)
            event_rows.append((user, k, "task.created", row[0], text, stamp))
    conn = await asyncpg.connect(db_url)
    try:
        await conn.copy_records_to_table(
            "users", records=user_rows, columns=["id", "email", "name", "seq", "created_at"]
        )
        await conn.copy_records_to_table("tasks", records=task_rows, columns=TASK_COLUMNS)
        await conn.copy_records_to_table(
            "events", records=event_rows, columns=["user_id", "seq", "type", "task_id", "body", "at"]
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def touch_users(port: int, users: list[str], concurrency: int = 10) -> None:
    """One `GET /api/tasks` per user, so first-sight work is not part of the measurement."""
    queue = list(users)

    async def loop() -> None:
        conn = await HttpConnection.open("127.0.0.1", port)
        try:
            while queue:
                user = queue.pop()
                status, body = await conn.request(
                    "GET", "/api/tasks", {"Authorization": f"Bearer {mint(user)}"}
                )
                if status != 200:
                    raise RuntimeError(f"GET /api/tasks as {user}: {status} {body[:200]!r}")
        finally:
            await conn.close()

    await asyncio.gather(*(loop() for _ in range(concurrency)))


async def run_rest(ctx: Context, modes: list[str]) -> list[Figure]:
    s = ctx.sizes
    figures: list[Figure] = []
    breakdowns: dict[str, dict[str, Any]] = {}
    async with AsyncExitStack() as stack:
        db = await stack.enter_async_context(database(ctx.pg, "rest", ctx.log_dir))
        users = [f"rest-{i:05d}" for i in range(s.rest_users)]
        await seed(db, users, s.rest_tasks)
        tokens = ctx.log_dir / "rest-tokens.txt"
        tokens.write_text("\n".join(mint(u) for u in users) + "\n")
        server = await start_server(stack, "server-rest", db, ctx.log_dir)
        ceiling = await start_ceiling(stack, db, ctx.log_dir)
        quiet = await start_ceiling(stack, db, ctx.log_dir, name="ceiling-quiet", notify=False)
        workers = [] if ctx.wrk else await start_workers(stack, "bench.loadgen", 2, ctx.log_dir)
        await touch_users(server.port, users)
        sides = {"ceiling": ceiling, "server": server, "ceiling-quiet": quiet}

        async def load(svc: HttpService, mode: str, seconds: float) -> LoadResult:
            if ctx.wrk:
                return await run_wrk(ctx.wrk, svc.port, mode, tokens, s.rest_connections, seconds)
            return await run_python(workers, svc.port, mode, users, s.rest_connections, seconds)

        for mode in modes:
            # Writes are also measured against the ceiling that commits without a NOTIFY
            # (the writes the database itself could take through the least code), in the
            # same interleaved rounds, so the machine's drift falls on all three alike.
            order = ["ceiling", "server"] + (["ceiling-quiet"] if mode == "write" else [])
            raw: dict[str, list[dict[str, float]]] = {side: [] for side in order}
            for side in order:
                await load(sides[side], mode, s.rest_warmup_seconds)
            for r in range(s.rest_rounds):
                for side in order[r % len(order) :] + order[: r % len(order)]:
                    raw[side].append(await _measure(load, sides[side], mode, s.rest_seconds))
            ctx.raw[f"rest-{mode}"] = raw
            figures += _figures(mode, raw, s.rest_connections >= 100)
            if mode == "write":
                figures += _against_quiet(raw, s.rest_connections >= 100)
            if ctx.profile_dir is not None:
                profiles = {
                    side: await _profile_round(ctx, load, sides[side], mode, side, raw[side])
                    for side in ("ceiling", "server")
                }
                if all(profiles.values()):
                    breakdowns[mode] = profiles
    if breakdowns:
        ctx.raw["cpu-breakdown"] = breakdowns
    return figures


Load = Callable[[HttpService, str, float], Awaitable[LoadResult]]


async def _measure(load: Load, svc: HttpService, mode: str, seconds: float) -> dict[str, float]:
    """One round of load, with the process's CPU time per request over it, and
    PostgreSQL's (all its processes): the database's share of a request's cost."""
    cpu, pg = cpu_seconds(svc.pid), postgres_cpu_seconds()
    result = await load(svc, mode, seconds)
    cpu, pg = cpu_seconds(svc.pid) - cpu, postgres_cpu_seconds() - pg
    n = max(result.requests, 1)
    return {**result.as_dict(), "cpu_us": cpu / n * 1e6, "pg_cpu_us": pg / n * 1e6}


async def _profile_round(
    ctx: Context, load: Load, svc: HttpService, mode: str, side: str, measured: list[dict[str, float]]
) -> dict[str, Any] | None:
    """A round under py-spy; its samples split the CPU per request the table shows (the
    best measured round's) into categories. None if py-spy wrote nothing."""
    label = f"rest-{mode}" + ("" if side == "server" else "-ceiling")
    async with profiled(ctx, svc.pid, label) as folded:
        during = await _measure(load, svc, mode, ctx.sizes.rest_seconds)
    if folded is None or not folded.exists():
        return None
    cpu_us = max(measured, key=lambda r: r["rps"])["cpu_us"]
    samples = count(folded)
    return {
        "cpu_us": cpu_us,
        "cpu_us_profiled": during["cpu_us"],
        "rps_profiled": during["rps"],
        "samples": sum(samples.values()),
        "samples_by_category": dict(samples),
        "us_per_request": per_request(samples, cpu_us),
    }


def _against_quiet(raw: dict[str, list[dict[str, float]]], at_100: bool) -> list[Figure]:
    """Our write rate against the ceiling without any notification: with the wake-ups
    sent after the commit and coalesced, the notification should cost little. With the
    CPU each side's best round cost the server process and PostgreSQL per write: on this
    machine they share two cores, so either one's share decides the rate."""
    bench = "REST write `POST /api/tasks`"
    ours = max(raw["server"], key=lambda r: r["rps"])
    quiet = max(raw["ceiling-quiet"], key=lambda r: r["rps"])
    ratio = ours["rps"] / quiet["rps"] if quiet["rps"] else 0.0
    return [
        Figure(
            bench,
            "requests/s vs the ceiling without NOTIFY",
            ours["rps"],
            quiet["rps"],
            "req/s",
            "≥ 0.8× ceiling without NOTIFY",
            ratio >= 0.8 if at_100 else None,
        ),
        Figure(
            bench,
            "server CPU per request vs the ceiling without NOTIFY",
            ours["cpu_us"],
            quiet["cpu_us"],
            "µs",
        ),
        Figure(
            bench,
            "PostgreSQL CPU per request vs the ceiling without NOTIFY",
            ours["pg_cpu_us"],
            quiet["pg_cpu_us"],
            "µs",
        ),
    ]


def _figures(mode: str, raw: dict[str, list[dict[str, float]]], at_100: bool) -> list[Figure]:
    bench = "REST read `GET /api/tasks`" if mode == "read" else "REST write `POST /api/tasks`"
    ours = max(raw["server"], key=lambda r: r["rps"])
    top = max(raw["ceiling"], key=lambda r: r["rps"])
    ratio = ours["rps"] / top["rps"] if top["rps"] else 0.0
    tail = ours["p99_ms"] / top["p99_ms"] if top["p99_ms"] else float("inf")
    return [
        Figure(bench, "requests/s", ours["rps"], top["rps"], "req/s", "≥ 0.6× ceiling", ratio >= 0.6),
        Figure(bench, "server CPU per request", ours["cpu_us"], top["cpu_us"], "µs"),
        Figure(bench, "PostgreSQL CPU per request", ours["pg_cpu_us"], top["pg_cpu_us"], "µs"),
        Figure(bench, "p50 latency", ours["p50_ms"], top["p50_ms"], "ms"),
        Figure(
            bench,
            "p99 latency",
            ours["p99_ms"],
            top["p99_ms"],
            "ms",
            "≤ 1.5× ceiling",
            tail <= 1.5 if at_100 else None,
        ),
        Figure(
            bench, "errors (non-2xx, socket)", ours["errors"], top["errors"], "", "0", ours["errors"] == 0
        ),
    ]
