"""The fairness benchmark's victim: one person's app, measured while someone else floods.

A fresh user creates tasks at a steady pace through one server process, reads its list
through the other, and watches its own socket (on the reading process) for each create.
Every sample keeps the moment it was sent (`time.monotonic()`, the same clock in every
process of this machine), so a phase can keep only what was sent once the flood had
begun. The write → own socket time runs from the moment the create was **sent** to the
arrival of its event: what the user sees, a write on one device appearing on another.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from typing import Any

import websockets

from bench.config import mint
from bench.httpclient import HttpConnection
from bench.loadgen import task_body

HOST = "127.0.0.1"
SLOWEST = 5  # samples kept with their time, per kind


class Victim:
    """`await Victim.open(...)` before the phase (connections, socket and first-sight user
    row are not what is measured), then `run`, then `close`."""

    def __init__(
        self,
        headers: dict[str, str],
        writer: HttpConnection,
        reader: HttpConnection,
        ws: websockets.ClientConnection,
    ) -> None:
        self.headers, self.writer, self.reader, self.ws = headers, writer, reader, ws
        # By task id: when its create was sent, and when its event reached the socket
        # (which can be before the create's own response is read).
        self.sent_at: dict[str, float] = {}
        self.arrived: dict[str, float] = {}
        # Per kind: [sent at (monotonic s), latency (ms)].
        self.samples: dict[str, list[list[float]]] = {kind: [] for kind in ("read", "write")}
        self.errors: list[int] = []

    @classmethod
    async def open(cls, write_port: int, read_port: int) -> Victim:
        user = f"victim-{uuid.uuid4().hex[:8]}"
        headers = {"Authorization": f"Bearer {mint(user)}", "Content-Type": "application/json"}
        writer = await HttpConnection.open(HOST, write_port)
        reader = await HttpConnection.open(HOST, read_port)
        for conn in (writer, reader):  # the first-sight user row, on both processes
            status, _ = await conn.request("GET", "/api/tasks?limit=1", headers)
            if status != 200:
                raise RuntimeError(f"victim's first read answered {status}")
        ws = await websockets.connect(f"ws://{HOST}:{read_port}/api/ws", additional_headers=headers)
        json.loads(await asyncio.wait_for(ws.recv(), 10))  # hello
        return cls(headers, writer, reader, ws)

    async def _watch(self) -> None:
        async for frame in self.ws:
            event = json.loads(frame)
            if event.get("type") == "task.created":
                self.arrived[event["task"]["id"]] = time.monotonic()

    async def run(self, seconds: float, rate: float) -> None:
        """`rate` creates and as many reads per second for `seconds`, then the last echoes."""
        watcher = asyncio.create_task(self._watch())
        try:
            # Each victim's pace starts at a random point of its period: victims in step
            # would all send at the same instants (a moment that slows the machine would
            # hit every victim's sample at once), and all at the flood's very first
            # millisecond, which their samples would then weigh fifty times over.
            await asyncio.sleep(random.uniform(0, 1 / rate))
            start, n = time.monotonic(), 0
            while time.monotonic() - start < seconds:
                t0 = time.monotonic()
                status, body = await self.writer.request(
                    "POST", "/api/tasks", self.headers, task_body("victim")
                )
                t1 = time.monotonic()
                if status == 201:
                    self.samples["write"].append([t0, (t1 - t0) * 1000])
                    self.sent_at[json.loads(body)["id"]] = t0
                else:
                    self.errors.append(status)
                status, _ = await self.reader.request("GET", "/api/tasks?limit=20", self.headers)
                if status == 200:
                    self.samples["read"].append([t1, (time.monotonic() - t1) * 1000])
                else:
                    self.errors.append(status)
                n += 1
                await asyncio.sleep(max(0.0, start + n / rate - time.monotonic()))
            # The last echoes (generously: a late one is slow, only a missing one is lost).
            deadline = time.monotonic() + 10
            while self.sent_at.keys() - self.arrived.keys() and time.monotonic() < deadline:
                if watcher.done():
                    break
                await asyncio.sleep(0.05)
        finally:
            watcher.cancel()

    def result(self, since: float) -> dict[str, Any]:
        """Samples sent at or after `since` (the phase's or the flood's start), lost events,
        errors, and the slowest samples with when they were sent (seconds after `since`:
        a flood's cost may be all at its start)."""
        timed = {kind: [(t, ms) for t, ms in self.samples[kind] if t >= since] for kind in ("read", "write")}
        timed["event"] = [
            (t, (self.arrived[task] - t) * 1000)
            for task, t in self.sent_at.items()
            if task in self.arrived and t >= since
        ]
        out: dict[str, Any] = {kind: [ms for _t, ms in pairs] for kind, pairs in timed.items()}
        out["slowest"] = {
            kind: sorted(([t - since, ms] for t, ms in pairs), key=lambda x: -x[1])[:SLOWEST]
            for kind, pairs in timed.items()
        }
        out["before_flood"] = sum(1 for t, _ in self.samples["write"] if t < since)
        out["lost"] = len(self.sent_at.keys() - self.arrived.keys())
        out["errors"] = len(self.errors)
        out["close_code"] = self.ws.close_code or 0
        return out

    async def close(self) -> None:
        await self.ws.close()
        await self.writer.close()
        await self.reader.close()
