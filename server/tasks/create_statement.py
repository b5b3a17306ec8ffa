"""A create on PostgreSQL as ONE statement: take the user's next seq and count the task
(within the quota), insert the task and insert its event row — the least a create can
cost in round trips. Its wake-up is owed after the commit (`server.realtime.notifier`).

The event's JSON text needs the seq, which only the database knows here: it is written
as `EVENT_HEAD || seq || tail` (see `server.realtime.log.event_tail`), the same text
`record_event` writes. Over the quota the upsert gives no row, so nothing at all is
written (no seq taken, no count moved) and the statement's one row has no seq.

Without an `Idempotency-Key` this statement is all the write does, so it runs without
BEGIN/COMMIT (`TxConn.fetchrow_alone`); with one, inside the transaction that claims
and stores the key.
"""

from __future__ import annotations

from functools import cache
from typing import cast

import sqlalchemy as sa

from server.db.tables import events, tasks
from server.realtime.log import EVENT_HEAD, seq_within_quota_statement


@cache
def create_statement() -> sa.Executable:
    """Values: every `tasks` column but `created_seq` and the two stamps, `now` (the
    task's stamps, the event's and a new user row's), `delta` (1) for the user row,
    `quota`, `type` and `body_tail` for the event. Returns one row: its `seq`, NULL when
    over the quota.

    One stamp goes over the wire once: asyncpg encodes each timestamp argument in
    Python, and a create's four stamps are all the same moment."""
    counted = cast(sa.Insert, seq_within_quota_statement("postgresql")).cte("counted")
    stamp = sa.bindparam("now", type_=tasks.c.created_at.type)
    task_row = sa.select(
        *(
            counted.c.seq
            if c.name == "created_seq"
            else stamp
            if c.name in ("created_at", "updated_at")
            else sa.bindparam(c.name, type_=c.type)
            for c in tasks.c
        )
    )
    created = (
        tasks.insert()
        .from_select([c.name for c in tasks.c], task_row)
        .returning(tasks.c.created_seq, tasks.c.id)
        .cte("created")
    )
    body = (
        sa.literal(EVENT_HEAD, sa.Text)
        + sa.cast(created.c.created_seq, sa.Text)
        + sa.bindparam("body_tail", type_=sa.Text)
    )
    event_row = sa.select(
        sa.bindparam("user_id", type_=events.c.user_id.type),
        created.c.created_seq,
        sa.bindparam("type", type_=events.c.type.type),
        created.c.id,
        body,
        stamp,
    )
    recorded = (
        events.insert()
        .from_select(["user_id", "seq", "type", "task_id", "body", "at"], event_row)
        .returning(events.c.seq)
        .cte("recorded")
    )
    # Always one row (its `seq` NULL over the quota): writes sent together are told
    # apart by the position of their rows (`server.db.batches`).
    return sa.select(sa.select(recorded.c.seq).scalar_subquery().label("seq"))
