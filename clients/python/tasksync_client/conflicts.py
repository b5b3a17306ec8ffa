"""What `LiveTasks` reports when the server refuses a queued write: a `Conflict` (412,
the task changed elsewhere since the write was made) or a `Dropped` write (404, the
task is gone; or another 4xx). Either way the write leaves the outbox and the mirror
shows the server's state again; nothing is overwritten without the app's word."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from tasksync_client.errors import ApiError, PreconditionFailed
from tasksync_client.models import Task
from tasksync_client.outbox import Operation, QueuedWrite

if TYPE_CHECKING:
    from tasksync_client.live import LiveTasks


@dataclass(frozen=True, slots=True)
class Conflict:
    """A queued write met a newer version (`412`): the other side's change is kept.

    `attempted` holds the fields the user asked for, `current` the task as the server
    has it now (the mirror shows it). `await conflict.reapply()` makes the user's
    change again on top of `current`, as a new queued write.

    ```python
    def on_conflict(conflict: Conflict) -> None:
        print(f"{conflict.task_id} was changed elsewhere; you wanted {conflict.attempted}")
    ```
    """

    write: QueuedWrite
    current: Task | None
    error: PreconditionFailed
    live: LiveTasks

    @property
    def operation(self) -> Operation:
        return self.write.operation

    @property
    def task_id(self) -> str:
        return self.write.task_id

    @property
    def attempted(self) -> dict[str, Any]:
        return self.write.attempted

    async def reapply(self) -> Task | None:
        """Queue the attempted change again, conditional on `current`'s version.

        A delete deletes again; a replace replaces; an edit, a toggle (its `completed`
        as it was meant) or a create (its fields) becomes an update. Returns the task as
        the mirror shows it then (None after a delete).
        """
        if self.current is None:
            raise ValueError("the server did not say what the task is now; nothing to apply on")
        current = self.current
        if self.operation == "delete":
            await self.live.remove(current.id, if_match=current)
            return None
        fields = self.attempted
        if self.operation == "replace":
            return await self.live.replace(current.id, **fields, if_match=current)
        return await self.live.update(current.id, **fields, if_match=current)


@dataclass(frozen=True, slots=True)
class Dropped:
    """A queued write the server refused for good, taken out of the outbox.

    `reason` is `"missing"` (`404`: the task was deleted elsewhere, or never reached
    the server) or `"rejected"` (another `4xx`: invalid fields, the task quota, …);
    `error` is the server's answer.
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

    @property
    def attempted(self) -> dict[str, Any]:
        return self.write.attempted
