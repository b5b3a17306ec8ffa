"""The outbox: writes made through a live mirror, queued as data until the server has them.

A `QueuedWrite` is the wire request (method, path, body, `If-Match`, `Idempotency-Key`,
client id) plus what the mirror needs to show it before it is sent (the fields the
user asked for, the version they were made on). `Outbox` keeps them in order, in
memory and, with a `LocalStore`, on disk, and sends them one at a time: a write is
sent again with the same key until the server answers, so it applies exactly once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from tasksync_client.backoff import Backoff
from tasksync_client.errors import ApiError, TasksyncError, is_auth_failure, is_retryable, server_wait
from tasksync_client.models import Task
from tasksync_client.storage import LocalStore
from tasksync_client.writes import WriteRequest, WriteResult

log = logging.getLogger("tasksync_client")

Operation = Literal["create", "update", "replace", "toggle", "delete"]


@dataclass(frozen=True, slots=True)
class QueuedWrite:
    """One write made through `LiveTasks`, from the moment it was made until its echo.

    `request` is what is sent (and sent again, same `Idempotency-Key`, until answered);
    `attempted` the fields the user asked for (a toggle: the `completed` it was meant to
    give); `base_version` the version of the task it was made on (0 for a create).
    Once the server has taken it, `seq` is its `Tasksync-Seq` and `result` the task as
    written (None after a delete); it leaves the outbox when the mirror reaches `seq`.
    """

    operation: Operation
    task_id: str
    request: WriteRequest
    attempted: dict[str, Any]
    base_version: int
    queued_at: datetime
    seq: int | None = None
    result: Task | None = None

    @property
    def key(self) -> str:
        return self.request.idempotency_key

    @property
    def accepted(self) -> bool:
        """The server has applied it (its answer arrived)."""
        return self.seq is not None

    def applied_to(self, task: Task | None) -> Task | None:
        """The task as it looks with this write applied on top of `task`.

        A write not yet accepted shows only on the version it was made on: once the
        task has moved on (its own echo came first, or another device changed it and
        the write will meet a conflict) the newer task is shown as it is.
        """
        if self.accepted:
            if self.operation == "delete":
                return None
            assert self.result is not None
            return self.result if task is None or task.version <= self.result.version else task
        if self.operation == "create":
            if task is not None:
                return task
            stamps = {"created_at": self.queued_at, "updated_at": self.queued_at, "version": 1}
            return Task.model_validate({"id": self.task_id, **self.attempted, **stamps})
        if task is None or task.version != self.base_version:
            return task
        if self.operation == "delete":
            return None
        fields = {**task.model_dump(), **self.attempted}
        return Task.model_validate({**fields, "version": task.version + 1, "updated_at": self.queued_at})

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "task_id": self.task_id,
            "request": self.request.to_json(),
            "attempted": self.attempted,
            "base_version": self.base_version,
            "queued_at": self.queued_at.isoformat(),
            "seq": self.seq,
            "result": self.result.model_dump(mode="json") if self.result is not None else None,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> QueuedWrite:
        result = data.get("result")
        return cls(
            operation=data["operation"],
            task_id=data["task_id"],
            request=WriteRequest.from_json(data["request"]),
            attempted=data["attempted"],
            base_version=data["base_version"],
            queued_at=datetime.fromisoformat(data["queued_at"]),
            seq=data.get("seq"),
            result=Task.model_validate(result) if result is not None else None,
        )


Answer = WriteResult | ApiError
"""What the server said to a write: it took it, or refused it for good (a 4xx)."""


class Outbox:
    """The queue of `QueuedWrite`s, oldest first; durable when it has a `LocalStore`."""

    def __init__(self, store: LocalStore | None = None) -> None:
        self.store = store
        self._writes: list[QueuedWrite] = []
        self._wake = asyncio.Event()

    @property
    def writes(self) -> tuple[QueuedWrite, ...]:
        return tuple(self._writes)

    def load(self, writes: Iterable[QueuedWrite]) -> None:
        self._writes = list(writes)

    def for_task(self, task_id: str) -> list[QueuedWrite]:
        return [write for write in self._writes if write.task_id == task_id]

    def later_for_task(self, write: QueuedWrite) -> list[QueuedWrite]:
        """The writes to the same task queued after `write` (and not sent yet)."""
        later = self._writes[self._writes.index(write) + 1 :]
        return [each for each in later if each.task_id == write.task_id and not each.accepted]

    async def add(self, write: QueuedWrite) -> None:
        if self.store is not None:
            await self.store.add_write(write.key, write.to_json())
        self._writes.append(write)
        self.wake()

    async def accept(self, write: QueuedWrite, result: WriteResult) -> None:
        accepted = dataclasses.replace(write, seq=result.seq, result=result.task)
        if self.store is not None:
            await self.store.update_writes({write.key: accepted.to_json()})
        self._writes[self._writes.index(write)] = accepted

    async def remove(self, writes: Iterable[QueuedWrite]) -> None:
        keys = {write.key for write in writes}
        if self.store is not None and keys:
            await self.store.remove_writes(keys)
        self._writes = [write for write in self._writes if write.key not in keys]

    async def settle(self, seq: int) -> set[str]:
        """Drop the accepted writes a mirror at `seq` has seen; the ids of their tasks."""
        seen = [write for write in self._writes if write.seq is not None and write.seq <= seq]
        await self.remove(seen)
        return {write.task_id for write in seen}

    async def rebase_after(self, refused: QueuedWrite) -> None:
        """`refused` never applied: the writes queued after it on the same task were
        counted on a version it would have made, and must not expect it."""
        shifted = {
            write.key: dataclasses.replace(
                write,
                base_version=write.base_version - 1,
                request=dataclasses.replace(write.request, if_match=_earlier(write.request.if_match)),
            )
            for write in self.later_for_task(refused)
            if write.operation != "create"
        }
        if self.store is not None and shifted:
            await self.store.update_writes({key: write.to_json() for key, write in shifted.items()})
        self._writes = [shifted.get(write.key, write) for write in self._writes]

    def wake(self) -> None:
        """Try the next write now (a write was queued, or the connection came back)."""
        self._wake.set()

    async def run(
        self,
        send: Callable[[WriteRequest], Awaitable[WriteResult]],
        answered: Callable[[QueuedWrite, Answer], Awaitable[None]],
        backoff: Backoff,
    ) -> None:
        """Send the queue in order, forever: each write until the server answers it.

        Network failures, `5xx`, `429` and refused tokens leave the write at the head
        of the queue to be sent again, with the same `Idempotency-Key`, after a backoff
        (or as soon as `wake()` says the connection is back). Any other answer goes to
        `answered`, which takes the write out of the queue or marks it accepted.
        """
        attempt = 0
        while True:
            write = next((each for each in self._writes if not each.accepted), None)
            if write is None:
                await self._pause(None)
                continue
            try:
                answer: Answer = await send(write.request)
            except ApiError as exc:
                if is_retryable(exc) or is_auth_failure(exc):
                    attempt = await self._retry_later(write, exc, backoff, attempt)
                    continue
                answer = exc
            except TasksyncError as exc:
                attempt = await self._retry_later(write, exc, backoff, attempt)
                continue
            attempt = 0
            await answered(write, answer)

    async def _retry_later(
        self, write: QueuedWrite, error: TasksyncError, backoff: Backoff, attempt: int
    ) -> int:
        delay = backoff.delay(attempt)
        wait = server_wait(error)  # a 429's or 503's Retry-After: when it takes writes again
        if wait is not None:
            delay = max(delay, wait)
        log.info("outbox: %s %s not sent (%s); again in %.2fs", write.operation, write.task_id, error, delay)
        await self._pause(delay)
        return attempt + 1

    async def _pause(self, seconds: float | None) -> None:
        try:
            async with asyncio.timeout(seconds):
                await self._wake.wait()
        except TimeoutError:
            pass
        self._wake.clear()


def _earlier(version: int | None) -> int | None:
    return None if version is None else version - 1
