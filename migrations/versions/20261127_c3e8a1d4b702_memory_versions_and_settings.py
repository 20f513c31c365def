"""memory versions and the per-user memory switch

Revision ID: c3e8a1d4b702
Revises: f5d161375538
Create Date: 2026-11-27

users.memory_version counts every change to a user's memory (deletions too, so a version
is never reused) and user_memories.version is the current memory's copy of it: together
they give ETag / If-Match. users.memory_enabled is the user's "memory off" switch.

Existing rows: every user starts enabled; a user with a memory starts at version 1.
The server defaults only fill existing rows and are dropped again: the application
always writes these columns itself.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c3e8a1d4b702'
down_revision = 'f5d161375538'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('memory_enabled', sa.Boolean(), nullable=False, server_default=sa.true()))
        batch_op.add_column(sa.Column('memory_version', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('user_memories', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))

    op.execute(
        "UPDATE users SET memory_version = 1 "
        "WHERE EXISTS (SELECT 1 FROM user_memories WHERE user_memories.user_id = users.id)"
    )

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('memory_enabled', server_default=None)
        batch_op.alter_column('memory_version', server_default=None)
    with op.batch_alter_table('user_memories', schema=None) as batch_op:
        batch_op.alter_column('version', server_default=None)


def downgrade():
    with op.batch_alter_table('user_memories', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('memory_version')
        batch_op.drop_column('memory_enabled')
