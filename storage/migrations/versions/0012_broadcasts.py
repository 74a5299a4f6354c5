"""information broadcasts: topic subscriptions, broadcasts, broadcast recipients

Revision ID: 0012
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
ACTIVE = sa.text("status = 'active'")


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("text_version", sa.String(length=50), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("source", sa.String(length=12), nullable=False),
        sa.Column("opted_in_at", TIME, nullable=False),
        sa.Column("opted_out_at", TIME, nullable=True),
        sa.Column("opt_out_reason", sa.String(length=30), nullable=True),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name=op.f("fk_subscriptions_contact_id_contacts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_subscriptions")),
    )
    op.create_index(op.f("ix_subscriptions_contact_id"), "subscriptions", ["contact_id"],
                    unique=False)
    op.create_index("ix_subscriptions_topic_active", "subscriptions", ["topic", "contact_id"],
                    unique=False, sqlite_where=ACTIVE, postgresql_where=ACTIVE)
    op.create_table(
        "broadcasts",
        sa.Column("id", ID, nullable=False),
        sa.Column("topic", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("texts", sa.JSON(), nullable=False),
        sa.Column("template_sid", sa.String(length=40), nullable=True),
        sa.Column("distrik", sa.JSON(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("scheduled_at", TIME, nullable=True),
        sa.Column("created_by", sa.String(length=60), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("started_at", TIME, nullable=True),
        sa.Column("finished_at", TIME, nullable=True),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.Column("paced_until", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcasts")),
    )
    op.create_index("ix_broadcasts_status", "broadcasts", ["status", "scheduled_at"],
                    unique=False)
    op.create_table(
        "broadcast_recipients",
        sa.Column("id", ID, nullable=False),
        sa.Column("broadcast_id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=True),
        sa.Column("outbox_id", ID, nullable=True),
        sa.Column("queued_at", TIME, nullable=True),
        sa.ForeignKeyConstraint(["broadcast_id"], ["broadcasts.id"],
                                name=op.f("fk_broadcast_recipients_broadcast_id_broadcasts")),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name=op.f("fk_broadcast_recipients_contact_id_contacts")),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"],
                                name=op.f("fk_broadcast_recipients_outbox_id_outbox")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_broadcast_recipients")),
        sa.UniqueConstraint("broadcast_id", "contact_id",
                            name=op.f("uq_broadcast_recipients_broadcast_id")),
    )
    op.create_index(op.f("ix_broadcast_recipients_contact_id"), "broadcast_recipients",
                    ["contact_id"], unique=False)
    op.create_index("ix_broadcast_recipients_state", "broadcast_recipients",
                    ["broadcast_id", "status", "id"], unique=False)
    op.create_index("ix_broadcast_recipients_queued", "broadcast_recipients",
                    ["channel", "queued_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_broadcast_recipients_queued", table_name="broadcast_recipients")
    op.drop_index("ix_broadcast_recipients_state", table_name="broadcast_recipients")
    op.drop_index(op.f("ix_broadcast_recipients_contact_id"), table_name="broadcast_recipients")
    op.drop_table("broadcast_recipients")
    op.drop_index("ix_broadcasts_status", table_name="broadcasts")
    op.drop_table("broadcasts")
    op.drop_index("ix_subscriptions_topic_active", table_name="subscriptions")
    op.drop_index(op.f("ix_subscriptions_contact_id"), table_name="subscriptions")
    op.drop_table("subscriptions")
