"""What a live mirror tells its listeners: `Change`s, through `ChangeFeed` iterators."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tasksync_client.models import ChangeEvent, Task

ChangeType = Literal["task.created", "task.updated", "task.deleted", "resync"]


@dataclass(frozen=True, slots=True)
class Change:
    """One change applied to a `LiveTasks` mirror.

    `task` is the task as the mirror has it now (None once deleted); `previous` is how
    the mirror had it before. `own` is true when this client's own write caused the
    change (the event's `origin` is the client's `client_id`, or the client id of a
    write it queued, maybe in an earlier process): a UI that already
    applied its write optimistically can skip its echo. A `"resync"` change means the
    mirror was reloaded from a fresh snapshot: re-render everything.
    """

    type: ChangeType
    seq: int
    task_id: str | None = None
    task: Task | None = None
    previous: Task | None = None
    origin: str | None = None
    own: bool = False
    at: datetime | None = None

    @classmethod
    def from_event(cls, event: ChangeEvent, previous: Task | None, current: Task | None, own: bool) -> Change:
        return cls(
            type=event.type,
            seq=event.seq,
            task_id=event.task_id,
            task=current,
            previous=previous,
            origin=event.origin,
            own=own,
            at=event.at,
        )

    @classmethod
    def resync(cls, seq: int) -> Change:
        return cls(type="resync", seq=seq)


class _End:
    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class ChangeFeed:
    """An async iterator over a mirror's changes, from `LiveTasks.changes()`.

    It yields every change applied after it was created, in order, and ends when the
    mirror is closed, or raises the error that stopped the mirror. Changes wait in the
    feed until read, so read it steadily (or let it go: feeds nobody holds are dropped).
    """

    def __init__(self) -> None:
        self._queue: asyncio.Queue[Change | _End] = asyncio.Queue()
        self._end: _End | None = None

    def put(self, change: Change) -> None:
        if self._end is None:
            self._queue.put_nowait(change)

    def end(self, error: BaseException | None) -> None:
        if self._end is None:
            self._end = _End(error)
            self._queue.put_nowait(self._end)

    def __aiter__(self) -> ChangeFeed:
        return self

    async def __anext__(self) -> Change:
        item = await self._queue.get()
        if isinstance(item, _End):
            self._queue.put_nowait(item)  # every later call ends the same way
            if item.error is not None:
                raise item.error
            raise StopAsyncIteration
        return item
