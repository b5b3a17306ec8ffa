"""tasks keep their description's JSON string too (what a list page carries)

Filled here from each description in the database's own JSON (PostgreSQL's `to_json`,
SQLite's `json_quote`); from then on the server writes it with every change. Both are
valid JSON for the same string, so a client reads the same description either way.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.add_column(sa.Column("description_json", sa.Text(), nullable=True))
    postgres = op.get_context().dialect.name == "postgresql"
    quoted = "to_json(description)::text" if postgres else "json_quote(description)"
    op.execute(f"UPDATE tasks SET description_json = {quoted}")
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.alter_column("description_json", existing_type=sa.Text(), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_column("description_json")
