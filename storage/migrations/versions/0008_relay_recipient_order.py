"""the relay's oldest-first per recipient read by index

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


OPEN_ROWS = sa.text("status IN ('pending', 'sending')")


def upgrade() -> None:
    op.create_index("ix_outbox_open_recipient", "outbox", ["channel", "recipient", "id"],
                    unique=False, sqlite_where=OPEN_ROWS, postgresql_where=OPEN_ROWS)


def downgrade() -> None:
    op.drop_index("ix_outbox_open_recipient", table_name="outbox")
