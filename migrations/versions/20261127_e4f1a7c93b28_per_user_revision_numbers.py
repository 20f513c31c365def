"""per-user revision numbers

Revision ID: e4f1a7c93b28
Revises: d7b2e94c1a05
Create Date: 2026-11-27

memory_revisions.number counts a user's revisions 1, 2, 3 ... (what staff and the API
show; the global id stays internal), from users.revision_count, which every write that
adds a revision bumps under the user's row lock. Existing revisions are numbered in the
order they were written.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4f1a7c93b28'
down_revision = 'd7b2e94c1a05'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision_count', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('memory_revisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number', sa.Integer(), nullable=False, server_default='0'))

    op.execute(
        "UPDATE memory_revisions SET number = ranked.n FROM ("
        " SELECT id, row_number() OVER (PARTITION BY user_id ORDER BY id) AS n FROM memory_revisions"
        ") AS ranked WHERE memory_revisions.id = ranked.id"
    )
    op.execute(
        "UPDATE users SET revision_count = COALESCE("
        "(SELECT max(number) FROM memory_revisions WHERE memory_revisions.user_id = users.id), 0)"
    )

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('revision_count', server_default=None)
    with op.batch_alter_table('memory_revisions', schema=None) as batch_op:
        batch_op.alter_column('number', server_default=None)


def downgrade():
    with op.batch_alter_table('memory_revisions', schema=None) as batch_op:
        batch_op.drop_column('number')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('revision_count')
