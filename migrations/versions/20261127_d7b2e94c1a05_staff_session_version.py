"""staff session version

Revision ID: d7b2e94c1a05
Revises: c3e8a1d4b702
Create Date: 2026-11-27

Every staff session carries the account's session_version; bumping it (logout, a new
password, deactivation) ends all of that account's sessions, copied cookies included.
Existing accounts start at 0 (their current sessions then need a new login once).

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'd7b2e94c1a05'
down_revision = 'c3e8a1d4b702'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_version', sa.Integer(), nullable=False, server_default='0'))
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.alter_column('session_version', server_default=None)


def downgrade():
    with op.batch_alter_table('staff_users', schema=None) as batch_op:
        batch_op.drop_column('session_version')
