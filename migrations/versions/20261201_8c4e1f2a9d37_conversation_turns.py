"""conversation turns

Revision ID: 8c4e1f2a9d37
Revises: 5b9d0c7e2f41
Create Date: 2026-12-01

A new table for recorded chat turns (AURA_CONVERSATION_RECORDING), with its indexes.

Time and locks: creating an empty table and its indexes takes milliseconds. Its foreign key
takes a SHARE ROW EXCLUSIVE lock on users for those milliseconds (saves, which lock a user's
row, wait that long); a long transaction holding users makes the migration stop after
AURA_MIGRATION_LOCK_TIMEOUT_MS instead of queueing saves behind it: run it again. Safe to run
again: each object is created only if missing.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8c4e1f2a9d37'
down_revision = '5b9d0c7e2f41'
branch_labels = None
depends_on = None

BigIntId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    if 'conversation_turns' not in sa.inspect(op.get_bind()).get_table_names():
        op.create_table(
            'conversation_turns',
            sa.Column('id', BigIntId, nullable=False),
            sa.Column('user_id', BigIntId, nullable=False),
            sa.Column('conversation_id', sa.String(length=200), nullable=True),
            sa.Column('message', sa.Text(), nullable=False),
            sa.Column('reply', sa.Text(), nullable=False),
            sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(
                ['user_id'], ['users.id'], name=op.f('fk_conversation_turns_user_id_users'), ondelete='CASCADE'
            ),
            sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_turns')),
        )
    for name, columns in (
        ('ix_conversation_turns_user_id_id', ['user_id', 'id']),
        ('ix_conversation_turns_created_at', ['created_at']),
    ):
        op.create_index(name, 'conversation_turns', columns, unique=False, if_not_exists=True)


def downgrade():
    op.drop_index('ix_conversation_turns_created_at', table_name='conversation_turns', if_exists=True)
    op.drop_index('ix_conversation_turns_user_id_id', table_name='conversation_turns', if_exists=True)
    op.drop_table('conversation_turns')
