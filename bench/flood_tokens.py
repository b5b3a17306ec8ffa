"""The bad-token flood: a frontend retrying a request with an expired token on its
keep-alive connections as fast as answers come. The server holds each `401` for
`AUTH_REFUSAL_DELAY_SECONDS`, so each connection gets about one answer a second; past
`AUTH_REFUSALS_HELD_PER_NETWORK` held at once a refusal comes at once and closes its
connection (this flood's 8 connections stay under it), and the flooder reconnects."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

from bench.config import mint
from bench.httpclient import HttpConnection, HttpError

HOST = "127.0.0.1"
# Answered sooner than this: not held (the server was already holding its bound).
AT_ONCE_SECONDS = 0.5


async def _retry(port: int, headers: dict[str, str], until: float, counts: Counter[str]) -> None:
    conn: HttpConnection | None = None
    try:
        while time.monotonic() < until:
            if conn is None or conn.closed:
                conn = await HttpConnection.open(HOST, port)
                counts["connections opened"] += 1
            sent = time.monotonic()
            try:
                status, _ = await conn.request("GET", "/api/tasks?limit=20", headers)
            except (OSError, asyncio.IncompleteReadError, HttpError):
                counts["connection errors"] += 1
                conn = None
                continue
            counts[f"token {status}"] += 1
            if time.monotonic() - sent < AT_ONCE_SECONDS:
                counts["answered at once"] += 1
    finally:
        if conn is not None:
            await conn.close()


async def flood_tokens(
    ports: list[int], user: str, until: float, connections: int, counts: Counter[str]
) -> None:
    headers = {"Authorization": f"Bearer {mint(user, ttl=-3600)}"}  # expired an hour ago
    await asyncio.gather(*(_retry(ports[n % len(ports)], headers, until, counts) for n in range(connections)))


def describe_tokens(counts: dict[str, int]) -> str:
    answered = sum(n for kind, n in counts.items() if kind.startswith("token "))
    return (
        f"{answered:,} requests answered ({counts.get('token 401', 0):,} × 401), "
        f"{counts.get('answered at once', 0):,} of them at once; "
        f"{counts.get('connections opened', 0)} connections"
    )
