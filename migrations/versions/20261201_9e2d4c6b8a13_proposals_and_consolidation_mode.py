"""proposals and the per-user consolidation mode

Revision ID: 9e2d4c6b8a13
Revises: 3f7a2b8c6e15
Create Date: 2026-12-01

users.consolidation_mode ("default", "auto" or "review") and memory_proposals, one pending
consolidation per user awaiting review.

Time and locks: the column has a constant default, which PostgreSQL 11+ records in the catalog
without rewriting or scanning users (milliseconds under an exclusive lock on users, bounded
by AURA_MIGRATION_LOCK_TIMEOUT_MS: saves wait that long at most). The new table is empty; its
foreign key takes a brief SHARE ROW EXCLUSIVE lock on users. SQLite adds the column in place.
Safe to run again: each object is created only if missing.

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '9e2d4c6b8a13'
down_revision = '3f7a2b8c6e15'
branch_labels = None
depends_on = None

BigIntId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JsonDocument = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade():
    inspector = sa.inspect(op.get_bind())
    if 'consolidation_mode' not in {c['name'] for c in inspector.get_columns('users')}:
        op.add_column(
            'users',
            sa.Column('consolidation_mode', sa.String(length=10), server_default='default', nullable=False),
        )
    if 'memory_proposals' not in inspector.get_table_names():
        op.create_table(
            'memory_proposals',
            sa.Column('id', BigIntId, nullable=False),
            sa.Column('user_id', BigIntId, nullable=False),
            sa.Column('content', sa.Text(), nullable=False),
            sa.Column('based_on_version', sa.Integer(), nullable=False),
            sa.Column('source', sa.String(length=20), nullable=False),
            sa.Column('reason', sa.String(length=20), nullable=False),
            sa.Column('details', JsonDocument, nullable=True),
            sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(
                ['user_id'], ['users.id'], name=op.f('fk_memory_proposals_user_id_users'), ondelete='CASCADE'
            ),
            sa.PrimaryKeyConstraint('id', name=op.f('pk_memory_proposals')),
            sqlite_autoincrement=True,  # a deleted proposal's id is never given to a newer one
        )
    op.create_index(
        op.f('ix_memory_proposals_user_id'), 'memory_proposals', ['user_id'], unique=True, if_not_exists=True
    )


def downgrade():
    op.drop_index(op.f('ix_memory_proposals_user_id'), table_name='memory_proposals', if_exists=True)
    op.drop_table('memory_proposals')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('consolidation_mode')
