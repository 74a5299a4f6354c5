"""open cases read by index: claimed cases by priority and age (`cases list`, the
scheduler's claimed scan), waiting cases by their last alert (the scheduler skips those
already announced), so neither reads every case as the table grows

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

CLAIMED = sa.text("status = 'claimed'")
WAITING = sa.text("status = 'waiting'")


def upgrade() -> None:
    op.create_index("ix_cases_claimed", "cases", ["priority", "created_at"], unique=False,
                    postgresql_where=CLAIMED, sqlite_where=CLAIMED)
    op.create_index("ix_cases_waiting_alerts", "cases",
                    ["priority", "last_alert_at", "created_at"], unique=False,
                    postgresql_where=WAITING, sqlite_where=WAITING)


def downgrade() -> None:
    op.drop_index("ix_cases_waiting_alerts", table_name="cases")
    op.drop_index("ix_cases_claimed", table_name="cases")
