"""Pydantic wire models: what clients send and what they get back.

These models also generate the OpenAPI document, so the documentation and the
validation are one and the same.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StrictBool,
    StrictStr,
    ValidationError,
)

from server.errors import ValidationFailed, field_error

TITLE_MAX = 200
DESCRIPTION_MAX = 10_000


def utc_iso(value: datetime) -> str:
    """`2026-11-20T10:00:00.123Z`: UTC, millisecond precision, `Z` suffix."""
    # A list response formats 40 of these: orjson's RFC 3339 text, cut to milliseconds,
    # takes 40% of the time of isoformat(timespec="milliseconds").
    if value.tzinfo is not UTC:
        value = value.astimezone(UTC)
    text = orjson.dumps(value, option=orjson.OPT_UTC_Z)  # b'"2026-11-20T10:00:00[.ffffff]Z"'
    if len(text) == 22:  # a whole second: orjson writes no fraction
        return text[1:20].decode() + ".000Z"
    return text[1:24].decode() + "Z"


def is_storable(text: str) -> bool:
    """Whether `text` can be stored as-is: no NUL, no lone surrogate (see `_storable`).

    For text that arrives outside the wire models (token claims, cursors)."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _storable(value: str) -> str:
    # PostgreSQL text cannot hold NUL, and a lone surrogate is not Unicode at all:
    # both are refused here rather than failing in the database driver.
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValueError("must be valid Unicode (no lone surrogates)") from exc
    return value


def _title(value: str) -> str:
    value = _storable(value).strip()
    if not value:
        raise ValueError("must not be empty or only whitespace")
    if len(value) > TITLE_MAX:
        raise ValueError(f"must be at most {TITLE_MAX} characters after trimming")
    return value


_CALENDAR_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date(value: Any) -> Any:
    # Only the ISO 8601 text form; pydantic would otherwise also take numbers and datetimes.
    if value is None or isinstance(value, date):
        return value
    # The extended calendar form only: Python also reads "20261201" and "2026-W49-2".
    if not isinstance(value, str) or not _CALENDAR_DATE.fullmatch(value):
        raise ValueError("must be an ISO 8601 date string (YYYY-MM-DD) or null")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError("must be an ISO 8601 date (YYYY-MM-DD)") from exc


Title = Annotated[StrictStr, AfterValidator(_title), Field(description="1–200 characters after trimming")]
Description = Annotated[
    StrictStr,
    AfterValidator(_storable),
    Field(max_length=DESCRIPTION_MAX, description="Up to 10,000 characters"),
]
DueDate = Annotated[
    date | None,
    BeforeValidator(_iso_date),
    Field(description="An ISO 8601 date, or null", json_schema_extra={"format": "date"}),
]
Timestamp = Annotated[datetime, PlainSerializer(utc_iso, return_type=str)]


class TaskFields(BaseModel):
    """The editable fields of a task, as `POST` and `PUT` take them.

    Other members (`id`, `version`, `user_id`, timestamps, unknown names) are ignored.
    """

    model_config = ConfigDict(extra="ignore", title="TaskInput")

    title: Title
    description: Description = ""
    completed: StrictBool = False
    due_date: DueDate = None


class TaskPatch(BaseModel):
    """A JSON merge patch of the editable fields: members present are changed;
    `null` resets `description`, `completed` and `due_date` to their defaults."""

    model_config = ConfigDict(extra="ignore", title="TaskPatch")

    title: Title | None = None
    description: Description | None = None
    completed: StrictBool | None = None
    due_date: DueDate = None


class Task(BaseModel):
    """A task as every response and event carries it."""

    model_config = ConfigDict(title="Task")

    id: str
    title: str
    description: str
    completed: bool
    due_date: date | None
    created_at: Timestamp
    updated_at: Timestamp
    version: int = Field(ge=1)


class TaskList(BaseModel):
    items: list[Task]
    seq: int = Field(ge=0, description="The caller's change sequence at the snapshot")
    next_cursor: str | None


class DeletedTask(BaseModel):
    id: str
    version: int


EditableField = Literal["title", "description", "completed", "due_date"]


class ChangeEvent(BaseModel):
    """One entry of a user's change log, as every transport carries it."""

    seq: int = Field(ge=1)
    type: Literal["task.created", "task.updated", "task.deleted"]
    task: Task | DeletedTask
    changed: list[EditableField] | None = Field(
        default=None,
        description=(
            "`task.updated` only: the editable fields whose value this change set, in the "
            "order title, description, completed, due_date (empty when none changed)"
        ),
    )
    origin: str | None
    at: str


class ChangesPage(BaseModel):
    events: list[ChangeEvent]
    seq: int = Field(ge=0, description="The head of the caller's change sequence")
    resync: bool


class FailedTest(BaseModel):
    """One JSON Patch `test` that did not hold (a `409` problem's `conflicts`)."""

    path: str = Field(
        description="The tested member: `/title`, `/description`, `/completed`, `/due_date`, `/version`"
    )
    expected: Any = Field(description="The value the test named")
    actual: Any = Field(description="The value the task holds")


class Problem(BaseModel):
    """An RFC 9457 problem details document."""

    model_config = ConfigDict(extra="allow", title="Problem")

    type: str
    title: str
    status: int
    detail: str
    errors: list[dict[str, Any]] | None = None
    current: Task | None = None
    conflicts: list[FailedTest] | None = None


class Health(BaseModel):
    status: Literal["ok"]


def validation_failed(exc: ValidationError, location: str) -> ValidationFailed:
    """Pydantic's errors as a 422 problem that names each field."""
    errors = []
    for err in exc.errors(include_url=False, include_input=False, include_context=False):
        name = ".".join(str(part) for part in err["loc"]) or "body"
        errors.append(field_error(location, name, err["msg"]))
    return ValidationFailed(f"invalid {location}", errors)


def parse_fields(body: dict[str, Any]) -> TaskFields:
    try:
        return TaskFields.model_validate(body)
    except ValidationError as exc:
        raise validation_failed(exc, "body") from None


def parse_patch(body: dict[str, Any]) -> dict[str, Any]:
    """The members of a merge patch that name editable fields, validated."""
    try:
        patch = TaskPatch.model_validate(body)
    except ValidationError as exc:
        raise validation_failed(exc, "body") from None
    present = patch.model_fields_set & set(TaskPatch.model_fields)
    if "title" in present and patch.title is None:
        raise ValidationFailed("invalid body", [field_error("body", "title", "title cannot be null")])
    return {name: getattr(patch, name) for name in present}
