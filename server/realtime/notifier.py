"""Announcing a committed event to every server process.

On PostgreSQL with the fan-out on the same database, the NOTIFY is issued inside the
write transaction: PostgreSQL delivers it at commit and drops it on rollback, so a
notification can never announce an uncommitted change. Elsewhere (memory, Redis, or a
separate broadcast database) it is published after the commit succeeded. Either way
the payload is only the seq: the event itself is read from the log.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from broadcaster import Broadcast

from server.db.database import Tx
from server.db.tables import events
from server.realtime.channels import channel_for
from server.realtime.log import INSERT_EVENT
from server.runtime.metrics import Metrics

# The event row and its NOTIFY in one statement (one round trip): the CTE's INSERT
# always runs, and the SELECT over its one returned row sends the notification.
_INSERT_AND_NOTIFY = sa.select(
    sa.func.pg_notify(sa.bindparam("channel", type_=sa.Text), sa.bindparam("payload", type_=sa.Text))
).select_from(INSERT_EVENT.returning(events.c.seq).cte("recorded"))


class Notifier:
    def __init__(
        self, broadcast: Broadcast, metrics: Metrics, *, in_transaction: bool, timeout: float
    ) -> None:
        self._broadcast = broadcast
        self._metrics = metrics
        self.notifies_in_statement = in_transaction
        self._timeout = timeout

    async def record(self, tx: Tx, event: Mapping[str, Any]) -> None:
        """Insert the event row (`server.realtime.log.INSERT_EVENT`'s values) and
        announce it: in the same statement where NOTIFY is transactional, else once the
        transaction has committed."""
        if self.notifies_in_statement:
            values = {**event, "channel": channel_for(event["user_id"]), "payload": str(event["seq"])}
            await tx.conn.execute(_INSERT_AND_NOTIFY, values)
        else:
            await tx.conn.execute(INSERT_EVENT, event)
        self.recorded(tx, event["user_id"], event["seq"])

    def recorded(self, tx: Tx, user_id: str, seq: int) -> None:
        self._metrics.events_recorded.inc()
        if self.notifies_in_statement:
            self._metrics.events_notified.inc()  # delivered by PostgreSQL at commit
            return
        channel, payload = channel_for(user_id), str(seq)

        async def publish() -> None:
            # Bounded: a silently dead connection must not hang the request. A publish
            # that fails is recovered by the feeds' periodic catch-up from the log.
            await asyncio.wait_for(self._broadcast.publish(channel, payload), self._timeout)
            self._metrics.events_notified.inc()

        tx.after_commit(publish)
