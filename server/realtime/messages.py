"""The frames of the live protocol (`GET /api/ws`, `GET /api/events`) as pydantic models.

They generate the message schemas of the AsyncAPI document (`server.api.asyncapi_messages`);
an event frame carries the same `Task` as every REST response. The socket and the
stream write these frames as plain JSON text on their hot paths, and the test suite
checks frames captured from a real server against the schemas generated here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from server.schemas import DeletedTask, EditableField, Task

# What the socket answers a text message it cannot take with; it stays open.
ErrorCode = Literal["invalid_json", "unknown_type"]


class Hello(BaseModel):
    """Always the first frame once authenticated, before any replayed event."""

    type: Literal["hello"]
    seq: int = Field(ge=0, description="The head of the user's change sequence now")
    user_id: str = Field(description="The token's `sub`")


class _Event(BaseModel):
    seq: int = Field(ge=1, description="This change's number in the user's sequence")
    origin: str | None = Field(description="The `X-Client-Id` of the write that caused it, or null")
    at: str = Field(description="When it was committed (UTC)", json_schema_extra={"format": "date-time"})


class TaskCreated(_Event):
    """A task was created; `task` is the task as `GET /api/tasks/{id}` answers it."""

    type: Literal["task.created"]
    task: Task


class TaskUpdated(_Event):
    """A task was replaced, patched or toggled; `task` is the task now."""

    type: Literal["task.updated"]
    task: Task
    changed: list[EditableField] = Field(
        description=(
            "The editable fields whose value this change set, in the order title, description, "
            "completed, due_date (empty for a write that set every field to what it was)"
        )
    )


class TaskDeleted(_Event):
    """A task was deleted; `version` is the version it had then."""

    type: Literal["task.deleted"]
    task: DeletedTask


class Resync(BaseModel):
    """`since` is older than the kept log (or newer than its head): refetch the snapshot
    (`GET /api/tasks`) and subscribe again from its `seq`."""

    type: Literal["resync"]
    seq: int = Field(ge=0, description="The head of the user's change sequence now")


class Ping(BaseModel):
    """Client to server: is the socket alive? Answered with a pong."""

    type: Literal["ping"]


class Pong(BaseModel):
    """The answer to a ping."""

    type: Literal["pong"]


class Auth(BaseModel):
    """Client to server: the first message of a browser (within 5 seconds of the
    handshake), or a fresh token with the same `sub` before the current one expires."""

    type: Literal["auth"]
    token: str = Field(min_length=1, description="A JWT, as the `Authorization` header would carry it")


class Error(BaseModel):
    """A text message the socket could not take (invalid JSON, unknown `type`, a refused
    refresh token: the old one still holds); the socket stays open."""

    type: Literal["error"]
    code: ErrorCode
    detail: str


EVENTS: tuple[type[_Event], ...] = (TaskCreated, TaskUpdated, TaskDeleted)
