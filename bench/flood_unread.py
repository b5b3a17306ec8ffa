"""The never-read flood: one user whose tasks have large descriptions asks, over many
connections, for its largest list page and changes page, and never reads an answer.

Each connection sends both requests at once (pipelined) with a small receive buffer,
and then only sits there, so the server's answers fill the kernel's buffers and wait in
the server. What the server may hold for it: at most `MAX_REQUESTS_IN_FLIGHT_PER_USER`
of the user's requests in flight per process, each answer about `MAX_PAGE_BYTES`, each
64-KiB piece of it waiting at most `SEND_TIMEOUT_SECONDS` (longer than a phase here, so
the flooder does not reconnect). The user is seeded by the benchmark (`seed_hoarder`).
"""

from __future__ import annotations

import asyncio
import socket
import time
from collections import Counter

from bench.config import mint
from bench.rest import seed

HOST = "127.0.0.1"
PATHS = ("/api/tasks?limit=500", "/api/changes?since=0&limit=1000")
# 10,000 characters is the longest description the server takes; each emoji is 4 bytes
# of UTF-8, so a task is ~40 KB and a 1 MiB page holds about 26 of them.
DESCRIPTION = "\N{GRINNING FACE}" * 10_000
# What a client that means to hold memory asks of its kernel (Linux doubles it).
RECEIVE_BUFFER = 4096


async def seed_hoarder(db_url: str, user: str, tasks: int) -> None:
    await seed(db_url, [user], tasks, description=DESCRIPTION)


async def _unread(port: int, token: str, counts: Counter[str]) -> asyncio.StreamWriter:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RECEIVE_BUFFER)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, (HOST, port))
    # A tiny stream limit: the reader stops taking bytes off the socket after ~2 KB.
    _reader, writer = await asyncio.open_connection(sock=sock, limit=1024)
    head = f"Host: {HOST}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
    writer.write("".join(f"GET {path} HTTP/1.1\r\n{head}" for path in PATHS).encode())
    counts["requests sent"] += len(PATHS)
    counts["connections"] += 1
    return writer


async def flood_unread(
    ports: list[int], user: str, until: float, connections: int, counts: Counter[str]
) -> None:
    token = mint(user)
    writers = [await _unread(ports[n % len(ports)], token, counts) for n in range(connections)]
    await asyncio.sleep(max(0.0, until - time.monotonic()))
    for writer in writers:
        writer.transport.abort()  # what a client that goes away does: the server's sends fail


def describe_unread(counts: dict[str, int]) -> str:
    sent, connections = counts.get("requests sent", 0), counts.get("connections", 0)
    return f"{sent} requests over {connections} connections, none read"
