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
from functools import cache
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from server.db.connection import Conn
from server.db.database import Tx
from server.db.tables import idempotency_keys
from server.errors import IdempotencyKeyReused, field_error
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


# Not named like the columns: SQLAlchemy reserves those names in an UPDATE for its SET.
_THIS_KEY = sa.and_(
    idempotency_keys.c.user_id == sa.bindparam("owner"), idempotency_keys.c.key == sa.bindparam("idem_key")
)
_SELECT_KEY = sa.select(idempotency_keys).where(_THIS_KEY)
_RESTART_KEY = (
    idempotency_keys.update()
    .where(_THIS_KEY)
    .values(
        request_hash=sa.bindparam("request_hash"),
        status_code=0,
        response_body="",
        seq=None,
        created_at=sa.bindparam("created_at"),
    )
)
_STORE_RESPONSE = (
    idempotency_keys.update()
    .where(_THIS_KEY)
    .values(
        status_code=sa.bindparam("status_code"),
        response_body=sa.bindparam("response_body"),
        seq=sa.bindparam("seq"),
    )
)
_PRUNE = idempotency_keys.delete().where(
    idempotency_keys.c.created_at < sa.bindparam("cutoff", type_=idempotency_keys.c.created_at.type)
)


@cache
def _claim_statement(dialect: str) -> sa.Executable:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    columns = ("user_id", "key", "request_hash", "created_at")
    claim: sa.Executable = (
        insert(idempotency_keys)
        .values({c: sa.bindparam(c) for c in columns} | {"status_code": 0, "response_body": ""})
        .on_conflict_do_nothing(index_elements=["user_id", "key"])
        .returning(idempotency_keys.c.key)
    )
    return claim


async def claim(tx: Tx, user_id: str, key: str, digest: str, ttl_hours: int) -> StoredResponse | None:
    """Claim `key` for this request; returns the stored response if it was already used."""
    this = {"owner": user_id, "idem_key": key}
    stamp = now()
    claimed = await tx.conn.fetchrow(
        _claim_statement(tx.dialect),
        {"user_id": user_id, "key": key, "request_hash": digest, "created_at": stamp},
    )
    if claimed is not None:
        return None
    row = await tx.conn.fetchrow(_SELECT_KEY, this)
    assert row is not None  # the conflict above means the key exists (and is locked)
    if row["created_at"] < stamp - timedelta(hours=ttl_hours):
        # Expired: the key starts a new life with this request.
        await tx.conn.execute(_RESTART_KEY, {**this, "request_hash": digest, "created_at": stamp})
        return None
    if row["request_hash"] != digest:
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used with a different request (method, path or body)",
            [field_error("header", "Idempotency-Key", "already used with another request")],
        )
    return StoredResponse(row["status_code"], row["response_body"], row["seq"])


async def store(tx: Tx, user_id: str, key: str, response: StoredResponse) -> None:
    values = {"status_code": response.status_code, "response_body": response.body, "seq": response.seq}
    await tx.conn.execute(_STORE_RESPONSE, {"owner": user_id, "idem_key": key, **values})


async def prune(conn: Conn, ttl_hours: int) -> int:
    return await conn.execute(_PRUNE, {"cutoff": now() - timedelta(hours=ttl_hours)})
