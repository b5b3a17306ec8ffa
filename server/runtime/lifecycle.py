"""Shutdown as the app sees it.

uvicorn closes websockets with 1012 the moment it is told to stop, but it waits for
in-flight HTTP responses — and SSE streams and long-polls would hold that wait open
until the graceful-shutdown timeout. `python -m server serve` calls `drain()` as soon
as the stop signal arrives; each running app has registered a callback that sets its
`draining` event, and long-lived responses end at once (clients resume by `seq`).
"""

from __future__ import annotations

from collections.abc import Callable

_callbacks: list[Callable[[], None]] = []


def on_drain(callback: Callable[[], None]) -> Callable[[], None]:
    """Call `callback` when the server starts shutting down; returns the unregister."""
    _callbacks.append(callback)
    return lambda: _callbacks.remove(callback)


def drain() -> None:
    for callback in list(_callbacks):
        callback()
