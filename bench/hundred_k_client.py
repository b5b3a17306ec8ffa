"""Load-generator worker of `python -m bench.hundred_k` (driven by `bench.worker.Worker`,
run inside the client namespace).

Holds thousands of authenticated sockets (bench/wsclient.py's bare protocol: no task per
socket) and behaves as the project's clients do when one closes: it reconnects through
the same HAProxy with `since=<last seq>` after the Python client's backoff
(tasksync_client.backoff: attempt n waits uniform(½, 1) × min(30, 0.5 × 2ⁿ) s; a
handshake refused with a `Retry-After` waits that long on top, as the Python client
does: tasksync_client.errors.server_wait). Each
socket checks its own stream (a seq not one past the last is a gap or a duplicate) and,
after a reconnection, notes when it was caught up: its last seq at or past the `hello`
seq (the head when the server opened the stream).
"""

from __future__ import annotations

import asyncio
import json
import random
import time
from collections import Counter
from typing import Any

from bench.config import mint
from bench.worker import run_worker
from bench.wsclient import Refused, WsClient

BACKOFF_INITIAL, BACKOFF_MAX = 0.5, 30.0


def backoff(attempt: int) -> float:
    ceiling = min(BACKOFF_MAX, BACKOFF_INITIAL * 2 ** min(attempt, 16))
    return random.uniform(ceiling / 2, ceiling)


def next_wait(exc: BaseException, attempt: int) -> float:
    """The wait before attempt `attempt + 1`: the backoff, after the server's
    `Retry-After` if the handshake was refused with one."""
    told = exc.retry_after if isinstance(exc, Refused) else None
    return (told or 0.0) + backoff(attempt)


class Slot:
    """One socket of one user, across its reconnections."""

    __slots__ = (
        "caught_at", "conn", "fleet", "hello_seq", "last", "lost_at", "port", "reconnected_at", "reconnects",
        "user",
    )  # fmt: skip

    def __init__(self, fleet: Fleet, user: str, port: int) -> None:
        self.fleet, self.user, self.port = fleet, user, port
        self.conn: Conn | None = None
        self.last = 0
        self.hello_seq = 0
        self.lost_at: float | None = None  # set while (and after) an outage since the last mark
        self.reconnected_at: float | None = None
        self.caught_at: float | None = None
        self.reconnects = 0

    def opened(self, conn: Conn, hello: dict[str, Any]) -> None:
        self.conn = conn
        self.hello_seq = int(hello.get("seq", 0))
        if self.lost_at is None:  # the first open: live from the hello on
            self.last = self.hello_seq
            return
        self.reconnected_at = time.time()
        if self.last >= self.hello_seq:
            self.caught_at = self.reconnected_at

    def event(self, arrived: float, text: str) -> None:
        message = json.loads(text)
        kind = message.get("type")
        if kind == "resync":
            self.fleet.resyncs += 1
            self.last = int(message.get("seq", 0))
            return
        if kind == "error":
            self.fleet.errors[str(message.get("code"))] += 1
            return
        seq = int(message.get("seq", 0))
        if seq <= self.last:
            self.fleet.duplicated += 1
            return
        if seq != self.last + 1:
            self.fleet.gaps += 1
        self.last = seq
        if self.fleet.recording:
            title = (message.get("task") or {}).get("title")
            if title:
                self.fleet.deliveries.append((title, arrived))
        if self.lost_at is not None and self.caught_at is None and seq >= self.hello_seq:
            self.caught_at = arrived

    def lost(self) -> None:
        self.conn = None
        if self.fleet.closing:
            return
        if self.lost_at is None:
            self.lost_at = time.time()
            self.reconnected_at = self.caught_at = None
        asyncio.get_running_loop().create_task(self.fleet.reconnect(self))


class Conn(WsClient):
    def __init__(self, slot: Slot, host: str, path: str, token: str) -> None:
        super().__init__(host, slot.port, path, token, self._got)
        self.slot = slot
        self.live = False  # hello received: a loss from here on is an outage to recover from

    def _got(self) -> None:
        arrived, text = self.messages.pop()
        self.slot.event(arrived, text)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        if self.live:
            self.live = False
            self.slot.lost()


class Fleet:
    def __init__(self) -> None:
        self.slots: list[Slot] = []
        self.host = ""
        self.tokens: dict[str, str] = {}
        self.recording = False
        self.closing = False
        self.deliveries: list[tuple[str, float]] = []
        self.gaps = self.duplicated = self.resyncs = 0
        self.errors: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()

    async def _connect(self, slot: Slot, within: float) -> None:
        loop = asyncio.get_running_loop()
        path = "/api/ws" if slot.lost_at is None else f"/api/ws?since={slot.last}"
        token = self.tokens[slot.user]
        _, conn = await loop.create_connection(
            lambda: Conn(slot, self.host, path, token), self.host, slot.port
        )
        try:
            hello = json.loads(await asyncio.wait_for(conn.hello, within))
        except BaseException:
            conn.close()
            raise
        conn.live = True
        slot.opened(conn, hello)

    async def open(
        self, host: str, targets: list[tuple[int, str]], concurrency: int = 64, within: float = 60
    ) -> dict[str, Any]:
        """One socket per `(HAProxy port, user)`; a socket that fails is tried again as a
        client would: 3 attempts, not counting handshakes refused with a `Retry-After`
        (a process opening as many as it may), which are tried again for up to 15 min."""
        self.host = host
        for _, user in targets:
            if user not in self.tokens:
                self.tokens[user] = mint(user, ttl=24 * 3600)
        gate = asyncio.Semaphore(concurrency)
        failed: Counter[str] = Counter()
        retried = 0

        started = time.monotonic()
        deadline = started + 900

        async def one(port: int, user: str) -> None:
            nonlocal retried
            slot = Slot(self, user, port)
            attempt = failures = 0
            while True:
                try:
                    async with gate:  # not held while waiting to try again
                        await self._connect(slot, within)
                except (OSError, TimeoutError, ValueError) as exc:
                    told = isinstance(exc, Refused) and exc.retry_after is not None
                    failures += 0 if told else 1
                    if failures == 3 or time.monotonic() > deadline:
                        failed[repr(exc)[:120]] += 1
                        return
                    retried += 1
                    await asyncio.sleep(next_wait(exc, attempt))
                    attempt += 1
                    continue
                self.slots.append(slot)
                return

        await asyncio.gather(*(one(port, user) for port, user in targets))
        return {
            "opened": len(self.slots),
            "errors": dict(failed),
            "retried": retried,
            "seconds": time.monotonic() - started,
        }

    async def reconnect(self, slot: Slot) -> None:
        attempt, wait = 0, backoff(0)
        while not self.closing:
            await asyncio.sleep(wait)
            try:
                await self._connect(slot, 30)
                slot.reconnects += 1
                return
            except (OSError, TimeoutError, ValueError) as exc:
                self.failures[repr(exc)[:120]] += 1
                attempt += 1
                wait = next_wait(exc, attempt)

    async def ping(self, within: float = 60) -> dict[str, Any]:
        """Ping every open socket; `alive` counts those that answered with a pong."""
        conns = [s.conn for s in self.slots if s.conn is not None]
        before = {id(c): c.pongs for c in conns}
        for c in conns:
            c.ping()
        deadline = time.monotonic() + within
        alive = 0
        while time.monotonic() < deadline:
            alive = sum(1 for c in conns if c.pongs > before[id(c)])
            if alive == len(conns):
                break
            await asyncio.sleep(0.05)
        return {"alive": alive, "sockets": len(self.slots), "open": len(conns)}

    async def record(self, on: bool) -> dict[str, Any]:
        self.recording = on
        if on:
            self.deliveries = []
        return {"recording": on}

    async def deliveries_report(self) -> dict[str, Any]:
        return {
            "deliveries": self.deliveries,
            "gaps": self.gaps,
            "duplicated": self.duplicated,
            "resyncs": self.resyncs,
            "errors": dict(self.errors),
        }

    async def mark(self) -> dict[str, Any]:
        """Forget past outages: the next `outages()` reports only those after this."""
        for slot in self.slots:
            slot.lost_at = slot.reconnected_at = slot.caught_at = None
        self.failures.clear()
        self.resyncs = 0
        return {"marked": len(self.slots)}

    async def outages(self) -> dict[str, Any]:
        """Every socket that lost its connection since `mark()`: `[lost, reconnected, caught]`."""
        rows = [[s.lost_at, s.reconnected_at, s.caught_at] for s in self.slots if s.lost_at is not None]
        return {
            "rows": rows,
            "open": sum(1 for s in self.slots if s.conn is not None),
            "resyncs": self.resyncs,
            "failures": dict(self.failures),
        }

    async def close(self) -> dict[str, Any]:
        self.closing = True
        for slot in self.slots:
            if slot.conn is not None:
                slot.conn.close()
        await asyncio.sleep(0.5)
        count = len(self.slots)
        self.slots.clear()
        self.closing = False
        return {"closed": count}


def main() -> None:
    fleet = Fleet()
    run_worker({
        "open": fleet.open, "ping": fleet.ping, "record": fleet.record, "deliveries": fleet.deliveries_report,
        "mark": fleet.mark, "outages": fleet.outages, "close": fleet.close,
    })  # fmt: skip


if __name__ == "__main__":
    main()
