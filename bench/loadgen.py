"""Load generator worker (`python -m bench.loadgen`, driven by `servers.Worker`).

* `closed`: the fallback when `wrk` is unavailable — N keep-alive connections, each
  sending the next request as soon as the previous answer arrived, a random user's
  token per request; latencies in milliseconds.
* `paced`: open-loop writes at a fixed rate (the fan-out benchmark's writer), each a
  `POST /api/tasks` as a random user with title `fw-<n>`, round-robin over servers.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from typing import Any

from bench.config import mint
from bench.httpclient import HttpConnection
from bench.worker import run_worker

HOST = "127.0.0.1"


def _headers(users: list[str]) -> list[dict[str, str]]:
    return [{"Authorization": f"Bearer {mint(u)}", "Content-Type": "application/json"} for u in users]


def task_body(title: str) -> bytes:
    return json.dumps({"title": title, "description": "written by the benchmark"}).encode()


async def closed(
    port: int, method: str, path: str, users: list[str], connections: int, seconds: float
) -> dict[str, Any]:
    headers = _headers(users)
    latencies: list[float] = []
    errors: Counter[str] = Counter()
    ok = (200, 201)
    deadline = time.monotonic() + seconds

    async def loop(n: int) -> None:
        conn = await HttpConnection.open(HOST, port)
        i = 0
        try:
            while time.monotonic() < deadline:
                i += 1
                body = task_body(f"bench {n}-{i}") if method == "POST" else b""
                start = time.perf_counter()
                try:
                    status, _ = await conn.request(method, path, random.choice(headers), body)
                except (OSError, asyncio.IncompleteReadError) as exc:
                    errors[type(exc).__name__] += 1
                    await conn.close()
                    conn = await HttpConnection.open(HOST, port)
                    continue
                latencies.append(round((time.perf_counter() - start) * 1000, 3))
                if status not in ok:
                    errors[f"status {status}"] += 1
        finally:
            await conn.close()

    started = time.monotonic()
    await asyncio.gather(*(loop(n) for n in range(connections)))
    return {"latencies_ms": latencies, "errors": dict(errors), "seconds": time.monotonic() - started}


async def paced(
    ports: list[int], users: list[str], rate: float, seconds: float, connections: int = 16
) -> dict[str, Any]:
    """`[n, user index, port, send time, response time, status]` per write (wall clock)."""
    headers = _headers(users)
    pools: dict[int, asyncio.Queue[HttpConnection]] = {}
    for port in ports:
        pools[port] = asyncio.Queue()
        for _ in range(connections):
            pools[port].put_nowait(await HttpConnection.open(HOST, port))
    writes: list[list[Any]] = []

    async def write(n: int, user: int, port: int) -> None:
        conn = await pools[port].get()
        sent = time.time()
        try:
            status, _ = await conn.request("POST", "/api/tasks", headers[user], task_body(f"fw-{n}"))
        except (OSError, asyncio.IncompleteReadError):
            status = 0
            await conn.close()
            conn = await HttpConnection.open(HOST, port)
        writes.append([n, user, port, sent, time.time(), status])
        pools[port].put_nowait(conn)

    total = int(rate * seconds)
    rng = random.Random(7)
    pending = []
    start = time.monotonic()
    for n in range(total):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        pending.append(asyncio.create_task(write(n, rng.randrange(len(users)), ports[n % len(ports)])))
    await asyncio.gather(*pending)
    elapsed = time.monotonic() - start
    for pool in pools.values():
        while not pool.empty():
            await pool.get_nowait().close()
    return {"writes": writes, "seconds": elapsed}


async def ping() -> dict[str, Any]:
    return {"ok": True}


if __name__ == "__main__":
    run_worker({"closed": closed, "paced": paced, "ping": ping})
