"""webhook deliveries (the outbox of memory events)

Revision ID: b4f8e2a61c07
Revises: 9e2d4c6b8a13
Create Date: 2026-12-01

One row per event and receiver, written with the change it announces, then delivered by the
worker (aura.webhooks).

Time and locks: a new, empty table and two indexes on it: milliseconds; no existing table is
touched (no foreign keys). Safe to run again: each object is created only if missing.

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = 'b4f8e2a61c07'
down_revision = '9e2d4c6b8a13'
branch_labels = None
depends_on = None

BigIntId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JsonDocument = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade():
    if 'webhook_deliveries' not in sa.inspect(op.get_bind()).get_table_names():
        op.create_table(
            'webhook_deliveries',
            sa.Column('id', BigIntId, nullable=False),
            sa.Column('message_id', sa.String(length=40), nullable=False),
            sa.Column('url', sa.String(length=2000), nullable=False),
            sa.Column('event_type', sa.String(length=40), nullable=False),
            sa.Column('user_id', sa.BigInteger(), nullable=False),
            sa.Column('payload', JsonDocument, nullable=False),
            sa.Column('state', sa.String(length=20), nullable=False),
            sa.Column('attempts', sa.Integer(), nullable=False),
            sa.Column('last_status', sa.Integer(), nullable=True),
            sa.Column('last_error', sa.String(length=300), nullable=True),
            sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
            sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
            sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
            sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
        )
    op.create_index(
        'ix_webhook_deliveries_user_id_id', 'webhook_deliveries', ['user_id', 'id'], if_not_exists=True
    )
    op.create_index(
        'ix_webhook_deliveries_state_next_attempt_at',
        'webhook_deliveries',
        ['state', 'next_attempt_at'],
        if_not_exists=True,
    )


def downgrade():
    op.drop_index('ix_webhook_deliveries_state_next_attempt_at', table_name='webhook_deliveries', if_exists=True)
    op.drop_index('ix_webhook_deliveries_user_id_id', table_name='webhook_deliveries', if_exists=True)
    op.drop_table('webhook_deliveries')
