"""rejected inbound messages (acknowledged, not stored, with the reason), relay processes
that own the outbox rows they are sending (taken over as soon as the process is gone)

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Time = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "rejects",
        sa.Column("id", Id, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("provider_message_id", sa.String(length=120), nullable=True),
        sa.Column("sender", sa.String(length=100), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("received_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rejects")),
        sa.UniqueConstraint("channel", "provider_message_id", name=op.f("uq_rejects_channel")),
    )
    op.create_table(
        "relay_owners",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("machine", sa.String(length=120), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("pid_start", sa.String(length=30), nullable=False),
        sa.Column("started_at", Time, nullable=False),
        sa.Column("beat_at", Time, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relay_owners")),
    )
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.add_column(sa.Column("leased_by", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_column("leased_by")
    op.drop_table("relay_owners")
    op.drop_table("rejects")
