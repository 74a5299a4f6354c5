"""outbox.status wide enough for needs_template (14 characters; it was 12)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column("status", existing_type=sa.String(length=12),
                              type_=sa.String(length=20), existing_nullable=False)


def downgrade() -> None:
    op.execute("UPDATE outbox SET status = 'failed' WHERE status = 'needs_template'")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.alter_column("status", existing_type=sa.String(length=20),
                              type_=sa.String(length=12), existing_nullable=False)
