"""Add a random record key to reports, structures and training sessions, for the cell-key
perturbation of the figures others than the programme team read

Revision ID: 9a6e3f1c8b72
Revises: 7d41c2e9a3b5
Create Date: 2026-12-02 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '9a6e3f1c8b72'
down_revision = '7d41c2e9a3b5'
branch_labels = None
depends_on = None

TABLES = ('reports', 'structures', 'training_sessions')
RANDOM_KEY = {
    'postgresql': 'floor(random() * 2147483647)::integer',
    'sqlite': 'abs(random() % 2147483647)',
}


def upgrade():
    dialect = op.get_bind().dialect.name
    for table in TABLES:
        # A plain ADD COLUMN on both databases: SQLite takes a NOT NULL column with a default,
        # and copying these tables (batch mode) would trip over SpatiaLite's triggers.
        op.add_column(
            table,
            sa.Column('record_key', sa.Integer(), server_default=sa.text('0'), nullable=False),
        )
        op.execute(f'UPDATE {table} SET record_key = {RANDOM_KEY[dialect]}')


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('record_key')
