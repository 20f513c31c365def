"""revision details (provenance of consolidations)

Revision ID: 5b9d0c7e2f41
Revises: 760a5f0ba87d
Create Date: 2026-12-01

A nullable JSON column on memory_revisions for how AURA wrote a text itself (model,
conversation, turns and characters used, token usage). Existing rows keep NULL.

Time and locks: PostgreSQL adds a nullable column without a default as a catalog change,
whatever the table's size (no rewrite, no scan), under a brief exclusive lock on
memory_revisions, bounded by AURA_MIGRATION_LOCK_TIMEOUT_MS: if a long transaction holds
the table, the migration stops instead of queueing every save behind it; run it again.
SQLite adds the column in place too. Safe to run again (the column is added only if missing).

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '5b9d0c7e2f41'
down_revision = '760a5f0ba87d'
branch_labels = None
depends_on = None


def _has_details() -> bool:
    columns = sa.inspect(op.get_bind()).get_columns('memory_revisions')
    return any(column['name'] == 'details' for column in columns)


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE memory_revisions ADD COLUMN IF NOT EXISTS details JSONB')
    elif not _has_details():
        op.add_column(
            'memory_revisions',
            sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(), 'postgresql'), nullable=True),
        )


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE memory_revisions DROP COLUMN IF EXISTS details')
    else:
        with op.batch_alter_table('memory_revisions', schema=None) as batch_op:
            batch_op.drop_column('details')
