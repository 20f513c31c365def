"""trigram index without a pending list

Revision ID: 760a5f0ba87d
Revises: a81c5e0f3d92
Create Date: 2026-12-01

A GIN index with fastupdate (PostgreSQL's default) collects new entries in a pending list
and merges it into the index inside whichever save pushes it past gin_pending_list_limit:
one save in a few hundred waited for the merge (0.2-0.7 s at a million users, longer as the
index grows). With fastupdate off every save updates the index itself: at a million users
(bench/save_stalls.py, one save at a time) p99 1.6 -> 2.7 ms, and the longest save 82 -> 17 ms.

PostgreSQL only. Time and locks: a catalog change under a brief exclusive lock on the index
(bounded by AURA_MIGRATION_LOCK_TIMEOUT_MS), then the entries still pending are merged
(at most gin_pending_list_limit, 4 MB by default: well under a second); writes are not held
up beyond that. Safe to run again.

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '760a5f0ba87d'
down_revision = 'a81c5e0f3d92'
branch_labels = None
depends_on = None

TRIGRAMS = 'ix_user_memories_content_trgm'


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(f'ALTER INDEX IF EXISTS {TRIGRAMS} SET (fastupdate = off)')
    op.execute(f"SELECT gin_clean_pending_list('{TRIGRAMS}'::regclass)")


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(f'ALTER INDEX IF EXISTS {TRIGRAMS} RESET (fastupdate)')
