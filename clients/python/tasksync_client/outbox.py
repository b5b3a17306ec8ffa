"""The outbox: writes made through a live mirror, queued as data until the server has them.

A `QueuedWrite` is what the user asked for (a create's fields; an edit's changed
fields, each with the value the user saw; a delete's expected version) plus the
`Idempotency-Key` and client id it is sent under; its `request` is the wire request
made of them. `Outbox` keeps them in order, in memory and, with a `LocalStore`, on
disk, and sends them one at a time: a write is sent again with the same key until the
server answers, so it applies exactly once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from tasksync_client.backoff import Backoff
from tasksync_client.errors import ApiError, TasksyncError, is_auth_failure, is_retryable, server_wait
from tasksync_client.models import Task
from tasksync_client.rest import task_path
from tasksync_client.storage import LocalStore
from tasksync_client.writes import WriteRequest, WriteResult, json_patch, new_key

log = logging.getLogger("tasksync_client")

Operation = Literal["create", "edit", "delete"]


def _now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class QueuedWrite:
    """One write made through `LiveTasks`, from the moment it was made until its echo.

    `operation` is `"create"` (`changes`: every field), `"edit"` (`changes`: field →
    wanted value, `seen`: field → the value shown when it was made, both as JSON
    values) or `"delete"` (`if_match`: the version it expects; `seen`: the task as
    shown). `request` is what is sent, again under the same `key` until answered.
    Once the server has taken it, `seq` is its `Tasksync-Seq` and `result` the task as
    written (None after a delete); it leaves the outbox when the mirror reaches `seq`.
    """

    operation: Operation
    task_id: str
    changes: dict[str, Any] = field(default_factory=dict)
    seen: dict[str, Any] = field(default_factory=dict)
    if_match: int | None = None
    key: str = field(default_factory=new_key)
    client_id: str | None = None
    queued_at: datetime = field(default_factory=_now)
    seq: int | None = None
    result: Task | None = None

    @property
    def accepted(self) -> bool:
        """The server has applied it (its answer arrived)."""
        return self.seq is not None

    @property
    def request(self) -> WriteRequest:
        """The write as it goes on the wire."""
        path = task_path(self.task_id)
        if self.operation == "create":
            return WriteRequest(
                "PUT",
                path,
                self.changes,
                if_none_match=True,
                idempotency_key=self.key,
                client_id=self.client_id,
            )
        if self.operation == "edit":
            body = json_patch(self.seen, self.changes)
            return WriteRequest("PATCH", path, body, idempotency_key=self.key, client_id=self.client_id)
        return WriteRequest(
            "DELETE", path, if_match=self.if_match, idempotency_key=self.key, client_id=self.client_id
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "task_id": self.task_id,
            "changes": self.changes,
            "seen": self.seen,
            "if_match": self.if_match,
            "key": self.key,
            "client_id": self.client_id,
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
            changes=data.get("changes") or {},
            seen=data.get("seen") or {},
            if_match=data.get("if_match"),
            key=data["key"],
            client_id=data.get("client_id"),
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

    def later_for_task(self, write: QueuedWrite) -> list[QueuedWrite]:
        """The writes to the same task queued after `write` (and not sent yet)."""
        later = self._writes[self._writes.index(write) + 1 :]
        return [each for each in later if each.task_id == write.task_id and not each.accepted]

    async def rewrite(self, writes: Mapping[str, QueuedWrite | None]) -> None:
        """Replace queued writes by key, in place (None: take it out). A rewritten write
        may have a new key; it keeps its position in the queue."""
        if self.store is not None and writes:
            await self.store.rewrite_writes(
                {
                    key: None if write is None else (write.key, write.to_json())
                    for key, write in writes.items()
                }
            )
        kept = (writes.get(each.key, each) for each in self._writes)
        self._writes = [each for each in kept if each is not None]

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
