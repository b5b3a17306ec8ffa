"""A recording websocket client and a task mirror, for the end-to-end sync tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import httpx
import websockets
from websockets.asyncio.client import ClientConnection

from tests.support import User

Frame = dict[str, Any]


class LiveSocket:
    """A websocket that records every frame it receives, and how it was closed."""

    def __init__(
        self,
        url: str,
        user: User,
        *,
        since: int | None = None,
        origin: str | None = None,
        header_auth: bool = True,
        read: bool = True,
    ) -> None:
        self.url = url + (f"?since={since}" if since is not None else "")
        self.user = user
        self.origin = origin
        self.header_auth = header_auth
        self.read = read
        self.frames: list[Frame] = []
        self.close_code: int | None = None
        self.close_reason = ""
        self._changed = asyncio.Condition()
        self._reader: asyncio.Task[None] | None = None
        self.ws: ClientConnection | None = None

    async def __aenter__(self) -> LiveSocket:
        headers = {"Authorization": f"Bearer {self.user.token}"} if self.header_auth else {}
        self.ws = await websockets.connect(
            self.url,
            additional_headers=headers,
            origin=self.origin,  # type: ignore[arg-type]
            max_size=2**24,
            open_timeout=10,
            compression=None,
        )
        if not self.header_auth:
            await self.send({"type": "auth", "token": self.user.token})
        if self.read:
            self._reader = asyncio.create_task(self._read())
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.ws is not None
        await self.ws.close()
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 10)

    async def send(self, message: Any) -> None:
        assert self.ws is not None
        await self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    async def _read(self) -> None:
        assert self.ws is not None
        try:
            async for raw in self.ws:
                async with self._changed:
                    self.frames.append(json.loads(raw))
                    self._changed.notify_all()
        except websockets.ConnectionClosed:
            pass
        async with self._changed:
            rcvd = self.ws.protocol.close_rcvd
            self.close_code = rcvd.code if rcvd else 1006
            self.close_reason = rcvd.reason if rcvd else ""
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[LiveSocket], bool], timeout: float = 10) -> None:
        async def until() -> None:
            async with self._changed:
                await self._changed.wait_for(lambda: predicate(self))

        try:
            await asyncio.wait_for(until(), timeout)
        except TimeoutError:
            raise AssertionError(f"timed out; frames={self.frames[-5:]} close={self.close_code}") from None

    async def wait_seq(self, seq: int, timeout: float = 10) -> None:
        await self.wait_for(lambda s: s.last_seq >= seq, timeout)

    async def wait_closed(self, timeout: float = 10) -> int:
        await self.wait_for(lambda s: s.close_code is not None, timeout)
        assert self.close_code is not None
        return self.close_code

    async def next_frame(self, kind: str, timeout: float = 10) -> Frame:
        start = len(self.frames)
        await self.wait_for(lambda s: any(f.get("type") == kind for f in s.frames[start:]), timeout)
        return next(f for f in self.frames[start:] if f.get("type") == kind)

    @property
    def events(self) -> list[Frame]:
        return [f for f in self.frames if str(f.get("type", "")).startswith("task.")]

    @property
    def last_seq(self) -> int:
        events = self.events
        return int(events[-1]["seq"]) if events else 0

    @property
    def hello(self) -> Frame:
        assert self.frames and self.frames[0]["type"] == "hello", self.frames[:1]
        return self.frames[0]


def assert_contiguous(events: list[Frame], after: int = 0) -> None:
    """In seq order, no gaps, no duplicates, starting right after `after`."""
    seqs = [e["seq"] for e in events]
    assert seqs == list(range(after + 1, after + 1 + len(seqs))), seqs


def apply(mirror: dict[str, Frame], event: Frame) -> None:
    task = event["task"]
    if event["type"] == "task.deleted":
        mirror.pop(task["id"], None)
    else:
        mirror[task["id"]] = task


async def snapshot(base_url: str, user: User) -> tuple[dict[str, Frame], int]:
    """The user's tasks (all pages) and the snapshot's seq."""
    tasks: dict[str, Frame] = {}
    cursor: str | None = None
    seq = -1
    async with httpx.AsyncClient(base_url=base_url, headers=user.headers) as client:
        while True:
            params = {"limit": "500", **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/api/tasks", params=params)).json()
            seq = page["seq"] if seq < 0 else seq
            tasks.update({t["id"]: t for t in page["items"]})
            cursor = page["next_cursor"]
            if cursor is None:
                return tasks, seq
