"""End sessions at sign-out with a per-account session token, and count failed sign-ins

Revision ID: 7d41c2e9a3b5
Revises: 3c9f4a1d7e20
Create Date: 2026-12-02 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7d41c2e9a3b5'
down_revision = '3c9f4a1d7e20'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_token', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('session_expires_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        'sign_in_throttles',
        sa.Column('key', sa.String(length=100), nullable=False),
        sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_throttles')),
    )


def downgrade():
    op.drop_table('sign_in_throttles')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('session_expires_at')
        batch_op.drop_column('session_token')
