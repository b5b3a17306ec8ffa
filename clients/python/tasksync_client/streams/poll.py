"""The long-poll transport (`GET /api/changes?since=N&wait=S`), for where streams are blocked."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from tasksync_client.rest import TasksyncClient
from tasksync_client.streams.frames import Hello, Resync, StreamItem

# The server's maximum page: a client far behind catches up in few requests.
PAGE = 1000


async def poll_stream(client: TasksyncClient, since: int, *, wait: float) -> AsyncGenerator[StreamItem, None]:
    first = True
    while True:
        page = await client.changes(since, limit=PAGE, wait=wait)
        if first:
            yield Hello(page.seq)
            first = False
        if page.resync:
            yield Resync(page.seq)
            return
        for event in page.events:
            yield event
            since = event.seq
