"""Announcing a committed event to every server process.

The event row is written in the write's transaction; the wake-up is owed only once
that transaction has committed (`Tx.after_commit`), so a notification can never
announce an uncommitted change, and no write's commit waits on PostgreSQL's
notification lock: `server.realtime.wakeups` sends what is owed, coalesced. The
payload is only the seq: the event itself is read from the log.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from server.db.database import Tx
from server.realtime.channels import channel_for
from server.realtime.log import INSERT_EVENT
from server.realtime.wakeups import Wakeups
from server.runtime.metrics import Metrics


class Notifier:
    def __init__(self, wakeups: Wakeups, metrics: Metrics) -> None:
        self._wakeups = wakeups
        self._metrics = metrics

    async def record(self, tx: Tx, event: Mapping[str, Any]) -> None:
        """Insert the event row (`server.realtime.log.INSERT_EVENT`'s values) and owe
        its wake-up once the transaction has committed."""
        await tx.conn.execute(INSERT_EVENT, event)
        self.recorded(tx, event["user_id"], event["seq"])

    def recorded(self, tx: Tx, user_id: str, seq: int) -> None:
        self._metrics.recorded.add()
        tx.after_commit(functools.partial(self._wakeups.owe, channel_for(user_id), seq))
