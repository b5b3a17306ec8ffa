"""The writes of `LiveTasks` (docs/sync-model.md): each is shown at once and queued in
its outbox as a `QueuedWrite`; an edit carries only the fields it changes, each with
the value the user saw, so it merges with other devices' edits of other fields."""

from __future__ import annotations

import dataclasses
import re
import uuid
import warnings
from collections.abc import Coroutine, Mapping
from datetime import date
from typing import Any

from tasksync_client import merge
from tasksync_client.conflicts import Conflict
from tasksync_client.mirror import TaskMirror
from tasksync_client.models import Task
from tasksync_client.outbox import QueuedWrite
from tasksync_client.rest import UNSET, TaskRef, TasksyncClient, Unset, patch_body, task_fields

# The contract's bounds on the fields, checked before a write is queued: a write the
# server is sure to refuse should fail in the caller's hands, not later in the outbox.
TITLE_MAX = 200
DESCRIPTION_MAX = 10_000
CALENDAR_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# What a field reset with None (as in `TasksyncClient.update`) becomes.
DEFAULTS: dict[str, Any] = {"description": "", "completed": False, "due_date": None}


class LiveWrites:
    """The write methods of `LiveTasks` (which provides the state they work on)."""

    client: TasksyncClient
    mirror: TaskMirror

    def _check_open(self) -> None:
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
        self._check_open()
        task_id = id if id is not None else str(uuid.uuid4())
        if task_id in self.mirror.tasks:
            raise ValueError(f"a task with id {task_id!r} exists already")
        fields = _checked(task_fields(title, description, completed, due_date))
        created = await self._queue(QueuedWrite("create", task_id, changes=fields))
        assert created is not None
        return created

    async def update(
        self,
        task: TaskRef,
        *,
        title: str | Unset = UNSET,
        description: str | None | Unset = UNSET,
        completed: bool | None | Unset = UNSET,
        due_date: date | str | None | Unset = UNSET,
        seen: Mapping[str, Any] | None = None,
    ) -> Task:
        """Change some fields (`None` resets one); the task as shown now.

        Only the fields whose value differs from the one shown are sent, each tested
        against that value: another device's change of another field merges, one of
        the same field becomes a `Conflict`. An edit made in a form opened earlier
        passes `seen`, the values the form showed (only for fields being changed; any
        other name raises `ValueError`): those fields are tested against them, so a
        change made elsewhere meanwhile becomes a `Conflict` instead of being
        overwritten, and a field left as the form showed it is not sent.

        `await live.update(task.id, title="Buy oat milk")`;
        `await live.update(task.id, title=typed, seen={"title": title_when_opened})`
        """
        self._check_open()
        wanted = patch_body(title=title, description=description, completed=completed, due_date=due_date)
        if not wanted:
            raise ValueError("nothing to change")
        reset = {name: DEFAULTS[name] if value is None else value for name, value in wanted.items()}
        return await self._edit(task, reset, seen)

    async def replace(
        self,
        task: TaskRef,
        *,
        title: str,
        description: str = "",
        completed: bool = False,
        due_date: date | str | None = None,
        seen: Mapping[str, Any] | None = None,
    ) -> Task:
        """Set every editable field (those not given to their defaults), as an edit of the
        fields that differ from the ones shown; `seen` as in `update` (any editable field
        may be named: they all change).

        `await live.replace(task.id, title="Buy bread")`
        """
        self._check_open()
        return await self._edit(task, task_fields(title, description, completed, due_date), seen)

    async def complete(self, task: TaskRef, completed: bool = True) -> Task:
        """Set `completed` (never a blind flip: a retry or a merge cannot undo it).

        `await live.complete(task.id)`; `await live.complete(task.id, False)`
        """
        self._check_open()
        return await self._edit(task, {"completed": completed})

    async def delete(self, task: TaskRef) -> None:
        """Delete, if nobody else has changed the task since this device saw it (`If-Match`
        with the confirmed version); if someone did, a `Conflict` with `field` None.

        `await live.delete(task.id)`
        """
        self._check_open()
        shown = self._shown(task)
        confirmed = self.mirror.confirmed.get(shown.id)
        await self.mirror.settle([f"{shown.id}/delete"])
        write = QueuedWrite(
            "delete",
            shown.id,
            seen=shown.model_dump(mode="json"),
            if_match=confirmed.version if confirmed is not None else 0,
        )
        await self._queue(write)

    async def keep_theirs(self, conflict: Conflict | str) -> None:
        """Settle a conflict (or its key) for the server's value: nothing is sent.

        `await live.keep_theirs(conflict)`
        """
        self._check_open()
        await self.mirror.settle([conflict.key if isinstance(conflict, Conflict) else conflict])
        self._notify()

    async def use_mine(self, conflict: Conflict | str) -> Task | None:
        """Settle a conflict (or its key) for the user's value: `wanted` is queued as a new
        edit tested against the value shown now (a delete conflict: the delete again,
        expecting the task's confirmed version now). The task as shown then (None after a
        delete, or if the conflict was settled already).

        `await live.use_mine(conflict.key)`
        """
        self._check_open()
        chosen = self.mirror.conflicts.get(conflict.key if isinstance(conflict, Conflict) else conflict)
        if chosen is None:
            return None  # settled already (by the user, or by the server)
        shown = self.mirror.tasks.get(chosen.task_id)
        if shown is not None and chosen.field is None:
            await self.delete(shown.id)
            return None
        if shown is None or chosen.field is None:
            await self.mirror.settle([chosen.key])
            self._notify()
            return None
        await self.mirror.settle([chosen.key])
        return await self._edit(shown.id, {chosen.field: chosen.wanted})

    # The old names, kept working for existing callers. Each is a plain function that
    # warns at the call, so the warning points at the caller's line whether or not the
    # coroutine it returns is ever awaited.

    def remove(self, task: TaskRef) -> Coroutine[Any, Any, None]:
        """Deprecated: the name is `delete`, as in the REST client, a queued write's
        `operation` and the server's `task.deleted`."""
        warnings.warn("LiveTasks.remove() is deprecated; use delete()", DeprecationWarning, stacklevel=2)
        return self.delete(task)

    def toggle(self, task: TaskRef) -> Coroutine[Any, Any, Task]:
        """Deprecated: `complete` with the opposite of what is shown; a flip says nothing of
        what the user saw: `complete(task.id, not task.completed)` does."""
        warnings.warn(
            "LiveTasks.toggle() is deprecated; use complete(task, not task.completed)",
            DeprecationWarning,
            stacklevel=2,
        )
        return self._toggled(task)

    async def _toggled(self, task: TaskRef) -> Task:
        self._check_open()
        return await self._edit(task, {"completed": not self._shown(task).completed})

    def _shown(self, task: TaskRef) -> Task:
        task_id = task.id if isinstance(task, Task) else task
        shown = self.mirror.tasks.get(task_id)
        if shown is None:
            raise KeyError(f"no task {task_id!r} in this mirror")
        return shown

    async def _edit(
        self, task: TaskRef, wanted: dict[str, Any], saw: Mapping[str, Any] | None = None
    ) -> Task:
        shown = self._shown(task)
        wanted = _checked(wanted)
        changes, seen = merge.new_edit(shown, wanted, _checked_seen(wanted, saw))
        if not changes:
            self._notify()
            return shown
        # Editing a field in conflict is the user's choice for it: that conflict is settled.
        await self.mirror.settle(f"{shown.id}/{name}" for name in changes)
        edited = await self._queue(QueuedWrite("edit", shown.id, changes=changes, seen=seen))
        assert edited is not None
        return edited

    async def _queue(self, write: QueuedWrite) -> Task | None:
        # Sent under this client's id even by a later process, so its echo is known.
        write = dataclasses.replace(write, client_id=self.client.client_id)
        shown = await self.mirror.queue(write)
        self._notify()
        return shown


def _checked(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields as JSON values the server will store: a title trimmed as the server
    trims it (so a later `test` of it holds), every bound checked."""
    if "title" in fields:
        title = fields["title"]
        if not isinstance(title, str) or not 0 < len(title.strip()) <= TITLE_MAX:
            raise ValueError(f"a title is 1 to {TITLE_MAX} characters (after trimming)")
        fields = {**fields, "title": title.strip()}
    if len(fields.get("description") or "") > DESCRIPTION_MAX:
        raise ValueError(f"a description is at most {DESCRIPTION_MAX} characters")
    due = fields.get("due_date")
    if isinstance(due, str) and not (CALENDAR_DATE.fullmatch(due) and _is_date(due)):
        raise ValueError(f"a due_date is a calendar date (YYYY-MM-DD), not {due!r}")
    return fields


def _checked_seen(wanted: Mapping[str, Any], seen: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """`seen` as JSON values, checked as the changes are. It names only fields the edit
    changes: a value seen of a field not being changed means nothing, and a misspelt
    field would silently fall back to the value shown now, overwriting the very change
    `seen` is there to protect."""
    if seen is None:
        return None
    for name in seen:
        if name not in wanted:
            raise ValueError(f"seen names {name!r}, which this edit does not change")
    return _checked({name: _jsonable(value) for name, value in seen.items()})


def _jsonable(value: object) -> object:
    return value.isoformat() if isinstance(value, date) else value


def _is_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
