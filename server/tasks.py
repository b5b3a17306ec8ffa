"""Task operations. Each write runs inside the caller's transaction (`Tx`) and records
its event there, so the change, its event row and its notification commit together
or not at all.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from server import fastsql
from server.db import Tx
from server.errors import NotFound, PreconditionFailed
from server.models import TASK_ID_LEN, tasks
from server.realtime.log import next_seq, now, record_event
from server.schemas import TaskFields, utc_iso

_DEFAULTS: dict[str, Any] = {"description": "", "completed": False, "due_date": None}
_INSERT_TASK = tasks.insert().values({column.name: sa.bindparam(column.name) for column in tasks.c})


def task_json(m: Mapping[str, Any] | sa.RowMapping) -> dict[str, Any]:
    """A task row's mapping as the wire format (see `server.schemas.Task`)."""
    due = m["due_date"]
    return {
        "id": m["id"],
        "title": m["title"],
        "description": m["description"],
        "completed": bool(m["completed"]),
        "due_date": due.isoformat() if due is not None else None,
        "created_at": utc_iso(m["created_at"]),
        "updated_at": utc_iso(m["updated_at"]),
        "version": int(m["version"]),
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


async def get_task(conn: AsyncConnection, user_id: str, task_id: str) -> dict[str, Any]:
    row = await _select(conn, user_id, task_id)
    return task_json(row._mapping)


async def _select(conn: AsyncConnection, user_id: str, task_id: str) -> sa.Row[Any]:
    if not _valid_id(task_id):
        raise NotFound("no such task")
    row = (
        await conn.execute(sa.select(tasks).where(tasks.c.id == task_id, tasks.c.user_id == user_id))
    ).first()
    if row is None:
        # Someone else's task is as absent as a missing one: existence never leaks.
        raise NotFound("no such task")
    return row


def _check_if_match(row: sa.Row[Any], if_match: list[str] | None) -> None:
    if if_match is None:
        return
    current = f'"{row.version}"'
    if "*" in if_match or current in if_match:
        return
    raise PreconditionFailed(f"the task is at version {row.version}", current=task_json(row._mapping))


async def create_task(tx: Tx, user_id: str, fields: TaskFields, origin: str | None) -> dict[str, Any]:
    seq = await next_seq(tx, user_id)
    stamp = now()
    values = {
        "id": str(uuid.uuid4()),
        "user_id": user_id,
        "title": fields.title,
        "title_key": fields.title.casefold(),
        "description": fields.description,
        "completed": fields.completed,
        "due_date": fields.due_date,
        "created_at": stamp,
        "updated_at": stamp,
        "version": 1,
        "created_seq": seq,
    }
    await fastsql.execute(tx.conn, _INSERT_TASK, values)
    task = task_json(values)
    await record_event(tx, user_id, seq, "task.created", task, origin)
    return task


async def _claim(tx: Tx, user_id: str, task_id: str, if_match: list[str] | None) -> tuple[int, sa.Row[Any]]:
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
    tx: Tx, user_id: str, seq: int, row: sa.Row[Any], values: dict[str, Any], origin: str | None
) -> dict[str, Any]:
    if "title" in values:
        values["title_key"] = values["title"].casefold()
    values["updated_at"] = now()
    values["version"] = row.version + 1
    updated = (
        await tx.conn.execute(tasks.update().where(tasks.c.id == row.id).values(**values).returning(*tasks.c))
    ).one()
    task = task_json(updated._mapping)
    await record_event(tx, user_id, seq, "task.updated", task, origin)
    return task


async def update_task(
    tx: Tx,
    user_id: str,
    task_id: str,
    changes: dict[str, Any],
    if_match: list[str] | None,
    origin: str | None,
) -> dict[str, Any]:
    """Apply `changes` (field → value; `None` resets an optional field to its default)."""
    seq, row = await _claim(tx, user_id, task_id, if_match)
    values = {
        name: (_DEFAULTS[name] if value is None and name in _DEFAULTS else value)
        for name, value in changes.items()
    }
    return await _save(tx, user_id, seq, row, values, origin)


async def replace_task(
    tx: Tx,
    user_id: str,
    task_id: str,
    fields: TaskFields,
    if_match: list[str] | None,
    origin: str | None,
) -> dict[str, Any]:
    return await update_task(tx, user_id, task_id, fields.model_dump(), if_match, origin)


async def toggle_task(
    tx: Tx, user_id: str, task_id: str, if_match: list[str] | None, origin: str | None
) -> dict[str, Any]:
    seq, row = await _claim(tx, user_id, task_id, if_match)
    return await _save(tx, user_id, seq, row, {"completed": not row.completed}, origin)


async def delete_task(
    tx: Tx, user_id: str, task_id: str, if_match: list[str] | None, origin: str | None
) -> None:
    seq, row = await _claim(tx, user_id, task_id, if_match)
    await tx.conn.execute(tasks.delete().where(tasks.c.id == task_id))
    await record_event(tx, user_id, seq, "task.deleted", {"id": task_id, "version": row.version}, origin)
