"""Access sites: a version per site, bumped with every change of its bookings, closures or
fields, that keys the cache of a department's availability

Revision ID: 4c8e2a1f7d90
Revises: 6ca769cbbe1c
Create Date: 2026-12-03 16:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '4c8e2a1f7d90'
down_revision = '6ca769cbbe1c'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), server_default='0', nullable=False))


def downgrade():
    with op.batch_alter_table('site', schema=None) as batch_op:
        batch_op.drop_column('version')
