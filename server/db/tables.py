"""The tables: users (with their change counter), tasks, events (the per-user log), and
idempotency keys. SQLAlchemy Core tables, shared by the queries and by alembic.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Token `sub` claims longer than this are refused at authentication.
USER_ID_MAX = 255
TASK_ID_LEN = 36


class UTCDateTime(sa.types.TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python.

    SQLite stores no offset, so values come back naive; this puts UTC back on them.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime")
        if value is not None and dialect.name == "sqlite":
            return value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


users = sa.Table(
    "users",
    metadata,
    sa.Column("id", sa.String(USER_ID_MAX), primary_key=True),
    sa.Column("email", sa.Text, nullable=True),
    sa.Column("name", sa.Text, nullable=True),
    # The head of this user's change sequence: the seq of the newest event.
    # Incremented inside every write transaction, which also serialises a user's writes.
    sa.Column("seq", sa.BigInteger, nullable=False, server_default="0"),
    # How many tasks the user holds, kept by creates and deletes (the task quota).
    sa.Column("task_count", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
)

tasks = sa.Table(
    "tasks",
    metadata,
    # Keyed by user and id: clients choose ids for the tasks they create offline, so an
    # id is unique only within its user (another user's equal id neither collides nor leaks).
    sa.Column(
        "user_id",
        sa.String(USER_ID_MAX),
        sa.ForeignKey("users.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("id", sa.String(TASK_ID_LEN), nullable=False),
    sa.Column("title", sa.Text, nullable=False),
    # casefold(title): the case-insensitive sort key, computed in Python so SQLite and
    # PostgreSQL fold non-ASCII letters alike.
    sa.Column("title_key", sa.Text, nullable=False),
    sa.Column("description", sa.Text, nullable=False, server_default=""),
    # The description as its JSON string (quoted and escaped), written with it by every
    # write: a list page carries it as it is. Escaping at read time was most of a large
    # page's database CPU (a page of 10,000-emoji descriptions: about 4 of 6.4 ms), paid
    # on every read; at write time it is paid once per change.
    sa.Column("description_json", sa.Text, nullable=False),
    sa.Column("completed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("due_date", sa.Date, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Column("version", sa.Integer, nullable=False),
    # The seq of the task.created event: a per-user, gap-free creation order, used as
    # the sort for `sort=created` and as the tie-breaker of every other sort.
    sa.Column("created_seq", sa.BigInteger, nullable=False),
    sa.PrimaryKeyConstraint("user_id", "id"),
    # The list query always filters by user first; each index serves one sort.
    sa.Index("ix_tasks_user_created", "user_id", "created_seq", unique=True),
    sa.Index("ix_tasks_user_status_created", "user_id", "completed", "created_seq"),
    sa.Index("ix_tasks_user_title", "user_id", "title_key", "created_seq"),
    sa.Index("ix_tasks_user_due", "user_id", "due_date", "created_seq"),
)

events = sa.Table(
    "events",
    metadata,
    sa.Column("user_id", sa.String(USER_ID_MAX), nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("type", sa.String(16), nullable=False),
    sa.Column("task_id", sa.String(TASK_ID_LEN), nullable=False),
    # The event exactly as every transport sends it, serialised once at write time.
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("user_id", "seq"),
    sa.Index("ix_events_at", "at"),
)

idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("user_id", sa.String(USER_ID_MAX), nullable=False),
    sa.Column("key", sa.String(255), nullable=False),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("status_code", sa.Integer, nullable=False),
    sa.Column("response_body", sa.Text, nullable=False),
    # The seq of the event the first response recorded (its `Tasksync-Seq`).
    sa.Column("seq", sa.BigInteger, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.PrimaryKeyConstraint("user_id", "key"),
    sa.Index("ix_idempotency_keys_created_at", "created_at"),
)
