"""`Idempotency-Key` on every write: a retry with the same key, method, path and JSON
body gets the first response back (status, body, `ETag`, `Tasksync-Seq`) and changes
nothing; the same key with another request is refused.

The key row is claimed inside the write's own transaction, before anything else: on
PostgreSQL a concurrent retry blocks on the key's unique index until the first attempt
commits (then replays it) or rolls back (then proceeds itself). Only a committed write
is remembered: an attempt that failed (a 412, a 404) rolled its claim back, so its retry
is evaluated afresh against the current state.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from server.db import Tx
from server.errors import IdempotencyKeyReused, field_error
from server.models import idempotency_keys
from server.realtime.log import now


@dataclass(frozen=True, slots=True)
class StoredResponse:
    status_code: int
    body: str  # "" for a 204
    seq: int | None


def request_hash(method: str, path: str, body: Any) -> str:
    """A digest of the request: its method, path and JSON value (not its formatting or
    member order; `None` when there is no body)."""
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8", "surrogatepass")).hexdigest()


async def claim(tx: Tx, user_id: str, key: str, digest: str, ttl_hours: int) -> StoredResponse | None:
    """Claim `key` for this request; returns the stored response if it was already used."""
    insert = postgresql.insert if tx.dialect == "postgresql" else sqlite.insert
    claimed = await tx.conn.execute(
        insert(idempotency_keys)
        .values(
            user_id=user_id,
            key=key,
            request_hash=digest,
            status_code=0,
            response_body="",
            created_at=now(),
        )
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(idempotency_keys.c.key)
    )
    if claimed.first() is not None:
        return None
    where = sa.and_(idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key)
    row = (await tx.conn.execute(sa.select(idempotency_keys).where(where))).one()
    if row.created_at < now() - timedelta(hours=ttl_hours):
        # Expired: the key starts a new life with this request.
        await tx.conn.execute(
            idempotency_keys.update()
            .where(where)
            .values(request_hash=digest, status_code=0, response_body="", seq=None, created_at=now())
        )
        return None
    if row.request_hash != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with a different request (method, path or body)",
            [field_error("header", "Idempotency-Key", "already used with another request")],
        )
    return StoredResponse(row.status_code, row.response_body, row.seq)


async def store(tx: Tx, user_id: str, key: str, response: StoredResponse) -> None:
    await tx.conn.execute(
        idempotency_keys.update()
        .where(idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key)
        .values(status_code=response.status_code, response_body=response.body, seq=response.seq)
    )


async def prune(conn: AsyncConnection, ttl_hours: int) -> int:
    cutoff = now() - timedelta(hours=ttl_hours)
    result = await conn.execute(idempotency_keys.delete().where(idempotency_keys.c.created_at < cutoff))
    return int(result.rowcount or 0)
