"""Socket client worker (`python -m bench.sockets`, driven by `servers.Worker`).

Holds many authenticated sockets (bench/wsclient.py) to one or more servers and answers
the orchestrator's commands: open, ping, wait_total, arrivals, report, close."""

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


class Sockets:
    def __init__(self) -> None:
        self.socks: list[tuple[str, int, int, WsClient]] = []  # user, port, hello seq, socket
        self.total = 0
        self._target = 0
        self._reached = asyncio.Event()

    def _arrived(self) -> None:
        self.total += 1
        if self.total >= self._target:
            self._reached.set()

    async def open(
        self,
        host: str,
        path: str,
        targets: list[tuple[int, str]],
        concurrency: int = 50,
        within: float = 300,
        attempts: int = 3,
    ) -> dict[str, Any]:
        """Open one socket per `(port, user)` and wait for each one's hello. A connection
        lost before its hello is tried again (`attempts` in all), as a client reconnects:
        among 20,000 opens on a loaded loopback a few are reset before the server reads
        them. `retried` counts those; `errors` what failed for good. A handshake refused
        with a `Retry-After` (a process opening many sockets at once) is tried again after
        that wait plus up to half a second, as the project's clients do, until `within`
        (300 s: on this machine at half speed, 19,900 opens on one process met 52,381
        refusals and four of them were still refused at 120 s); `waited` counts those
        refusals."""
        loop = asyncio.get_running_loop()
        tokens = {user: mint(user) for _, user in targets}
        gate = asyncio.Semaphore(concurrency)
        errors: Counter[str] = Counter()
        retried: Counter[str] = Counter()
        waited = 0
        deadline = time.monotonic() + within

        async def one(port: int, user: str) -> None:
            nonlocal waited
            attempt = 1
            while attempt <= attempts:
                try:
                    async with gate:  # not held while waiting out a Retry-After
                        _, sock = await loop.create_connection(
                            lambda: WsClient(host, port, path, tokens[user], self._arrived), host, port
                        )
                        hello = json.loads(await asyncio.wait_for(sock.hello, within))
                except Refused as exc:
                    if exc.retry_after is None or time.monotonic() + exc.retry_after > deadline:
                        errors[repr(exc)[:120]] += 1
                        return
                    waited += 1
                    await asyncio.sleep(exc.retry_after + random.uniform(0, 0.5))
                    continue
                except ConnectionError as exc:
                    if attempt == attempts or "handshake refused" in str(exc):
                        errors[repr(exc)[:120]] += 1
                        return
                    retried[repr(exc)[:120]] += 1
                    await asyncio.sleep(0.1 * attempt)
                    attempt += 1
                    continue
                except (OSError, TimeoutError, ValueError) as exc:
                    errors[repr(exc)[:120]] += 1
                    return
                self.socks.append((user, port, int(hello.get("seq", 0)), sock))
                return

        started = time.monotonic()
        await asyncio.gather(*(one(port, user) for port, user in targets))
        return {
            "opened": len(self.socks),
            "errors": dict(errors),
            "retried": dict(retried),
            "waited": waited,
            "seconds": time.monotonic() - started,
        }

    async def ping(self, within: float = 60) -> dict[str, Any]:
        """Ping every socket; `alive` counts those that answered with a pong."""
        before = {id(s): s.pongs for *_, s in self.socks}
        for *_, sock in self.socks:
            sock.ping()
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            alive = sum(1 for *_, s in self.socks if s.pongs > before[id(s)])
            if alive == len(self.socks):
                break
            await asyncio.sleep(0.05)
        closed = Counter(str(s.close_code) for *_, s in self.socks if s.close_code is not None)
        return {"alive": alive, "sockets": len(self.socks), "closed": dict(closed)}

    async def wait_total(self, total: int, within: float = 60) -> dict[str, Any]:
        """Wait until `total` event frames have arrived on this worker's sockets."""
        self._target = total
        self._reached.clear()
        if self.total < total:
            try:
                await asyncio.wait_for(self._reached.wait(), within)
            except TimeoutError:
                pass
        return {"total": self.total}

    async def arrivals(self, seq: int) -> dict[str, Any]:
        """When the event with `seq` reached each socket: count, first and last arrival."""
        times, at = [], None
        for *_, sock in self.socks:
            for arrived, text in reversed(sock.messages):
                event = json.loads(text)
                if event.get("seq") == seq:
                    times.append(arrived)
                    at = event.get("at")
                    break
        return {
            "count": len(times),
            "first": min(times, default=None),
            "last": max(times, default=None),
            "at": at,
        }

    async def report(self) -> dict[str, Any]:
        """Every socket's deliveries: `[user, port, hello seq, close code, [[seq, at, arrival, title]…]]`."""
        out = []
        for user, port, hello, sock in self.socks:
            events = []
            for arrived, text in sock.messages:
                event = json.loads(text)
                task = event.get("task") or {}
                events.append([event.get("seq"), event.get("at"), arrived, task.get("title")])
            out.append([user, port, hello, sock.close_code, events])
        return {"sockets": out}

    async def close(self) -> dict[str, Any]:
        count = len(self.socks)
        for *_, sock in self.socks:
            sock.close()
        await asyncio.sleep(0.2)
        self.socks.clear()
        self.total = 0
        return {"closed": count}


def main() -> None:
    s = Sockets()  # asyncio primitives bind to the loop on first use, not here
    run_worker({"open": s.open, "ping": s.ping, "wait_total": s.wait_total, "arrivals": s.arrivals,
                "report": s.report, "close": s.close})  # fmt: skip


if __name__ == "__main__":
    main()
