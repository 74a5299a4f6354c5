"""a held case keeps whether its family waits on the person holding it
(`cases.family_waiting_since`, `danger_waiting_since`, `wait_reminded_at`,
`wait_escalated_at`), with a partial index for the scheduler's look at them

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

TIME = sa.DateTime(timezone=True)
COLUMNS = ("family_waiting_since", "danger_waiting_since", "wait_reminded_at",
           "wait_escalated_at")
WAITING = sa.text("status = 'claimed' AND family_waiting_since IS NOT NULL")


def upgrade() -> None:
    # Added in place, empty: no family waits on a held case until it writes again.
    for name in COLUMNS:
        op.add_column("cases", sa.Column(name, TIME, nullable=True))
    op.create_index("ix_cases_family_waiting", "cases", ["family_waiting_since"],
                    unique=False, sqlite_where=WAITING, postgresql_where=WAITING)


def downgrade() -> None:
    op.drop_index("ix_cases_family_waiting", table_name="cases", sqlite_where=WAITING,
                  postgresql_where=WAITING)
    for name in reversed(COLUMNS):
        op.drop_column("cases", name)  # SQLite 3.35 and later drop it in place too
