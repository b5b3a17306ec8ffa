"""Reconnecting live clients of every transport, for the multi-host scenarios: each
records every event it is handed (nothing deduplicated, so a duplicate shows), when, and
each time its stream dropped and why, and resumes after the last seq it holds."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import httpx
import websockets
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from tests.support import User

_ERRORS = (OSError, httpx.HTTPError, ConnectionClosed, InvalidHandshake, TimeoutError, ValueError)


class Dropped(Exception):
    """A stream ended; the message says how."""


@dataclass
class Reader:
    """One live client: connects, resumes after the last seq it holds on every drop."""

    base_url: str
    user: User
    name: str
    seqs: list[int] = field(default_factory=list)
    received_at: list[float] = field(default_factory=list)  # time.monotonic() of each event
    drops: list[tuple[float, str]] = field(default_factory=list)  # (when, why)
    resyncs: int = 0
    connected: bool = False
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def last(self) -> int:
        return self.seqs[-1] if self.seqs else 0

    def got(self, seq: int) -> None:
        self.seqs.append(seq)
        self.received_at.append(time.monotonic())

    async def run(self) -> None:
        while not self._stop.is_set():
            try:
                await self.follow()
                why = "ended"
            except ConnectionClosed as closed:
                why = f"closed {closed.rcvd.code if closed.rcvd else 1006}"
            except Dropped as dropped:
                why = str(dropped)
            except _ERRORS as exc:
                why = type(exc).__name__
            self.connected = False
            if not self._stop.is_set():
                self.drops.append((time.monotonic(), why))
                await asyncio.sleep(0.1)

    async def follow(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        self._stop.set()

    def drop_after(self, moment: float) -> float | None:
        return next((when for when, _ in self.drops if when >= moment), None)

    def first_event_after(self, moment: float) -> float | None:
        return next((when for when in self.received_at if when >= moment), None)


class WsReader(Reader):
    async def follow(self) -> None:
        url = self.base_url.replace("http://", "ws://") + f"/api/ws?since={self.last}"
        async with websockets.connect(
            url, additional_headers=self.user.headers, open_timeout=5, compression=None
        ) as ws:
            # A host that cannot open the stream must not hold the client: it retries elsewhere.
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
            assert hello["type"] == "hello", hello
            self.connected = True
            async for frame in ws:
                self.handle(json.loads(frame))
        raise Dropped(f"closed {ws.close_code}")

    def handle(self, message: dict[str, object]) -> None:
        if message["type"] == "resync":
            self.resyncs += 1
        elif str(message["type"]).startswith("task."):
            self.got(int(str(message["seq"])))


class SseReader(Reader):
    async def follow(self) -> None:
        headers = {**self.user.headers, "Last-Event-ID": str(self.last)}
        timeout = httpx.Timeout(5, read=30)
        async with (
            httpx.AsyncClient(base_url=self.base_url, timeout=timeout) as http,
            http.stream("GET", "/api/events", headers=headers) as response,
        ):
            if response.status_code != 200:
                raise Dropped(f"SSE answered {response.status_code}")
            self.connected = True
            async for kind, data in _sse_frames(response.aiter_lines(), self._stop):
                if kind == "resync":
                    self.resyncs += 1
                elif kind.startswith("task."):
                    self.got(int(json.loads(data)["seq"]))
        raise Dropped("SSE ended")


async def _sse_frames(lines: AsyncIterator[str], stop: asyncio.Event) -> AsyncIterator[tuple[str, str]]:
    kind, data = "", ""
    async for line in lines:
        if stop.is_set():
            return
        if line.startswith("event: "):
            kind = line[7:]
        elif line.startswith("data: "):
            data = line[6:]
        elif not line and kind:
            yield kind, data
            kind, data = "", ""


class PollReader(Reader):
    wait = 10

    async def follow(self) -> None:
        async with httpx.AsyncClient(base_url=self.base_url, headers=self.user.headers, timeout=30) as http:
            while not self._stop.is_set():
                response = await http.get(
                    "/api/changes", params={"since": self.last, "wait": self.wait, "limit": 1000}
                )
                if response.status_code != 200:
                    raise Dropped(f"changes answered {response.status_code}")
                self.connected = True
                page = response.json()
                if page["resync"]:
                    self.resyncs += 1
                for event in page["events"]:
                    self.got(int(event["seq"]))
