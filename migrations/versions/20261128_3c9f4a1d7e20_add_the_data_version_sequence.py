"""Add the data_version sequence, moved after each write, that the indicators' cache reads

Revision ID: 3c9f4a1d7e20
Revises: 5b1e0c7d2a41
Create Date: 2026-11-28 21:00:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '3c9f4a1d7e20'
down_revision = '5b1e0c7d2a41'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('CREATE SEQUENCE IF NOT EXISTS data_version')


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP SEQUENCE IF EXISTS data_version')
