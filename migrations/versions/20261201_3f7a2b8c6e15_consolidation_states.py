"""consolidation states (background consolidation)

Revision ID: 3f7a2b8c6e15
Revises: 8c4e1f2a9d37
Create Date: 2026-12-01

One row per user whose recorded turns await or had a background consolidation: watermark,
due time, queued job and running lease (aura.jobs).

Time and locks: an empty new table and an index on it, milliseconds. Its foreign key takes a
SHARE ROW EXCLUSIVE lock on users for those milliseconds (saves wait that long); a long
transaction holding users makes it stop after AURA_MIGRATION_LOCK_TIMEOUT_MS: run it again.
Safe to run again: each object is created only if missing.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '3f7a2b8c6e15'
down_revision = '8c4e1f2a9d37'
branch_labels = None
depends_on = None

BigIntId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    if 'consolidation_states' not in sa.inspect(op.get_bind()).get_table_names():
        op.create_table(
            'consolidation_states',
            sa.Column('user_id', BigIntId, autoincrement=False, nullable=False),
            sa.Column('pending_turns', sa.Integer(), nullable=False),
            sa.Column('watermark_turn_id', sa.BigInteger(), nullable=False),
            sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
            sa.Column('job_at', sa.DateTime(timezone=True), nullable=True),
            sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
            sa.Column('lease_token', sa.String(length=32), nullable=True),
            sa.Column('last_run_at', sa.DateTime(timezone=True), nullable=True),
            sa.Column('last_outcome', sa.String(length=30), nullable=True),
            sa.ForeignKeyConstraint(
                ['user_id'], ['users.id'], name=op.f('fk_consolidation_states_user_id_users'), ondelete='CASCADE'
            ),
            sa.PrimaryKeyConstraint('user_id', name=op.f('pk_consolidation_states')),
        )
    op.create_index(
        'ix_consolidation_states_due_at', 'consolidation_states', ['due_at'], unique=False, if_not_exists=True
    )


def downgrade():
    op.drop_index('ix_consolidation_states_due_at', table_name='consolidation_states', if_exists=True)
    op.drop_table('consolidation_states')
