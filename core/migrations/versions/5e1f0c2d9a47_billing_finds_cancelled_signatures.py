"""Billing finds the sessions where a correction cancelled a signature (R11)

Revision ID: 5e1f0c2d9a47
Revises: ba2816662199
Create Date: 2026-12-03 13:50:00.000000

"""
from alembic import op
import sqlalchemy as sa


revision = '5e1f0c2d9a47'
down_revision = 'ba2816662199'
branch_labels = None
depends_on = None

ABSENT = "kind = 'correction' AND action = 'mark_absent'"


def upgrade():
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.create_index(
            'ix_signature_absent_corrections',
            ['session_id'],
            unique=False,
            sqlite_where=sa.text(ABSENT),
            postgresql_where=sa.text(ABSENT),
        )


def downgrade():
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.drop_index('ix_signature_absent_corrections')
