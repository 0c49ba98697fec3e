"""Index reports.updated_at, so the indicators' data version reads the latest change at once

Revision ID: 5b1e0c7d2a41
Revises: e92c700a0694
Create Date: 2026-11-28 19:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5b1e0c7d2a41'
down_revision = 'e92c700a0694'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_updated_at', ['updated_at'], unique=False)


def downgrade():
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_updated_at')
