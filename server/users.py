"""Users as the tokens name them: a row per `sub`, made on first sight.

A client never names a user id itself: the verified token's `sub` is the user. The row
holds the user's change sequence head and task count (see `server.realtime.log`) and
the profile claims (`email`, `name`) the token carried last.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import sqlalchemy as sa

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
