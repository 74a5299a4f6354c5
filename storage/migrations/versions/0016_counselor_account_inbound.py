"""a counselor account keeps when its counselor last wrote from it
(`counselor_accounts.last_inbound_at`): WhatsApp's 24-hour window is a counselor's too, and
without it no free-text message reached a counselor on WhatsApp

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("counselor_accounts",
                  sa.Column("last_inbound_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column("counselor_accounts", "last_inbound_at")  # in place on SQLite 3.35+
