"""admin search indexes

Revision ID: a81c5e0f3d92
Revises: e4f1a7c93b28
Create Date: 2026-11-27

The admin users list pages through memories by last update and searches their text with
ILIKE '%...%'. At 100,000 users both scanned every memory (0.5-2.6 s a page):

- user_memories (updated_at, user_id) gets a B-tree index, so a page is an index-ordered read;
- on PostgreSQL the text gets a GIN trigram index (pg_trgm), the only index that serves
  ILIKE '%...%'. SQLite has no trigram indexes: there the search scans.

On PostgreSQL both are built CONCURRENTLY, outside the migration's transaction, so saves go
on while they build; re-running after an interruption drops an INVALID leftover and builds
it again, and keeps what was finished. Time and locks: see DEPLOY.md, "Migrations at scale".

"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a81c5e0f3d92'
down_revision = 'e4f1a7c93b28'
branch_labels = None
depends_on = None

TRIGRAMS = 'ix_user_memories_content_trgm'
BY_UPDATE = 'ix_user_memories_updated_at_user_id'


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        op.execute(f'CREATE INDEX IF NOT EXISTS {BY_UPDATE} ON user_memories (updated_at, user_id)')
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    with op.get_context().autocommit_block():
        build_concurrently(BY_UPDATE, 'ON user_memories (updated_at, user_id)')
        build_concurrently(TRIGRAMS, 'ON user_memories USING gin (content gin_trgm_ops)')


def build_concurrently(name, definition):
    """CREATE INDEX CONCURRENTLY, safe to run again after an interruption.

    Saves go on while it builds. A build that was cancelled or killed leaves an INVALID index
    of that name, which PostgreSQL keeps updating but never uses: it is dropped and built
    anew; a valid one from an earlier run is kept.
    """
    invalid = op.get_bind().execute(
        sa.text(
            'SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid '
            'WHERE c.relname = :name AND NOT i.indisvalid'
        ),
        {'name': name},
    ).first()
    if invalid:
        op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {name}')
    op.execute(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {definition}')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'DROP INDEX IF EXISTS {TRIGRAMS}')  # the extension stays: others may use it
    with op.batch_alter_table('user_memories', schema=None) as batch_op:
        batch_op.drop_index('ix_user_memories_updated_at_user_id')
