"""a staff member's inbox rows name the case they acted on (`inbox.case_id`): an erasure
finds a counselor's words about a family there (notes, referral reasons, messages)

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
LINKED = sa.text("case_id IS NOT NULL")


def upgrade() -> None:
    # Added in place (no foreign key: on SQLite that would copy the whole table); families'
    # rows, and staff rows from before, stay without a case.
    op.add_column("inbox", sa.Column("case_id", ID, nullable=True))
    op.create_index("ix_inbox_case", "inbox", ["case_id"], unique=False,
                    sqlite_where=LINKED, postgresql_where=LINKED)


def downgrade() -> None:
    op.drop_index("ix_inbox_case", table_name="inbox", sqlite_where=LINKED,
                  postgresql_where=LINKED)
    op.drop_column("inbox", "case_id")  # SQLite 3.35 and later drop it in place too
