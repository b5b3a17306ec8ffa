"""`python -m bench.flood PORT [PORT …]` — the abusive user of the fairness benchmark:
a client stuck in a retry loop. For `--seconds` it sends creates as fast as
`--connections` keep-alive connections allow, spread over the given server ports, and
reopens a WebSocket in a tight loop on each port; then prints one JSON line of counts.
A process of its own, so its CPU is not the measuring client's."""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections import Counter

from bench.config import mint
from bench.httpclient import HttpConnection
from bench.loadgen import task_body


async def writes(port: int, token: str, until: float, counts: Counter[str]) -> None:
    conn = await HttpConnection.open("127.0.0.1", port)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        while time.monotonic() < until:
            status, _ = await conn.request("POST", "/api/tasks", headers, task_body("flood"))
            counts[f"write {status}"] += 1
    finally:
        await conn.close()


async def reconnects(port: int, token: str, until: float, counts: Counter[str]) -> None:
    handshake = (
        f"GET /api/ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Authorization: Bearer {token}\r\n\r\n"
    ).encode()
    while time.monotonic() < until:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(handshake)
        status_line = await reader.readline()
        counts[f"socket {status_line.split()[1].decode() if status_line else 'none'}"] += 1
        writer.close()
        try:
            await writer.wait_closed()
        except OSError:
            pass


async def flood(ports: list[int], user: str, seconds: float, connections: int) -> Counter[str]:
    token, counts = mint(user), Counter[str]()
    until = time.monotonic() + seconds
    jobs = [writes(ports[n % len(ports)], token, until, counts) for n in range(connections)]
    jobs += [reconnects(port, token, until, counts) for port in ports]
    await asyncio.gather(*jobs)
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.flood")
    parser.add_argument("ports", type=int, nargs="+")
    parser.add_argument("--user", default="mallory")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=16)
    args = parser.parse_args()
    counts = asyncio.run(flood(args.ports, args.user, args.seconds, args.connections))
    print(json.dumps(dict(counts)))


if __name__ == "__main__":
    main()
