"""`python -m bench.instructions` — the instructions one write costs the server process,
counted by valgrind's callgrind: a diagnostic for changes too small for the timed
benchmarks to resolve on a machine whose speed drifts from run to run.

The app (`server` or the `ceiling`) is driven in-process through its ASGI callable — no
HTTP server, no load generator — by 20 concurrent `POST /api/tasks` on a fresh
PostgreSQL database of 200 users. One child process runs 200 creates after a warm-up,
another 1,200; the difference over 1,000 is the count per write, start-up and warm-up
cancelled out. About a minute per child; the counts repeat to within a few hundred.

    python -m bench.instructions              # server, then ceiling
    python -m bench.instructions server       # one side
    python -m bench.instructions --drive 50   # no valgrind: 50 creates, checked (a smoke run)

Callgrind counts the process's own instructions, not the kernel's: work that saves
system calls (the access lines written once per loop turn) shows its saving only in
the timed benchmarks, `python -m bench --only rest-write`.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import uvloop

from bench.config import DEFAULT_PG, mint
from bench.rest import seed
from bench.servers import database, server_env

USERS = 200
CONCURRENCY = 20
WARM_UP = 2_000
FEW, MANY = 200, 1_200
BODY = b'{"title":"Buy milk","description":"two litres"}'
App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def _lifespan(app: App) -> Callable[[], Awaitable[None]]:
    """Start the app's lifespan; returns its shutdown."""
    inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    outbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    task = asyncio.create_task(app({"type": "lifespan", "asgi": {"version": "3.0"}}, inbox.get, outbox.put))
    await inbox.put({"type": "lifespan.startup"})
    started = await outbox.get()
    if started["type"] != "lifespan.startup.complete":
        raise RuntimeError(f"the app did not start: {started}")

    async def stop() -> None:
        await inbox.put({"type": "lifespan.shutdown"})
        await outbox.get()
        await task

    return stop


async def _create(app: App, authorization: bytes) -> None:
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/tasks",
        "raw_path": b"/api/tasks",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"bench"),
            (b"authorization", authorization),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(BODY)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "state": {},
        # As the guarded HTTP protocol marks a body that came with its headers (most do).
        "tasksync.body_in": True,
    }
    sent = False
    statuses: list[int] = []

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": BODY, "more_body": False}
        await asyncio.Event().wait()  # the client never goes away
        raise AssertionError

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app(scope, receive, send)
    if statuses != [201]:
        raise RuntimeError(f"a create was answered {statuses}")


async def drive(side: str, creates: int, pg: str) -> None:
    """Warm up, then `creates` creates (the part the count is for)."""
    with tempfile.TemporaryDirectory() as logs:
        async with AsyncExitStack() as stack:
            db = await stack.enter_async_context(database(pg, "instructions", Path(logs)))
            users = [f"rest-{i:05d}" for i in range(USERS)]
            await seed(db, users, 20)
            os.environ.update(server_env(db, CEILING_DSN=db, CEILING_NOTIFY="0"))
            app: App
            if side == "server":
                from server.app import create_app
                from server.settings import Settings

                app = create_app(Settings())
            else:
                from bench.ceiling_app import app as ceiling

                app = ceiling
            stop = await _lifespan(app)
            tokens = [f"Bearer {mint(user)}".encode() for user in users]

            async def creates_of(worker: int, count: int) -> None:
                for n in range(count):
                    await _create(app, tokens[(worker * count + n) % len(tokens)])

            await asyncio.gather(*(creates_of(w, WARM_UP // CONCURRENCY) for w in range(CONCURRENCY)))
            await asyncio.gather(*(creates_of(w, creates // CONCURRENCY) for w in range(CONCURRENCY)))
            await stop()


def _counted(side: str, creates: int, pg: str) -> int:
    """Instructions of a child process driving `creates` creates, under callgrind."""
    with tempfile.TemporaryDirectory() as out:
        argv = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}/callgrind.out",
            sys.executable, "-m", "bench.instructions", side, "--drive", str(creates), "--pg", pg,
        ]  # fmt: skip
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        done = subprocess.run(argv, capture_output=True, text=True, env=env, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"callgrind gave no count:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("sides", nargs="*", help="server, ceiling (default: both)")
    parser.add_argument("--drive", type=int, help="no valgrind: drive this many creates and stop")
    parser.add_argument("--pg", default=os.environ.get("TASKSYNC_BENCH_PG", DEFAULT_PG))
    args = parser.parse_args()
    sides = args.sides or ["server", "ceiling"]
    if not set(sides) <= {"server", "ceiling"}:
        parser.error("sides are server and ceiling")
    if args.drive is not None:
        for side in sides:
            uvloop.run(drive(side, args.drive, args.pg))  # the servers' loop
        return
    if shutil.which("valgrind") is None:
        sys.exit("valgrind is missing: apt-get install valgrind")
    for side in sides:
        per_write = (_counted(side, MANY, args.pg) - _counted(side, FEW, args.pg)) / (MANY - FEW)
        print(f"{side}: {per_write:,.0f} instructions per write")


if __name__ == "__main__":
    main()
