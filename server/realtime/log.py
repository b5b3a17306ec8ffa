"""The per-user event log: seq allocation, recording, replay queries and retention.

Every change to a user's tasks takes the next number of that user's sequence and writes
its event row in the same transaction as the change. The `UPDATE … RETURNING` on the
user row also locks it until commit, so one user's writes commit in `seq` order and a
reader never sees seq N+1 before N.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Literal, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from server import wire
from server.db.connection import Conn
from server.db.database import Tx
from server.db.tables import events, users
from server.schemas import utc_iso

EventType = Literal["task.created", "task.updated", "task.deleted"]


def now() -> datetime:
    """The current time at the millisecond precision the wire format carries."""
    # Whole milliseconds, then the datetime: a third of the time of `datetime.now(UTC)`
    # cut to the millisecond. The float is exact to well under a microsecond for this
    # century, and `fromtimestamp` rounds to the nearest one: no stray microseconds.
    return datetime.fromtimestamp(time.time_ns() // 1_000_000 / 1000, UTC)


def upsert_for(dialect: str) -> Any:
    """The dialect's `INSERT … ON CONFLICT` construct."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def octet_length(text: sa.ColumnElement[str], dialect: str) -> sa.ColumnElement[int]:
    """The size of `text` in bytes, in the dialect's SQL (SQLite before 3.43 has no
    `octet_length`: its blob `length` is the same)."""
    if dialect == "postgresql":
        return sa.func.octet_length(text)
    return sa.func.length(sa.cast(text, sa.LargeBinary))


def utf8_bytes(text: sa.ColumnElement[str], dialect: str) -> sa.ColumnElement[bytes]:
    """`text` as its UTF-8 bytes, which the driver hands over without decoding."""
    if dialect == "postgresql":
        return sa.func.convert_to(text, sa.literal_column("'UTF8'"), type_=sa.LargeBinary)
    return sa.cast(text, sa.LargeBinary)  # SQLite keeps text as UTF-8: its blob is those bytes


@cache
def _next_seq_statement(dialect: str, counted: bool = False, within_quota: bool = False) -> sa.Executable:
    values: dict[str, Any] = {"id": sa.bindparam("user_id"), "seq": 1, "created_at": sa.bindparam("now")}
    changes: dict[str, Any] = {"seq": users.c.seq + 1}
    returned = [users.c.seq]
    if counted:
        values["task_count"] = sa.bindparam("delta")
        changes["task_count"] = users.c.task_count + sa.bindparam("delta")
        returned.append(users.c.task_count)
    stmt = upsert_for(dialect)(users).values(values)
    # `within_quota`: no row (no seq, no count) once the count would pass `:quota`.
    guard = (users.c.task_count + sa.bindparam("delta")) <= sa.bindparam("quota", type_=sa.BigInteger)
    upsert: sa.Executable = stmt.on_conflict_do_update(
        index_elements=[users.c.id], set_=changes, where=guard if within_quota else None
    ).returning(*returned)
    return upsert


# The newest seq of every user with an event stamped at or after `since` (the index on
# `at`): what the recent-events sweep compares its feeds with. It reads every user's
# recent events, not one user's: a maintenance read, like retention.
_RECENT_HEADS = (
    sa.select(events.c.user_id, sa.func.max(events.c.seq).label("head"))
    .where(events.c.at >= sa.bindparam("since", type_=events.c.at.type))
    .group_by(events.c.user_id)
)


async def recent_heads(conn: Conn, since: datetime) -> dict[str, int]:
    return {row["user_id"]: int(row["head"]) for row in await conn.fetch(_RECENT_HEADS, {"since": since})}


INSERT_EVENT = events.insert().values(
    {name: sa.bindparam(name) for name in ("user_id", "seq", "type", "task_id", "body", "at")}
)
_EVENTS_SINCE = (
    sa.select(events.c.seq, events.c.body, events.c.at)
    .where(
        events.c.user_id == sa.bindparam("user_id"),
        events.c.seq > sa.bindparam("after"),
        events.c.seq <= sa.bindparam("upto"),
    )
    .order_by(events.c.seq)
    .limit(sa.bindparam("limit", type_=sa.Integer))
)
_NO_UPPER_BOUND = 2**62


async def next_seq(tx: Tx, user_id: str) -> int:
    """Allocate the user's next seq; holds the user's write lock until the transaction ends."""
    stmt = _next_seq_statement(tx.dialect)
    return int(await tx.conn.fetchval(stmt, {"user_id": user_id, "now": now()}))


def seq_within_quota_statement(dialect: str) -> sa.Executable:
    """`next_seq_counting`'s statement, giving no row (changing nothing) when the count
    would pass `:quota`: for a create that folds its task and event rows in."""
    return _next_seq_statement(dialect, counted=True, within_quota=True)


async def next_seq_counting(tx: Tx, user_id: str, delta: int) -> tuple[int, int]:
    """`next_seq` that also moves the user's task count by `delta` in the same statement
    (a create: one round trip less); returns the seq and the new count."""
    stmt = _next_seq_statement(tx.dialect, counted=True)
    (row,) = await tx.conn.fetch(stmt, {"user_id": user_id, "now": now(), "delta": delta})
    return int(row["seq"]), int(row["task_count"])


async def record_event(
    tx: Tx,
    user_id: str,
    seq: int,
    type_: EventType,
    task: dict[str, Any],
    origin: str | None,
    changed: Sequence[str] | None = None,
) -> str:
    """Write the event row for `seq` and announce it; returns the event's JSON text.
    `changed` (a `task.updated`'s) names the editable fields whose value it set."""
    at = now()
    body = EVENT_HEAD + str(seq) + event_tail(type_, task, origin, at, changed)
    row = {"user_id": user_id, "seq": seq, "type": type_, "task_id": task["id"], "body": body, "at": at}
    if tx.announcer is None:
        await tx.conn.execute(INSERT_EVENT, row)
    else:
        await tx.announcer.record(tx, row)  # the row, and the notification with it
    return body


# An event's JSON text is `EVENT_HEAD`, its seq, and its `event_tail`: a statement that
# takes the seq in the database can write the text there (see `server.tasks.create_statement`).
EVENT_HEAD = '{"seq":'


def event_tail(
    type_: EventType,
    task: dict[str, Any],
    origin: str | None,
    at: datetime,
    changed: Sequence[str] | None = None,
) -> str:
    event: dict[str, Any] = {"type": type_, "task": task}
    if changed is not None:
        event["changed"] = list(changed)
    rest = wire.dumps(event | {"origin": origin, "at": utc_iso(at)})
    return "," + rest[1:]


@dataclass(frozen=True, slots=True)
class LogWindow:
    """What a resuming client can be given: events after `floor`, up to `head`."""

    floor: int
    head: int

    def can_resume(self, since: int) -> bool:
        return self.floor <= since <= self.head


_HEAD_SEQ = sa.select(users.c.seq).where(users.c.id == sa.bindparam("user_id"))
_OLDEST_SEQ = sa.select(sa.func.min(events.c.seq)).where(events.c.user_id == sa.bindparam("user_id"))


async def head_seq(conn: Conn, user_id: str) -> int:
    value = await conn.fetchval(_HEAD_SEQ, {"user_id": user_id})
    return int(value or 0)


async def log_window(conn: Conn, user_id: str) -> LogWindow:
    head = await head_seq(conn, user_id)
    oldest = await conn.fetchval(_OLDEST_SEQ, {"user_id": user_id})
    return LogWindow(floor=head if oldest is None else int(oldest) - 1, head=head)


class LoggedEvent(NamedTuple):
    seq: int
    body: str  # the event JSON, exactly as transports send it
    at: datetime


@cache
def _events_since_within(dialect: str) -> sa.Select[Any]:
    """`_EVENTS_SINCE` cut where the page passes `:max_bytes` of event text (the first
    event always comes): the cut is made in the database, so a page of large events
    never crosses the wire, nor sits in this process, whole."""
    size = octet_length(events.c.body, dialect)
    page = _EVENTS_SINCE.add_columns(size.label("size")).subquery()
    through = sa.func.sum(page.c.size).over(order_by=page.c.seq).label("through")
    sized = sa.select(page.c.seq, page.c.body, page.c.size, through).subquery()
    return (
        sa.select(utf8_bytes(sized.c.body, dialect).label("body"))
        .where(sized.c.through - sized.c.size < sa.bindparam("max_bytes", type_=sa.BigInteger))
        .order_by(sized.c.seq)
    )


async def events_since(
    conn: Conn,
    user_id: str,
    after: int,
    *,
    upto: int | None = None,
    limit: int = 1000,
) -> list[LoggedEvent]:
    """The user's events after `after` (and at most `upto`), oldest first."""
    values = {
        "user_id": user_id,
        "after": after,
        "upto": _NO_UPPER_BOUND if upto is None else upto,
        "limit": limit,
    }
    rows = await conn.fetch(_EVENTS_SINCE, values)
    return [LoggedEvent(int(row["seq"]), row["body"], _utc(row["at"])) for row in rows]


async def event_bodies_within(
    conn: Conn, user_id: str, after: int, *, limit: int, max_bytes: int
) -> list[bytes]:
    """The JSON of the user's events after `after`, oldest first, as many as fit in
    about `max_bytes` (at least one), as UTF-8 bytes: a page of the changes feed is
    these joined, and text read as text would be decoded here only to be encoded again
    (two passes over up to a MiB, on the event loop)."""
    values = {
        "user_id": user_id,
        "after": after,
        "upto": _NO_UPPER_BOUND,
        "limit": limit,
        "max_bytes": max_bytes,
    }
    rows = await conn.fetch(_events_since_within(conn.dialect), values)
    return [bytes(row["body"]) for row in rows]


def _utc(at: datetime) -> datetime:
    # SQLite hands timestamps back naive (UTC by construction); asyncpg, aware.
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


_USER_HEAD = sa.select(users.c.seq).where(users.c.id == events.c.user_id).scalar_subquery()
_PRUNE = events.delete().where(
    events.c.at < sa.bindparam("cutoff", type_=events.c.at.type),
    events.c.seq <= _USER_HEAD - sa.bindparam("keep", type_=sa.BigInteger),
)


async def prune(conn: Conn, keep_events: int, keep_days: float) -> int:
    """Delete events that are both beyond the newest `keep_events` of their user and
    older than `keep_days`; returns how many went."""
    return await conn.execute(_PRUNE, {"cutoff": now() - timedelta(days=keep_days), "keep": keep_events})
