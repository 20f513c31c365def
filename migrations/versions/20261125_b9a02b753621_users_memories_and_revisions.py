"""users, memories and revisions

Revision ID: b9a02b753621
Revises: 
Create Date: 2026-11-25

The foundation: users appear on first save, one memory per user (unique user_id is
what makes the ON CONFLICT upsert work), and an append-only revision log.

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b9a02b753621'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():

    op.create_table('users',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users'))
    )
    op.create_table('memory_revisions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=120), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_memory_revisions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_memory_revisions'))
    )
    with op.batch_alter_table('memory_revisions', schema=None) as batch_op:
        batch_op.create_index('ix_memory_revisions_user_id_id', ['user_id', 'id'], unique=False)

    op.create_table('user_memories',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_memories_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_memories'))
    )
    with op.batch_alter_table('user_memories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_memories_user_id'), ['user_id'], unique=True)




def downgrade():

    with op.batch_alter_table('user_memories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_memories_user_id'))

    op.drop_table('user_memories')
    with op.batch_alter_table('memory_revisions', schema=None) as batch_op:
        batch_op.drop_index('ix_memory_revisions_user_id_id')

    op.drop_table('memory_revisions')
    op.drop_table('users')

