"""Task operations. Each write runs inside the caller's transaction (`Tx`) and records
its event there, so the change and its event row commit together or not at all; the
other processes are woken once it has committed (`server.realtime.notifier`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from server import wire
from server.db.connection import Conn, Row
from server.db.database import Tx
from server.db.tables import TASK_ID_LEN, tasks, users
from server.errors import (
    EditConflict,
    NotFound,
    PreconditionFailed,
    QuotaExceeded,
    ValidationFailed,
    field_error,
)
from server.realtime.log import event_tail, next_seq, next_seq_counting, now, record_event
from server.schemas import TaskFields, utc_iso
from server.tasks.create_statement import create_statement
from server.tasks.json_patch import EDITABLE, TaskJsonPatch

_DEFAULTS: dict[str, Any] = {"description": "", "completed": False, "due_date": None}
_INSERT_TASK = tasks.insert().values({column.name: sa.bindparam(column.name) for column in tasks.c})
_THIS_TASK = sa.and_(tasks.c.user_id == sa.bindparam("user_id"), tasks.c.id == sa.bindparam("id"))
# Every column but `description_json`: a write derives it anew, a read never needs it.
_ROW_COLUMNS = [c for c in tasks.c if c.name != "description_json"]
_SELECT_TASK = sa.select(*_ROW_COLUMNS).where(_THIS_TASK)
_DELETE_TASK = tasks.delete().where(_THIS_TASK)
# Every field a write may change, all set each time: one statement for every update.
_CHANGEABLE = ("title", "title_key", "description", "completed", "due_date", "updated_at", "version")
_UPDATE_TASK = (
    tasks.update()
    # Not named like the columns: SQLAlchemy reserves those names in an UPDATE for its SET.
    .where(tasks.c.user_id == sa.bindparam("owner"), tasks.c.id == sa.bindparam("task_id"))
    .values({name: sa.bindparam(name) for name in (*_CHANGEABLE, "description_json")})
    .returning(*_ROW_COLUMNS)
)
_COUNT_TASKS = (
    users.update()
    .where(users.c.id == sa.bindparam("user_id"))
    .values(task_count=users.c.task_count + sa.bindparam("delta"))
    .returning(users.c.task_count)
)


def _over_quota(quota: int) -> QuotaExceeded:
    return QuotaExceeded(f"you hold the most tasks allowed ({quota}); delete some first", limit=quota)


@dataclass(frozen=True, slots=True)
class Written:
    """What a write committed: the task as it is now (`None` once deleted) and the seq
    of the event it recorded (the response's `Tasksync-Seq`)."""

    task: dict[str, Any] | None
    seq: int


# The columns `task_json` reads: what a statement that only feeds it needs to select.
WIRE_COLUMNS = ("id", "title", "description", "completed", "due_date", "created_at", "updated_at", "version")


def task_json(m: Mapping[str, Any]) -> dict[str, Any]:
    """A task row's mapping as the wire format (see `server.schemas.Task`). Both drivers
    give `completed` as a bool and `version` as an int (asyncpg, and SQLAlchemy's types
    on SQLite): no coercion here."""
    due, created_at, updated_at = m["due_date"], m["created_at"], m["updated_at"]
    created = utc_iso(created_at)
    return {
        "id": m["id"],
        "title": m["title"],
        "description": m["description"],
        "completed": m["completed"],
        "due_date": due.isoformat() if due is not None else None,
        "created_at": created,
        # A task never changed since its create (every create, most of a list) has one stamp.
        "updated_at": created if updated_at == created_at else utc_iso(updated_at),
        "version": m["version"],
    }


def _valid_id(task_id: str) -> bool:
    # Ids are ours (uuid4 text); anything else cannot name a task, so it is simply
    # not found, and never reaches the database.
    if len(task_id) != TASK_ID_LEN:
        return False
    try:
        uuid.UUID(task_id)
    except ValueError:
        return False
    return True


def check_client_id(task_id: str) -> str:
    """A client-chosen id must be a UUID in canonical lower-case form: one spelling per
    id, so two clients can never create "the same" task under two names."""
    try:
        canonical = str(uuid.UUID(task_id))
    except ValueError:
        canonical = ""
    if canonical != task_id:
        raise ValidationFailed(
            "a client-chosen task id must be a UUID in canonical lower-case form",
            [field_error("path", "id", "must be a lower-case UUID such as 0b5e2c1a-…-…")],
        )
    return task_id


async def get_task(conn: Conn, user_id: str, task_id: str) -> dict[str, Any]:
    return task_json(await _select(conn, user_id, task_id))


async def _select(conn: Conn, user_id: str, task_id: str) -> Row:
    if not _valid_id(task_id):
        raise NotFound("no such task")
    row = await conn.fetchrow(_SELECT_TASK, {"user_id": user_id, "id": task_id})
    if row is None:
        # Someone else's task is as absent as a missing one: existence never leaks.
        raise NotFound("no such task")
    return row


def _check_if_match(row: Row, if_match: list[str] | None) -> None:
    if if_match is None:
        return
    current = f'"{row["version"]}"'
    if "*" in if_match or current in if_match:
        return
    raise PreconditionFailed(f"the task is at version {row['version']}", current=task_json(row))


async def _count(tx: Tx, user_id: str, delta: int) -> int:
    return int(await tx.conn.fetchval(_COUNT_TASKS, {"user_id": user_id, "delta": delta}))


async def create_task(
    tx: Tx,
    user_id: str,
    fields: TaskFields,
    origin: str | None,
    *,
    quota: int,
    task_id: str | None = None,
) -> Written:
    """Create a task; with `task_id` (a client-chosen id, see `check_client_id`) the
    create is refused with 412 when the user already has a task of that id. A user
    holding `quota` tasks is refused (403) until one is deleted."""
    stamp = now()
    values = {
        "id": task_id or str(uuid.uuid4()),
        "user_id": user_id,
        "title": fields.title,
        "title_key": fields.title.casefold(),
        "description": fields.description,
        "description_json": wire.dumps(fields.description),
        "completed": fields.completed,
        "due_date": fields.due_date,
        "created_at": stamp,
        "updated_at": stamp,
        "version": 1,
    }
    if task_id is None and tx.dialect == "postgresql":
        # Nothing to check between the seq and the row: one statement does it all.
        return await _create_in_one_statement(tx, values, origin, quota)
    # The seq and the task count move in one statement; a refusal below (412, 403)
    # rolls both back with the transaction.
    seq, count = await next_seq_counting(tx, user_id, 1)
    if task_id is not None:
        # Under the user's write lock (taken with the seq), so two creates of one id
        # cannot both pass this check.
        existing = await tx.conn.fetchrow(_SELECT_TASK, {"user_id": user_id, "id": task_id})
        if existing is not None:
            raise PreconditionFailed("a task with this id exists", current=task_json(existing))
    if count > quota:
        raise _over_quota(quota)
    values["created_seq"] = seq
    await tx.conn.execute(_INSERT_TASK, values)
    task = task_json(values)
    await record_event(tx, user_id, seq, "task.created", task, origin)
    return Written(task, seq)


async def _create_in_one_statement(tx: Tx, values: dict[str, Any], origin: str | None, quota: int) -> Written:
    """PostgreSQL: see `server.tasks.create_statement`."""
    task = task_json(values)
    user_id, at = values["user_id"], values["created_at"]
    statement_values = {
        **values,
        "now": at,
        "delta": 1,
        "quota": quota,
        "type": "task.created",
        "body_tail": event_tail("task.created", task, origin, at),
    }
    row = await tx.conn.fetchrow_alone(create_statement(), statement_values)
    if row is None or row["seq"] is None:
        raise _over_quota(quota)
    seq = int(row["seq"])
    if tx.announcer is not None:
        tx.announcer.recorded(tx, user_id, seq)
    return Written(task, seq)


async def _claim(tx: Tx, user_id: str, task_id: str, if_match: list[str] | None) -> tuple[int, Row]:
    """Start a write to one task: take the user's next seq (which holds the user's write
    lock until commit), then load the task and check `If-Match` under that lock.
    Any error from here rolls the seq back with the transaction, so no gap appears."""
    if not _valid_id(task_id):
        raise NotFound("no such task")
    seq = await next_seq(tx, user_id)
    row = await _select(tx.conn, user_id, task_id)
    _check_if_match(row, if_match)
    return seq, row


async def _save(
    tx: Tx, user_id: str, seq: int, row: Row, changes: dict[str, Any], origin: str | None
) -> Written:
    values = {name: row[name] for name in _CHANGEABLE} | changes
    values["title_key"] = values["title"].casefold()
    values["description_json"] = wire.dumps(values["description"])
    values["updated_at"] = now()
    values["version"] = row["version"] + 1
    updated = await tx.conn.fetchrow(_UPDATE_TASK, {**values, "owner": user_id, "task_id": row["id"]})
    assert updated is not None  # the row is locked by this transaction since `_claim`
    task, before = task_json(updated), task_json(row)
    # Compared as the wire has them: a client merges by these names.
    changed = [name for name in EDITABLE if task[name] != before[name]]
    await record_event(tx, user_id, seq, "task.updated", task, origin, changed)
    return Written(task, seq)


async def update_task(
    tx: Tx,
    user_id: str,
    task_id: str,
    changes: dict[str, Any],
    if_match: list[str] | None,
    origin: str | None,
) -> Written:
    """Apply `changes` (field → value; `None` resets an optional field to its default)."""
    seq, row = await _claim(tx, user_id, task_id, if_match)
    values = {
        name: (_DEFAULTS[name] if value is None and name in _DEFAULTS else value)
        for name, value in changes.items()
    }
    return await _save(tx, user_id, seq, row, values, origin)


async def patch_task(
    tx: Tx,
    user_id: str,
    task_id: str,
    patch: TaskJsonPatch,
    if_match: list[str] | None,
    origin: str | None,
) -> Written:
    """Apply a JSON Patch document: every `test` must hold against the task as it is now
    (after `If-Match`, if sent), then every replacement applies as one write. A failed
    test writes nothing: `409` with the task now and each failed test."""
    seq, row = await _claim(tx, user_id, task_id, if_match)
    current = task_json(row)
    failed = patch.failed_tests(current)
    if failed:
        names = ", ".join(test["path"] for test in failed)
        raise EditConflict(
            f"the task no longer holds what the patch tests: {names}", current=current, conflicts=failed
        )
    return await _save(tx, user_id, seq, row, patch.changes, origin)


async def replace_task(
    tx: Tx,
    user_id: str,
    task_id: str,
    fields: TaskFields,
    if_match: list[str] | None,
    origin: str | None,
) -> Written:
    return await update_task(tx, user_id, task_id, fields.model_dump(), if_match, origin)


async def toggle_task(
    tx: Tx, user_id: str, task_id: str, if_match: list[str] | None, origin: str | None
) -> Written:
    seq, row = await _claim(tx, user_id, task_id, if_match)
    return await _save(tx, user_id, seq, row, {"completed": not row["completed"]}, origin)


async def delete_task(
    tx: Tx, user_id: str, task_id: str, if_match: list[str] | None, origin: str | None
) -> Written:
    seq, row = await _claim(tx, user_id, task_id, if_match)
    await tx.conn.execute(_DELETE_TASK, {"user_id": user_id, "id": task_id})
    await _count(tx, user_id, -1)
    await record_event(tx, user_id, seq, "task.deleted", {"id": task_id, "version": row["version"]}, origin)
    return Written(None, seq)
