"""The live transports. Each is an async generator that, from `since`, yields a `Hello`
once subscribed, then every `ChangeEvent` after `since` in order, or a `Resync`. It
raises a `TasksyncError` when the connection fails and returns when the server ends
the stream; reconnecting is the caller's business (see `LiveTasks`)."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Literal

from tasksync_client.rest import TasksyncClient
from tasksync_client.streams.frames import Hello, Resync, StreamItem
from tasksync_client.streams.poll import poll_stream
from tasksync_client.streams.sse import sse_stream
from tasksync_client.streams.ws import ws_stream

Transport = Literal["ws", "sse", "poll"]
TRANSPORTS: tuple[Transport, ...] = ("ws", "sse", "poll")


def open_stream(
    transport: Transport, client: TasksyncClient, since: int, *, poll_wait: float
) -> AsyncGenerator[StreamItem, None]:
    if transport == "ws":
        return ws_stream(client, since)
    if transport == "sse":
        return sse_stream(client, since)
    if transport == "poll":
        return poll_stream(client, since, wait=poll_wait)
    raise ValueError(f"unknown transport {transport!r}; choose one of {TRANSPORTS}")


__all__ = ["TRANSPORTS", "Hello", "Resync", "StreamItem", "Transport", "open_stream"]
