"""the provider's copies still to delete after an erasure get a table of their own
(`provider_copies`), filled by every erasure (HAPUS and retention alike) and emptied by the
scheduler; `privacy_requests.provider_pending` moves there

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)
REQUESTS = sa.table("privacy_requests", sa.column("id", ID), sa.column("contact_id", ID),
                    sa.column("kind", sa.String()), sa.column("closed_at", TIME),
                    sa.column("created_at", TIME), sa.column("provider_pending", sa.JSON()))
COPIES = sa.table("provider_copies", sa.column("contact_id", ID),
                  sa.column("channel", sa.String()),
                  sa.column("item", sa.String()), sa.column("created_at", TIME),
                  sa.column("next_at", TIME), sa.column("attempts", sa.Integer()))


def upgrade() -> None:
    op.create_table(
        "provider_copies",
        sa.Column("id", ID, nullable=False),
        sa.Column("contact_id", ID, nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("item", sa.String(length=80), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("next_at", TIME, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["contact_id"], ["contacts.id"],
                                name=op.f("fk_provider_copies_contact_id_contacts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_copies")),
        sa.UniqueConstraint("channel", "item", name=op.f("uq_provider_copies_channel")),
    )
    op.create_index(op.f("ix_provider_copies_contact_id"), "provider_copies", ["contact_id"],
                    unique=False)
    op.create_index("ix_provider_copies_next_at", "provider_copies", ["next_at"], unique=False)
    conn = op.get_bind()
    seen: set[str] = set()
    rows = []
    for contact_id, closed, created, pending in conn.execute(sa.select(
            REQUESTS.c.contact_id, REQUESTS.c.closed_at, REQUESTS.c.created_at,
            REQUESTS.c.provider_pending).order_by(REQUESTS.c.id)):
        when = closed or created
        for item in pending or []:  # only Twilio's ids were ever kept there
            if item not in seen:
                seen.add(item)
                rows.append({"contact_id": contact_id, "channel": "whatsapp", "item": item,
                             "created_at": when, "next_at": when, "attempts": 0})
    if rows:
        conn.execute(COPIES.insert(), rows)
    with op.batch_alter_table("privacy_requests") as batch:
        batch.drop_column("provider_pending")


def downgrade() -> None:
    with op.batch_alter_table("privacy_requests") as batch:
        batch.add_column(sa.Column("provider_pending", sa.JSON(), nullable=True))
    conn = op.get_bind()
    left: dict[int, list[str]] = {}
    for contact_id, item in conn.execute(sa.select(COPIES.c.contact_id, COPIES.c.item)
                                         .order_by(COPIES.c.created_at)):
        left.setdefault(contact_id, []).append(item)
    latest: dict[int, int] = {}  # each contact's copies go back to its latest erasure
    for request_id, contact_id in conn.execute(sa.select(REQUESTS.c.id, REQUESTS.c.contact_id)
                                               .where(REQUESTS.c.kind == "erase")
                                               .order_by(REQUESTS.c.id)):
        latest[contact_id] = request_id
    conn.execute(REQUESTS.update().values(provider_pending=[]))
    for contact_id, request_id in latest.items():
        conn.execute(REQUESTS.update().where(REQUESTS.c.id == request_id)
                     .values(provider_pending=left.get(contact_id, [])))
    with op.batch_alter_table("privacy_requests") as batch:
        batch.alter_column("provider_pending", existing_type=sa.JSON(), nullable=False)
    op.drop_index("ix_provider_copies_next_at", table_name="provider_copies")
    op.drop_index(op.f("ix_provider_copies_contact_id"), table_name="provider_copies")
    op.drop_table("provider_copies")
