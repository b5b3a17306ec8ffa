"""What `LiveTasks` reports when the server does not take a queued write as it was made:
a `Conflict` (another device changed the same field, or changed a task this device
deletes) that waits for the user's choice, or a `Dropped` write (the task is gone, or
the server refused the write)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from tasksync_client.errors import ApiError
from tasksync_client.models import Task
from tasksync_client.outbox import Operation, QueuedWrite

ConflictValue = str | bool | Task | None
"""A field's value as on the wire (a due date is its ISO string), or for a delete the task."""


@dataclass(frozen=True, slots=True)
class Conflict:
    """A disagreement the user has not settled yet: one per task and field.

    `field` is `"title"`, `"description"`, `"completed"` or `"due_date"`, or None for a
    delete of a task another device changed meanwhile; `key` is `"<task_id>/<field>"`
    (`"<task_id>/delete"`). `seen` is the value the user saw when making the change
    (for a delete, the task), `wanted` the value they chose (None for a delete),
    `server` the server's value as this device knows it now (for a delete, the task).
    The task shows the server's value until the user chooses:
    `await live.keep_theirs(conflict)` or `await live.use_mine(conflict)`.

    ```python
    def on_conflict(conflict: Conflict) -> None:
        print(f"{conflict.field}: you wanted {conflict.wanted!r}, it is {conflict.server!r} now")
    ```
    """

    key: str
    task_id: str
    field: str | None
    seen: ConflictValue
    wanted: ConflictValue
    server: ConflictValue

    @classmethod
    def of_field(cls, task_id: str, field: str, seen: Any, wanted: Any, server: Any) -> Conflict:
        return cls(f"{task_id}/{field}", task_id, field, seen, wanted, server)

    @classmethod
    def of_delete(cls, task_id: str, seen: Task | None, server: Task | None) -> Conflict:
        return cls(f"{task_id}/delete", task_id, None, seen, None, server)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "task_id": self.task_id,
            "field": self.field,
            "seen": _json(self.seen),
            "wanted": _json(self.wanted),
            "server": _json(self.server),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Conflict:
        field = data["field"]
        if field is not None:
            return cls(data["key"], data["task_id"], field, data["seen"], data["wanted"], data["server"])
        return cls(data["key"], data["task_id"], None, _task(data["seen"]), None, _task(data["server"]))


def _json(value: ConflictValue) -> Any:
    return value.model_dump(mode="json") if isinstance(value, Task) else value


def _task(data: Any) -> Task | None:
    return Task.model_validate(data) if isinstance(data, dict) else None


@dataclass(frozen=True, slots=True)
class Dropped:
    """A queued write the server refused for good, taken out of the outbox.

    `reason` is `"missing"` (`404` to an edit: the task was deleted elsewhere; every
    later write of that task is dropped with it) or `"rejected"` (another `4xx`:
    invalid fields, the task quota, …); `error` is the server's answer. `write.changes`
    holds what the write wanted.
    """

    write: QueuedWrite
    reason: Literal["missing", "rejected"]
    error: ApiError

    @property
    def operation(self) -> Operation:
        return self.write.operation

    @property
    def task_id(self) -> str:
        return self.write.task_id
