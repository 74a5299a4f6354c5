"""the web console: sign-in names, password hashes, sessions and failed sign-ins

Revision ID: 0010
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("counselors", schema=None) as batch_op:
        batch_op.add_column(sa.Column("username", sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column("password_hash", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("password_changed_at", TIME, nullable=True))
        batch_op.add_column(sa.Column("language", sa.String(length=5), server_default="id",
                                      nullable=False))
        batch_op.create_unique_constraint(batch_op.f("uq_counselors_username"), ["username"])
    op.create_table(
        "console_sessions",
        sa.Column("id_hash", sa.String(length=64), nullable=False),
        sa.Column("counselor_id", ID, nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.Column("last_seen_at", TIME, nullable=False),
        sa.Column("revoked_at", TIME, nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("flash", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["counselor_id"], ["counselors.id"],
                                name=op.f("fk_console_sessions_counselor_id_counselors")),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_console_sessions")),
    )
    op.create_index(op.f("ix_console_sessions_counselor_id"), "console_sessions",
                    ["counselor_id"], unique=False)
    op.create_table(
        "login_failures",
        sa.Column("id", ID, nullable=False),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_username", "login_failures", ["username", "created_at"])
    op.create_index("ix_login_failures_address", "login_failures", ["address", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_login_failures_address", table_name="login_failures")
    op.drop_index("ix_login_failures_username", table_name="login_failures")
    op.drop_table("login_failures")
    op.drop_index(op.f("ix_console_sessions_counselor_id"), table_name="console_sessions")
    op.drop_table("console_sessions")
    with op.batch_alter_table("counselors", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_counselors_username"), type_="unique")
        batch_op.drop_column("language")
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("password_hash")
        batch_op.drop_column("username")
