"""Invite people and reset passwords by single-use links; a language per account, and a
contact person per structure

Revision ID: b4c8d2e6f1a3
Revises: 9a6e3f1c8b72
Create Date: 2026-12-02 15:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b4c8d2e6f1a3'
down_revision = '9a6e3f1c8b72'
branch_labels = None
depends_on = None

CONTACT = (
    ('contact_name', 120),
    ('contact_function', 120),
    ('contact_email', 254),
    ('contact_phone', 40),
)


def upgrade():
    # Plain ADD COLUMN: nullable or with a default, which SQLite takes without copying.
    op.add_column(
        'users',
        sa.Column('language', sa.String(length=8), server_default=sa.text("'fr'"), nullable=False),
    )
    for name, length in CONTACT:
        op.add_column('structures', sa.Column(name, sa.String(length=length), nullable=True))
    op.create_table(
        'account_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column(
            'purpose',
            sa.Enum('invitation', 'reset', name='purpose', native_enum=False,
                    create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('send_error', sa.String(length=300), nullable=True),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['users.id'],
            name=op.f('fk_account_links_created_by_id_users'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['user_id'], ['users.id'],
            name=op.f('fk_account_links_user_id_users'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_account_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_account_links_token_hash')),
    )
    op.create_index(op.f('ix_account_links_user_id'), 'account_links', ['user_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_account_links_user_id'), table_name='account_links')
    op.drop_table('account_links')
    with op.batch_alter_table('structures', schema=None) as batch_op:
        for name, _length in reversed(CONTACT):
            batch_op.drop_column(name)
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('language')
