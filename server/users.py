"""Users as the tokens name them: a row per `sub`, made on first sight.

A client never names a user id itself: the verified token's `sub` is the user. The row
holds the user's change sequence head and task count (see `server.realtime.log`) and
the profile claims (`email`, `name`) the token carried last. `SeenUsers` remembers
whom this process has already made a row for.
"""

from __future__ import annotations

from collections import OrderedDict
from functools import cache
from typing import Any

import sqlalchemy as sa

from server.auth.tokens import Principal
from server.db.connection import Conn
from server.db.tables import users
from server.realtime.log import now, upsert_for


@cache
def _ensure_user_statement(dialect: str, email: bool, name: bool) -> sa.Executable:
    columns = ("id", "email", "name", "created_at")
    stmt = upsert_for(dialect)(users).values({c: sa.bindparam(c) for c in columns})
    update: dict[str, Any] = {}
    if email:
        update["email"] = stmt.excluded.email
    if name:
        update["name"] = stmt.excluded.name
    if update:
        upsert: sa.Executable = stmt.on_conflict_do_update(index_elements=[users.c.id], set_=update)
    else:
        upsert = stmt.on_conflict_do_nothing(index_elements=[users.c.id])
    return upsert


async def ensure_user(conn: Conn, user_id: str, email: str | None, name: str | None) -> None:
    """Create the user row on first sight, keeping its profile claims current."""
    stmt = _ensure_user_statement(conn.dialect, email is not None, name is not None)
    await conn.execute(stmt, {"id": user_id, "email": email, "name": name, "created_at": now()})


class SeenUsers:
    """Users this process has already created rows for, so first sight costs one upsert
    per process rather than one per request. Bounded, least recently seen go first."""

    def __init__(self, capacity: int = 100_000) -> None:
        self._capacity = capacity
        self._seen: OrderedDict[str, tuple[str | None, str | None]] = OrderedDict()

    def fresh(self, principal: Principal) -> bool:
        profile = (principal.email, principal.name)
        if self._seen.get(principal.user_id) == profile:
            self._seen.move_to_end(principal.user_id)
            return False
        return True

    def add(self, principal: Principal) -> None:
        self._seen[principal.user_id] = (principal.email, principal.name)
        self._seen.move_to_end(principal.user_id)
        if len(self._seen) > self._capacity:
            self._seen.popitem(last=False)
