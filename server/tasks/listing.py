"""The task list query: status filter, three sorts, keyset pagination with opaque cursors,
and the change `seq` of the same snapshot.

Orderings (ties always fall back to creation order, oldest first):
  created  → created_seq in the requested direction
  title    → casefolded title in the requested direction, then created_seq ascending
  due_date → tasks without a date last in either order, then the date in the requested
             direction, then created_seq ascending
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any, Literal

import orjson
import sqlalchemy as sa

from server.db.connection import Conn
from server.db.tables import tasks, users
from server.errors import ValidationFailed, field_error
from server.realtime.log import octet_length, utf8_bytes
from server.schemas import is_storable
from server.tasks.operations import WIRE_COLUMNS, task_json

Status = Literal["all", "pending", "completed"]
Sort = Literal["created", "title", "due_date"]
Order = Literal["asc", "desc"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Cursor:
    """Where the previous page stopped: the last row's sort key and creation seq."""

    key: Any
    created_seq: int


@dataclass(frozen=True, slots=True)
class ListQuery:
    status: Status = "all"
    sort: Sort = "created"
    order: Order = "desc"
    limit: int = DEFAULT_LIMIT
    cursor: Cursor | None = None


def encode_cursor(query: ListQuery, key: Any, created_seq: int) -> str:
    raw = json.dumps([query.sort, query.order, query.status, key, created_seq])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str, sort: Sort, order: Order, status: Status) -> Cursor:
    """The cursor of a previous page of the *same* query; anything else is a 422."""
    invalid = ValidationFailed(
        "invalid cursor", [field_error("query", "cursor", "not a cursor of this query")]
    )
    if len(text) > 2000:
        raise invalid
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        parts = json.loads(raw)
    except (ValueError, binascii.Error, RecursionError):
        raise invalid from None
    if not (isinstance(parts, list) and len(parts) == 5 and parts[:3] == [sort, order, status]):
        raise invalid
    key, seq = parts[3], parts[4]
    if not isinstance(seq, int) or isinstance(seq, bool) or not 0 < seq < 2**63:
        raise invalid
    if sort == "created":
        ok = key is None
    elif sort == "title":
        # A title key with NUL (PostgreSQL text cannot hold it) or a lone surrogate (not
        # encodable as UTF-8) belongs to no task; bound to the database it would be a 500.
        ok = isinstance(key, str) and len(key) <= 2000 and is_storable(key)
    else:
        ok = key is None or isinstance(key, str)
        if isinstance(key, str):
            try:
                key = date.fromisoformat(key)
            except ValueError:
                ok = False
    if not ok:
        raise invalid
    return Cursor(key=key, created_seq=seq)


CursorKind = Literal["none", "key", "null-key"]


def _order(sort: Sort, order: Order, columns: Any) -> list[Any]:
    """The ORDER BY terms of a query shape, over `columns` (the table's, or a page's)."""
    desc = order == "desc"
    seq = columns.created_seq
    if sort == "created":
        return [seq.desc() if desc else seq.asc()]
    if sort == "title":
        return [columns.title_key.desc() if desc else columns.title_key.asc(), seq.asc()]
    due = columns.due_date
    return [sa.case((due.is_(None), 1), else_=0).asc(), due.desc() if desc else due.asc(), seq.asc()]


def _keyset(sort: Sort, order: Order, cursor: CursorKind) -> tuple[list[Any], sa.ColumnElement[bool] | None]:
    """ORDER BY terms, and the WHERE term that starts after the cursor (`:key`, `:after_seq`)."""
    desc = order == "desc"
    by = _order(sort, order, tasks.c)
    seq = tasks.c.created_seq
    after_seq = sa.bindparam("after_seq", type_=sa.BigInteger)
    if sort == "created":
        after = None if cursor == "none" else (seq < after_seq if desc else seq > after_seq)
        return by, after
    if sort == "title":
        title = tasks.c.title_key
        if cursor == "none":
            return by, None
        key = sa.bindparam("key", type_=sa.Text)
        beyond = title < key if desc else title > key
        return by, sa.or_(beyond, sa.and_(title == key, seq > after_seq))
    due = tasks.c.due_date
    if cursor == "none":
        return by, None
    if cursor == "null-key":
        return by, sa.and_(due.is_(None), seq > after_seq)
    day = sa.bindparam("key", type_=sa.Date)
    beyond = due < day if desc else due > day
    return by, sa.or_(
        due.is_(None),
        sa.and_(due.is_not(None), sa.or_(beyond, sa.and_(due == day, seq > after_seq))),
    )


# What a task's JSON holds besides its title and description (names, id, timestamps).
_TASK_OVERHEAD_BYTES = 256
_NO_BOUND = 2**62


@cache
def _page_statement(
    status: Status, sort: Sort, order: Order, cursor: CursorKind, dialect: str
) -> sa.Select[Any]:
    """The user row joined to one page of its tasks; built once per query shape.

    One statement, so items and seq always come from one snapshot (a user with no
    matching task still gives its row, with NULL task columns; a user never seen gives
    no row at all, and seq 0).

    The page is also cut in the database once it holds about `:max_bytes` of JSON: a
    running sum of each task's size over the page's order (`through`) keeps the tasks
    that fit and the first one that does not (which says there is more), so a page of
    large tasks never crosses the wire, nor sits in this process, whole.
    """
    by, after = _keyset(sort, order, cursor)
    matching = [tasks.c.user_id == users.c.id]
    if status != "all":
        matching.append(tasks.c.completed == (status == "completed"))
    if after is not None:
        matching.append(after)
    # The wire fields and the cursor's keys only (21 rows of a default page are decoded
    # per request): not `user_id`, and `title_key` only where it is the sort key.
    columns = [
        *(tasks.c.description_json if name == "description" else tasks.c[name] for name in WIRE_COLUMNS),
        tasks.c.created_seq,
    ]
    if sort == "title":
        columns.append(tasks.c.title_key)
    names = ["head", *(c.name for c in columns)]  # "description_json", not "description"
    # The page first (its ORDER BY and LIMIT as they were, so the planner keeps its
    # top-N plans), then the running size over it: at most `limit` rows.
    page = (
        sa.select(users.c.seq.label("head"), *columns)
        .select_from(users.outerjoin(tasks, sa.and_(*matching)))
        .where(users.c.id == sa.bindparam("user_id"))
        .order_by(*by)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .subquery("page")
    )
    size = (
        _TASK_OVERHEAD_BYTES
        + octet_length(page.c.title, dialect)
        + octet_length(page.c.description_json, dialect)
    )
    in_order = _order(sort, order, page.c)
    sized = sa.select(
        *(page.c[name] for name in names),
        size.label("size"),
        sa.func.sum(size).over(order_by=in_order).label("through"),
        sa.func.row_number().over(order_by=in_order).label("position"),
    ).subquery("sized")
    fits = sized.c.through - sized.c.size < sa.bindparam("max_bytes", type_=sa.BigInteger)
    out = [sized.c[name] for name in names]
    # The description as the UTF-8 bytes of its stored JSON string, for the response to
    # carry as they are (`_item`): read as text it would be decoded from UTF-8 only to be
    # encoded again, and for large non-ASCII text that was most of a large page's CPU
    # (25 descriptions of 10,000 emoji: 1.8 ms to decode, against 0.08 ms for orjson to
    # write the page).
    at = names.index("description_json")
    out[at] = utf8_bytes(sized.c.description_json, dialect).label("description")
    return (
        sa.select(*out, sized.c.through).where(sa.or_(sized.c.id.is_(None), fits)).order_by(sized.c.position)
    )


async def list_tasks(
    conn: Conn, user_id: str, query: ListQuery, *, max_bytes: int | None = None
) -> tuple[list[dict[str, Any]], int, str | None]:
    """One page of the user's tasks, the `seq` of the same snapshot, and the next cursor.

    With `max_bytes` the page also stops once it holds about that much JSON (at least
    one task): the next cursor continues after the last task given."""
    c = query.cursor
    kind: CursorKind = "none" if c is None else ("null-key" if c.key is None else "key")
    stmt = _page_statement(query.status, query.sort, query.order, kind, conn.dialect)
    bound = _NO_BOUND if max_bytes is None else max_bytes
    values: dict[str, Any] = {"user_id": user_id, "limit": query.limit + 1, "max_bytes": bound}
    if c is not None:
        values.update(key=c.key, after_seq=c.created_seq)
    rows = await conn.fetch(stmt, values)
    seq = int(rows[0]["head"]) if rows else 0
    rows = [row for row in rows if row["id"] is not None]
    next_cursor = None
    # The statement gave the tasks that fit and, past the bound, the first one that does
    # not: it stays out of the page, and says the page is cut (a next cursor).
    crossed = len(rows) > 1 and rows[-1]["through"] > bound
    keep = min(query.limit, len(rows) - 1 if crossed else len(rows))
    if len(rows) > keep:
        rows = rows[:keep]
        last = rows[-1]
        key: Any = None
        if query.sort == "title":
            key = last["title_key"]
        elif query.sort == "due_date":
            key = last["due_date"].isoformat() if last["due_date"] is not None else None
        next_cursor = encode_cursor(query, key, last["created_seq"])
    return [_item(row) for row in rows], seq, next_cursor


def _item(row: Any) -> dict[str, Any]:
    """A page's task as the wire format; its description is already JSON (see
    `_page_statement`) and goes into the response as it is."""
    item = task_json(row)
    item["description"] = orjson.Fragment(item["description"])
    return item
