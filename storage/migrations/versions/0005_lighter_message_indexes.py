"""lighter indexes on the rows every message writes: no messages.case_id index (nothing
reads the log by case, and cases are never deleted), and the outbox's provider message id
indexed only where a sent message has one

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SENT = sa.text("provider_message_id IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch_op:
        batch_op.drop_index("ix_messages_case_id")
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index("ix_outbox_provider_message_id")
        batch_op.create_index("ix_outbox_provider_message_id", ["provider_message_id"],
                              unique=False, postgresql_where=SENT, sqlite_where=SENT)


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch_op:
        batch_op.drop_index("ix_outbox_provider_message_id")
        batch_op.create_index("ix_outbox_provider_message_id", ["provider_message_id"],
                              unique=False)
    with op.batch_alter_table("messages") as batch_op:
        batch_op.create_index("ix_messages_case_id", ["case_id"], unique=False)
