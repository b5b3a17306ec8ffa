"""Pydantic models of the wire format, as PROTOCOL.md describes it.

Every model ignores members it does not know, so a newer server that adds fields does
not break an older client. Models are frozen: a task held by a live mirror cannot be
changed behind the mirror's back.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

EventType = Literal["task.created", "task.updated", "task.deleted"]


class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")


class Task(_Wire):
    """A task, as every response and every event carries it.

    `version` starts at 1 and grows by one on every change; pass a task (or its
    version) as `if_match=` to make a write conditional on it.
    """

    id: str
    title: str
    description: str = ""
    completed: bool = False
    due_date: date | None = None
    created_at: datetime
    updated_at: datetime
    version: int


class DeletedTask(_Wire):
    """What a `task.deleted` event carries: the id and the version the task had."""

    id: str
    version: int


class TaskPage(_Wire):
    """One page of `GET /api/tasks`.

    `seq` is the user's change sequence at the moment of the snapshot: subscribing
    with `since=seq` continues exactly where this page left off.
    """

    items: list[Task]
    seq: int
    next_cursor: str | None = None


class Snapshot(_Wire):
    """Every task of the user (all pages) and the `seq` of the first page."""

    tasks: list[Task]
    seq: int


class ChangeEvent(_Wire):
    """One entry of the user's change log, the same on every transport."""

    seq: int
    type: EventType
    task: Task | DeletedTask = Field(union_mode="left_to_right")
    origin: str | None = None
    at: datetime

    @model_validator(mode="before")
    @classmethod
    def _task_by_type(cls, data: Any) -> Any:
        # Which shape `task` has is told by `type`, not guessed from its members.
        if isinstance(data, dict) and isinstance(data.get("task"), dict):
            model = DeletedTask if data.get("type") == "task.deleted" else Task
            return {**data, "task": model.model_validate(data["task"])}
        return data

    @property
    def task_id(self) -> str:
        return self.task.id


class ChangesPage(_Wire):
    """One answer of `GET /api/changes`: events after `since`, oldest first.

    `seq` is the head of the user's sequence; `resync` says that `since` is outside the
    kept log (too old, or ahead of the head) and the caller must refetch the tasks.
    """

    events: list[ChangeEvent]
    seq: int
    resync: bool = False


class FieldError(BaseModel):
    """One entry of a validation problem's `errors` list."""

    model_config = ConfigDict(frozen=True, extra="allow")

    field: str | None = None
    loc: list[str | int] = Field(default_factory=list)
    msg: str = ""

    @property
    def name(self) -> str:
        """The field (or query parameter, or header) the error is about."""
        if self.field:
            return self.field
        return str(self.loc[-1]) if self.loc else ""


class Problem(BaseModel):
    """An RFC 9457 problem details document; extension members are kept."""

    model_config = ConfigDict(frozen=True, extra="allow")

    type: str = "about:blank"
    title: str = ""
    status: int
    detail: str = ""
