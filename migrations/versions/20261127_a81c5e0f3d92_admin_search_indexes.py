"""admin search indexes

Revision ID: a81c5e0f3d92
Revises: e4f1a7c93b28
Create Date: 2026-11-27

The admin users list pages through memories by last update and searches their text with
ILIKE '%...%'. At 100,000 users both scanned every memory (0.5-2.6 s a page):

- user_memories (updated_at, user_id) gets a B-tree index, so a page is an index-ordered read;
- on PostgreSQL the text gets a GIN trigram index (pg_trgm), the only index that serves
  ILIKE '%...%'. It is built CONCURRENTLY, outside the migration's transaction, so saves go on
  while it builds on a large table; a leftover of an interrupted build (an INVALID index of the
  same name) is dropped first. SQLite has no trigram indexes: there the search scans.

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'a81c5e0f3d92'
down_revision = 'e4f1a7c93b28'
branch_labels = None
depends_on = None

TRIGRAMS = 'ix_user_memories_content_trgm'


def upgrade():
    with op.batch_alter_table('user_memories', schema=None) as batch_op:
        batch_op.create_index('ix_user_memories_updated_at_user_id', ['updated_at', 'user_id'], unique=False)
    if op.get_bind().dialect.name != 'postgresql':
        return
    # pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
    op.execute('CREATE EXTENSION IF NOT EXISTS pg_trgm')
    with op.get_context().autocommit_block():
        op.execute(f'DROP INDEX CONCURRENTLY IF EXISTS {TRIGRAMS}')
        op.execute(f'CREATE INDEX CONCURRENTLY {TRIGRAMS} ON user_memories USING gin (content gin_trgm_ops)')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f'DROP INDEX IF EXISTS {TRIGRAMS}')  # the extension stays: others may use it
    with op.batch_alter_table('user_memories', schema=None) as batch_op:
        batch_op.drop_index('ix_user_memories_updated_at_user_id')
