"""Waiting for a stream's next event while also watching for the reasons to stop
waiting: a timeout, the client going away, or the server draining."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from starlette.requests import Request

from server.realtime.hub import Resync, Stream


async def next_or_stop(
    stream: Stream, within: float, stoppers: list[Awaitable[object]]
) -> tuple[int, str] | Resync | None:
    """The stream's next item, or None when `within` seconds pass or a stopper finishes first.

    Raises `StreamOverflow` like `Stream.next()`; cancelling `Stream.next()` loses nothing.
    """
    nxt = asyncio.ensure_future(stream.next())
    others = [asyncio.ensure_future(s) for s in stoppers]
    try:
        await asyncio.wait([nxt, *others], timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (nxt, *others):
            if not task.done():
                task.cancel()
        await asyncio.gather(nxt, *others, return_exceptions=True)
    if nxt.done() and not nxt.cancelled():
        return nxt.result()
    return None


async def disconnected(request: Request) -> None:
    """Returns when the client has gone (for handlers that have read their whole body)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
