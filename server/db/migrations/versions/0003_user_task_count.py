"""users count the tasks they hold (the per-user task quota)

Kept in the user row, which every write already locks, so the quota check of a create
costs one indexed update instead of counting the user's tasks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("task_count", sa.BigInteger(), server_default="0", nullable=False))
    op.execute("UPDATE users SET task_count = (SELECT count(*) FROM tasks WHERE tasks.user_id = users.id)")


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("task_count")
