"""billing reads narrow indexes

A session's own and its trainers' entries (ix_signature_session_facts); whether a trainee
signed, from the exactly-once index (uq_signature_once carries signer_kind).

Revision ID: d41c7e9a2b10
Revises: 7bcc863a54bf
Create Date: 2026-12-03 12:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd41c7e9a2b10'
down_revision = '7bcc863a54bf'
branch_labels = None
depends_on = None

ONCE = "kind IN ('sign_in', 'sign_out')"
NOT_TRAINEE = "signer_kind <> 'trainee'"


def upgrade():
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.create_index(
            'ix_signature_session_facts',
            ['session_id', 'seq'],
            unique=False,
            sqlite_where=sa.text(NOT_TRAINEE),
            postgresql_where=sa.text(NOT_TRAINEE),
            postgresql_include=['kind', 'signer_kind', 'half_day', 'at', 'facts'],
        )
    if op.get_bind().dialect.name == 'postgresql':
        # The exactly-once index again, carrying signer_kind: built beside the old one, which
        # guards sign-ins until it is dropped (same name afterwards).
        op.create_index(
            'uq_signature_once_new',
            'signature',
            ['session_id', 'signer_id', 'half_day', 'kind'],
            unique=True,
            postgresql_where=sa.text(ONCE),
            postgresql_include=['signer_kind'],
        )
        op.drop_index('uq_signature_once', table_name='signature')
        op.execute('ALTER INDEX uq_signature_once_new RENAME TO uq_signature_once')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.create_index(
            'uq_signature_once_old',
            'signature',
            ['session_id', 'signer_id', 'half_day', 'kind'],
            unique=True,
            postgresql_where=sa.text(ONCE),
        )
        op.drop_index('uq_signature_once', table_name='signature')
        op.execute('ALTER INDEX uq_signature_once_old RENAME TO uq_signature_once')
    with op.batch_alter_table('signature', schema=None) as batch_op:
        batch_op.drop_index(
            'ix_signature_session_facts',
            sqlite_where=sa.text(NOT_TRAINEE),
            postgresql_where=sa.text(NOT_TRAINEE),
        )
