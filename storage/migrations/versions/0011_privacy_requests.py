"""data rights: privacy requests with due times, legal holds, case access records, retention
runs

Revision ID: 0011
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_table(
        "privacy_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("case_ids", sa.JSON(), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("due_at", TIME, nullable=False),
        sa.Column("closed_at", TIME, nullable=True),
        sa.Column("closed_by", sa.String(length=60), nullable=True),
        sa.Column("reason", sa.String(length=30), nullable=True),
        sa.Column("alerts", sa.Integer(), nullable=False),
        sa.Column("last_alert_at", TIME, nullable=True),
        sa.Column("provider_pending", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name=op.f("fk_privacy_requests_contact_id_contacts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_privacy_requests")),
    )
    op.create_index(op.f("ix_privacy_requests_contact_id"), "privacy_requests",
                    ["contact_id"], unique=False)
    op.create_index("ix_privacy_requests_open", "privacy_requests", ["due_at"], unique=False,
                    sqlite_where=OPEN, postgresql_where=OPEN)
    op.create_table(
        "case_holds",
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("held_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("released_at", TIME, nullable=True),
        sa.Column("released_by", sa.String(length=60), nullable=True),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_holds_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_holds")),
    )
    op.create_index(op.f("ix_case_holds_case_id"), "case_holds", ["case_id"], unique=False)
    op.create_table(
        "case_access",
        sa.Column("id", ID, nullable=False),
        sa.Column("case_id", ID, nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("via", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=True),
        sa.Column("created_at", TIME, nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"],
                                name=op.f("fk_case_access_case_id_cases")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_access")),
    )
    op.create_index(op.f("ix_case_access_case_id"), "case_access", ["case_id"], unique=False)
    op.create_table(
        "retention_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("ran_at", TIME, nullable=False),
        sa.Column("actor", sa.String(length=60), nullable=False),
        sa.Column("counts", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_retention_runs")),
    )


def downgrade() -> None:
    op.drop_table("retention_runs")
    op.drop_index(op.f("ix_case_access_case_id"), table_name="case_access")
    op.drop_table("case_access")
    op.drop_index(op.f("ix_case_holds_case_id"), table_name="case_holds")
    op.drop_table("case_holds")
    op.drop_index("ix_privacy_requests_open", table_name="privacy_requests")
    op.drop_index(op.f("ix_privacy_requests_contact_id"), table_name="privacy_requests")
    op.drop_table("privacy_requests")
