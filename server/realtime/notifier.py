"""Announcing a committed event to every server process.

On PostgreSQL with the fan-out on the same database, the NOTIFY is issued inside the
write transaction: PostgreSQL delivers it at commit and drops it on rollback, so a
notification can never announce an uncommitted change. Elsewhere (memory, Redis, or a
separate broadcast database) it is published after the commit succeeded. Either way
the payload is only the seq: the event itself is read from the log.
"""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from broadcaster import Broadcast

from server import fastsql
from server.db import Tx
from server.metrics import Metrics
from server.realtime.channels import channel_for

_NOTIFY = sa.select(
    sa.func.pg_notify(sa.bindparam("channel", type_=sa.Text), sa.bindparam("payload", type_=sa.Text))
)


class Notifier:
    def __init__(
        self, broadcast: Broadcast, metrics: Metrics, *, in_transaction: bool, timeout: float
    ) -> None:
        self._broadcast = broadcast
        self._metrics = metrics
        self._in_transaction = in_transaction
        self._timeout = timeout

    async def announce(self, tx: Tx, user_id: str, seq: int) -> None:
        self._metrics.events_recorded.inc()
        channel, payload = channel_for(user_id), str(seq)
        if self._in_transaction:
            await fastsql.execute(tx.conn, _NOTIFY, {"channel": channel, "payload": payload})
            self._metrics.events_notified.inc()
            return

        async def publish() -> None:
            # Bounded: a silently dead connection must not hang the request. A publish
            # that fails is recovered by the feeds' periodic catch-up from the log.
            await asyncio.wait_for(self._broadcast.publish(channel, payload), self._timeout)
            self._metrics.events_notified.inc()

        tx.after_commit(publish)
