"""Announcing a committed event to every server process.

On PostgreSQL with the fan-out on the same database, the NOTIFY is issued inside the
write transaction: PostgreSQL delivers it at commit and drops it on rollback, so a
notification can never announce an uncommitted change. Elsewhere (memory, Redis, or a
separate broadcast database) it is published after the commit succeeded. Either way
the payload is only the seq: the event itself is read from the log.
"""

from __future__ import annotations

import sqlalchemy as sa
from broadcaster import Broadcast

from server.db import Tx
from server.realtime.channels import channel_for

_NOTIFY = sa.text("SELECT pg_notify(:channel, :payload)")


class Notifier:
    def __init__(self, broadcast: Broadcast, *, in_transaction: bool) -> None:
        self._broadcast = broadcast
        self._in_transaction = in_transaction

    async def announce(self, tx: Tx, user_id: str, seq: int) -> None:
        channel, payload = channel_for(user_id), str(seq)
        if self._in_transaction:
            await tx.conn.execute(_NOTIFY, {"channel": channel, "payload": payload})
            return

        async def publish() -> None:
            await self._broadcast.publish(channel, payload)

        tx.after_commit(publish)
