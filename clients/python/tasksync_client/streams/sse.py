"""The server-sent events transport (`GET /api/events`, resumed with `Last-Event-ID`)."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator

import httpx

from tasksync_client.errors import ProtocolError, TransportError
from tasksync_client.rest import TasksyncClient
from tasksync_client.streams.frames import EVENT_TYPES, Hello, Resync, StreamItem, parse_event

# Idle streams carry a comment line every 15 s by default; a minute of silence means
# the connection is dead even if TCP has not noticed.
TIMEOUT = httpx.Timeout(10.0, read=60.0)


class EventParser:
    """Lines in, `(event, data)` out at each blank line, as the HTML standard says."""

    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str) -> tuple[str, str] | None:
        if not line:
            event, data = self._event or "message", self._data
            self._event, self._data = "", []
            return (event, "\n".join(data)) if data else None
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        return None


async def sse_stream(client: TasksyncClient, since: int) -> AsyncGenerator[StreamItem, None]:
    headers = {"Accept": "text/event-stream", "Cache-Control": "no-cache", "Last-Event-ID": str(since)}
    async with client.session.stream("/api/events", headers=headers, http_timeout=TIMEOUT) as response:
        yield Hello()
        parser = EventParser()
        lines = response.aiter_lines()
        while True:
            try:
                line = await anext(lines)
            except StopAsyncIteration:
                return  # the server ended the stream (it does so when the token expires)
            except httpx.TransportError as exc:
                raise TransportError(f"event stream failed: {exc!r}") from exc
            message = parser.feed(line)
            if message is None:
                continue
            event, data = message
            if event == "resync":
                yield Resync()
            elif event in EVENT_TYPES:
                yield parse_event(_json(data))


def _json(data: str) -> object:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ProtocolError(f"an event's data is not JSON: {data[:200]}") from exc
