"""counselors, queue and referrals

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('counselors',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('on_duty', sa.Boolean(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('active_case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counselors'))
    )
    with op.batch_alter_table('counselors', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_counselors_active_case_id_cases', 'cases',
                                    ['active_case_id'], ['id'])
    op.create_table('counselor_accounts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('counselor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('channel', sa.String(length=20), nullable=False),
    sa.Column('provider_user_id', sa.String(length=100), nullable=False),
    sa.ForeignKeyConstraint(['counselor_id'], ['counselors.id'], name=op.f('fk_counselor_accounts_counselor_id_counselors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_counselor_accounts')),
    sa.UniqueConstraint('channel', 'provider_user_id', name=op.f('uq_counselor_accounts_channel'))
    )
    with op.batch_alter_table('counselor_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_counselor_accounts_counselor_id'), ['counselor_id'], unique=False)

    op.create_table('invites',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('role', sa.String(length=12), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('counselor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.ForeignKeyConstraint(['counselor_id'], ['counselors.id'], name=op.f('fk_invites_counselor_id_counselors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invites')),
    sa.UniqueConstraint('code', name=op.f('uq_invites_code'))
    )
    op.create_table('referrals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('institution', sa.String(length=40), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('legal_basis', sa.String(length=30), nullable=False),
    sa.Column('counselor_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_referrals_case_id_cases')),
    sa.ForeignKeyConstraint(['counselor_id'], ['counselors.id'], name=op.f('fk_referrals_counselor_id_counselors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_referrals'))
    )
    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_referrals_case_id'), ['case_id'], unique=False)

    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('author', sa.String(length=40), nullable=True))

    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.add_column(sa.Column('assignee_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('first_response_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('outcome', sa.String(length=30), nullable=True))
        batch_op.add_column(sa.Column('satisfaction', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('previous_case_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True))
        batch_op.add_column(sa.Column('last_alert_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('alert_count', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('flagged_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f('ix_cases_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_cases_previous_case_id_cases'), 'cases', ['previous_case_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_cases_assignee_id_counselors'), 'counselors', ['assignee_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_column('author')
    with op.batch_alter_table('cases', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_cases_assignee_id_counselors'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_cases_previous_case_id_cases'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_cases_assignee_id'))
        batch_op.drop_column('flagged_at')
        batch_op.drop_column('alert_count')
        batch_op.drop_column('last_alert_at')
        batch_op.drop_column('previous_case_id')
        batch_op.drop_column('satisfaction')
        batch_op.drop_column('outcome')
        batch_op.drop_column('first_response_at')
        batch_op.drop_column('assignee_id')

    with op.batch_alter_table('referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_referrals_case_id'))

    op.drop_table('referrals')
    op.drop_table('invites')
    with op.batch_alter_table('counselor_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_counselor_accounts_counselor_id'))

    op.drop_table('counselor_accounts')
    op.drop_table('counselors')
