"""tasks keyed by (user_id, id); idempotency keys remember their response's seq

Client-chosen ids (offline creates) are unique only within a user, so the tasks'
primary key becomes (user_id, id). A replayed write returns its first `Tasksync-Seq`,
so the stored response keeps it. Existing rows keep their ids: the old ids were unique
across users, so they are unique within each user too.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # On SQLite this rebuilds the table (batch mode), copying every row.
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_constraint("pk_tasks", type_="primary")
        batch_op.create_primary_key("pk_tasks", ["user_id", "id"])
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_column("seq")
    # Only possible while no two users share an id (it fails loudly otherwise).
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_constraint("pk_tasks", type_="primary")
        batch_op.create_primary_key("pk_tasks", ["id"])
