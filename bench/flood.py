"""`python -m bench.flood` — the abusive user of the fairness benchmark, a worker process
(`bench.worker`) of its own so its CPU and event loop are not the measuring client's.

Command `flood` with a `kind` (`FLOODS`), the server ports, the flooding user, seconds and
connections: it floods until the time is up and answers `started` (`time.monotonic()`
just before its first connection, the clock the victim's samples share), its counts and
the share of a core it used.

The `writes` flood lives here: a client stuck in a retry loop sends creates as fast as
its keep-alive connections allow (the whole write budget at once, and every refusal
retried), spread over the ports, and reopens a WebSocket in a tight loop on each port.
"""

from __future__ import annotations

import asyncio
import resource
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from bench.config import mint
from bench.flood_sockets import flood_sockets
from bench.flood_tokens import flood_tokens
from bench.flood_unread import flood_unread
from bench.httpclient import HttpConnection
from bench.loadgen import task_body
from bench.worker import run_worker

HOST = "127.0.0.1"


async def writes(port: int, token: str, until: float, counts: Counter[str]) -> None:
    conn = await HttpConnection.open(HOST, port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        while time.monotonic() < until:
            status, _ = await conn.request("POST", "/api/tasks", headers, task_body("flood"))
            counts[f"write {status}"] += 1
    finally:
        await conn.close()


async def reconnects(port: int, token: str, until: float, counts: Counter[str]) -> None:
    handshake = (
        f"GET /api/ws HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    while time.monotonic() < until:
        reader, writer = await asyncio.open_connection(HOST, port)
        writer.write(handshake)
        status_line = await reader.readline()
        counts[f"socket {status_line.split()[1].decode() if status_line else 'none'}"] += 1
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


async def flood_writes(
    ports: list[int], user: str, until: float, connections: int, counts: Counter[str]
) -> None:
    token = mint(user)
    jobs = [writes(ports[n % len(ports)], token, until, counts) for n in range(connections)]
    jobs += [reconnects(port, token, until, counts) for port in ports]
    await asyncio.gather(*jobs)


def describe_writes(counts: dict[str, int]) -> str:
    sent = sum(n for kind, n in counts.items() if kind.startswith("write "))
    refused = counts.get("write 429", 0)
    opens = sum(n for kind, n in counts.items() if kind.startswith("socket "))
    return (
        f"{sent:,} creates, {refused:,} refused, {counts.get('write 201', 0)} accepted; "
        f"{opens:,} socket opens, {counts.get('socket 101', 0)} accepted"
    )


Flooder = Callable[[list[int], str, float, int, Counter[str]], Awaitable[None]]
FLOODS: dict[str, Flooder] = {
    "writes": flood_writes,
    "tokens": flood_tokens,
    "sockets": flood_sockets,
    "unread": flood_unread,
}


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def flood(kind: str, ports: list[int], user: str, seconds: float, connections: int) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    cpu, started = _cpu_seconds(), time.monotonic()
    await FLOODS[kind](ports, user, started + seconds, connections, counts)
    # The flooder shares the machine's cores with the servers and the victims: what it
    # took of them is part of what the victims see.
    busy = (_cpu_seconds() - cpu) / (time.monotonic() - started)
    return {"started": started, "counts": dict(counts), "flooder_cpu_busy": busy}


if __name__ == "__main__":
    run_worker({"flood": flood})
