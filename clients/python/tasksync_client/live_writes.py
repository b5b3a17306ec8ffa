"""The writes of `LiveTasks`: each is applied to the mirror at once and queued in its
outbox, as a `QueuedWrite` carrying the request that will be sent."""

from __future__ import annotations

import asyncio
import re
import uuid
from datetime import UTC, date, datetime
from typing import Any

from tasksync_client.mirror import TaskMirror
from tasksync_client.models import Task
from tasksync_client.outbox import Operation, QueuedWrite
from tasksync_client.rest import (
    UNSET,
    TasksyncClient,
    Unset,
    Version,
    patch_body,
    task_fields,
    task_path,
    version_of,
)
from tasksync_client.writes import WriteRequest

# The contract's bounds on the fields, checked before a write is queued: a write the
# server is sure to refuse should fail in the caller's hands, not later in the outbox.
TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
CALENDAR_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class LiveWrites:
    """The write methods of `LiveTasks` (which provides the state they work on)."""

    client: TasksyncClient
    mirror: TaskMirror

    @property
    def closed(self) -> asyncio.Future[None]:
        raise NotImplementedError

    def _notify(self) -> None:
        raise NotImplementedError

    async def create(
        self,
        title: str,
        *,
        description: str = "",
        completed: bool = False,
        due_date: date | str | None = None,
        id: str | None = None,
    ) -> Task:
        """Create a task under a new id (a UUID chosen here, or `id`), shown at once.

        `task = await live.create("Buy milk", due_date=date(2026, 12, 1))`
        """
        task_id = id if id is not None else str(uuid.uuid4())
        if task_id in self.mirror.tasks:
            raise ValueError(f"a task with id {task_id!r} exists already")
        fields = _checked(task_fields(title, description, completed, due_date))
        request = WriteRequest("PUT", task_path(task_id), fields, if_none_match=True)
        created = await self._queue("create", task_id, request, fields, 0)
        assert created is not None
        return created

    async def update(
        self,
        task: str | Task,
        *,
        title: str | Unset = UNSET,
        description: str | None | Unset = UNSET,
        completed: bool | None | Unset = UNSET,
        due_date: date | str | None | Unset = UNSET,
        if_match: Version | None | Unset = UNSET,
    ) -> Task:
        """Change some fields (`None` resets one). `if_match` defaults to the version the
        mirror shows; pass a version to expect that one, or `None` for last-writer-wins.

        `await live.update(task.id, title="Buy oat milk")`
        """
        held = self._held(task)
        changes = patch_body(title=title, description=description, completed=completed, due_date=due_date)
        if not changes:
            raise ValueError("nothing to change")
        expected = _expect(held, if_match)
        request = WriteRequest("PATCH", task_path(held.id), _checked(changes), if_match=expected)
        return await self._queue_edit("update", held, request, changes)

    async def replace(
        self,
        task: str | Task,
        *,
        title: str,
        description: str = "",
        completed: bool = False,
        due_date: date | str | None = None,
        if_match: Version | None | Unset = UNSET,
    ) -> Task:
        """Set every editable field (`PUT`); `if_match` as in `update`.

        `await live.replace(task.id, title="Buy bread")`
        """
        held = self._held(task)
        fields = _checked(task_fields(title, description, completed, due_date))
        request = WriteRequest("PUT", task_path(held.id), fields, if_match=_expect(held, if_match))
        return await self._queue_edit("replace", held, request, fields)

    async def toggle(self, task: str | Task, *, if_match: Version | None | Unset = UNSET) -> Task:
        """Flip `completed`; `if_match` as in `update`.

        `await live.toggle(task.id)`
        """
        held = self._held(task)
        request = WriteRequest("PATCH", task_path(held.id) + "/complete", if_match=_expect(held, if_match))
        return await self._queue_edit("toggle", held, request, {"completed": not held.completed})

    async def remove(self, task: str | Task, *, if_match: Version | None | Unset = UNSET) -> None:
        """Delete; `if_match` as in `update`.

        `await live.remove(task.id)`
        """
        held = self._held(task)
        request = WriteRequest("DELETE", task_path(held.id), if_match=_expect(held, if_match))
        await self._queue("delete", held.id, request, {}, held.version)

    def _held(self, task: str | Task) -> Task:
        task_id = task.id if isinstance(task, Task) else task
        held = self.mirror.tasks.get(task_id)
        if held is None:
            raise KeyError(f"no task {task_id!r} in this mirror")
        return held

    async def _queue_edit(
        self, operation: Operation, held: Task, request: WriteRequest, attempted: dict[str, Any]
    ) -> Task:
        edited = await self._queue(operation, held.id, request, attempted, held.version)
        assert edited is not None
        return edited

    async def _queue(
        self,
        operation: Operation,
        task_id: str,
        request: WriteRequest,
        attempted: dict[str, Any],
        base_version: int,
    ) -> Task | None:
        if self.closed.done():
            raise RuntimeError("the mirror is closed")
        # Sent under this client's id even by a later process, so its echo is known.
        request = WriteRequest(
            request.method,
            request.path,
            request.body,
            if_match=request.if_match,
            if_none_match=request.if_none_match,
            client_id=self.client.client_id,
        )
        write = QueuedWrite(operation, task_id, request, attempted, base_version, datetime.now(UTC))
        shown = await self.mirror.queue(write)
        self._notify()
        return shown


def _expect(held: Task, if_match: Version | None | Unset) -> int | None:
    return held.version if if_match is UNSET else version_of(if_match)


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    title = fields.get("title")
    if title is not None and not 0 < len(str(title).strip()) <= TITLE_MAX:
        raise ValueError(f"a title is 1 to {TITLE_MAX} characters (after trimming)")
    if len(fields.get("description") or "") > DESCRIPTION_MAX:
        raise ValueError(f"a description is at most {DESCRIPTION_MAX} characters")
    due = fields.get("due_date")
    if isinstance(due, str) and not (CALENDAR_DATE.fullmatch(due) and _is_date(due)):
        raise ValueError(f"a due_date is a calendar date (YYYY-MM-DD), not {due!r}")
    return fields


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
