"""Run a coroutine up to its first suspension in the caller, and only the rest in a
task: what Python 3.12's eager tasks (`asyncio.Task(..., eager_start=True)`) do, for
the Python 3.11 this server runs on.

Why: one event for a user with 10,000 open sockets is 10,000 sends. A send almost
always completes without suspending (uvicorn's `send` only waits while the transport
is paused), and a task per socket per event - created, scheduled, run - cost about as
much as the sends themselves. Run eagerly, a send that completes costs no task; a send
that waits (a slow or stalled client) is finished by a task of its own, so the user's
other sockets never wait for it.

The caveat: the first step runs in the *caller's* task (`asyncio.current_task()` is
the caller's, or None in a callback), not in a task of its own as 3.12's eager tasks
do. So the eager part must use nothing bound to the current task (`asyncio.timeout`,
or a library built on it, e.g. a database driver): put an `await asyncio.sleep(0)`
before such code, and what follows runs in the task.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Generator
from types import TracebackType
from typing import Any

__all__ = ["start_eagerly"]


def start_eagerly(coro: Coroutine[Any, Any, None], name: str | None = None) -> asyncio.Task[None] | None:
    """Run `coro` here until it first suspends. `None` if it finished (an exception it
    raised propagates to the caller, as from a plain call); else the task (named `name`)
    that runs the rest, as if `coro` had been a task from the start.

    Example::

        sender = start_eagerly(session.send_pending(), name="ws-send")
        if sender is not None:
            ...  # it waits for something: `sender` finishes it
    """
    try:
        waits_for = coro.send(None)
    except StopIteration:
        return None
    return asyncio.get_running_loop().create_task(_Resumed(coro, waits_for), name=name)


class _Resumed(Coroutine[Any, Any, None]):
    """`coro`, suspended outside any task, as a coroutine a task can run: the task's
    first step gets what `coro` yielded there (the future it waits for, or None for a
    bare `yield`), as if `coro` had yielded it inside the task; every later step, and
    any exception thrown in, goes to `coro`."""

    __slots__ = ("_coro", "_started", "_waits_for")

    def __init__(self, coro: Coroutine[Any, Any, None], waits_for: Any) -> None:
        self._coro = coro
        self._waits_for = waits_for
        self._started = False

    def send(self, value: Any) -> Any:
        if not self._started:
            # A task's first step always sends None; the future still carries the
            # "blocking" mark its `__await__` set, so the task waits on it.
            self._started = True
            waits_for, self._waits_for = self._waits_for, None
            return waits_for
        return self._coro.send(value)

    def throw(
        self, typ: Any, val: Any = None, tb: TracebackType | None = None, /
    ) -> Any:  # the signature of both of `Coroutine.throw`'s overloads
        if not self._started:
            # Thrown in before the task's first step (a task cancelled before it ran): a
            # task would have cancelled the future it waited on, then thrown in; and the
            # exception must reach `coro` where it waits, or its `finally` never runs.
            self._started = True
            waits_for, self._waits_for = self._waits_for, None
            if isinstance(waits_for, asyncio.Future) and _is_cancellation(typ):
                waits_for.cancel()
        if val is None and tb is None:
            return self._coro.throw(typ)
        return self._coro.throw(typ, val, tb)

    def close(self) -> None:
        self._waits_for = None
        self._coro.close()

    # Awaitable and iterable like a generator-based coroutine: the C `Task` steps an
    # object that is an iterator through `__next__`.
    def __await__(self) -> Generator[Any, None, None]:
        return self

    def __iter__(self) -> _Resumed:
        return self

    def __next__(self) -> Any:
        return self.send(None)


def _is_cancellation(typ: Any) -> bool:
    if isinstance(typ, BaseException):
        return isinstance(typ, asyncio.CancelledError)
    return isinstance(typ, type) and issubclass(typ, asyncio.CancelledError)
