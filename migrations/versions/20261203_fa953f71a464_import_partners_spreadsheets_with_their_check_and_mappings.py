"""Import partners' spreadsheets: each file with what its check found, and the column and
value mappings saved per structure

Revision ID: fa953f71a464
Revises: a60d5559f7ea
Create Date: 2026-12-03 09:00:22.295062

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'fa953f71a464'
down_revision = 'a60d5559f7ea'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_mappings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], name=op.f('fk_import_mappings_structure_id_structures'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_import_mappings_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_mappings')),
    sa.UniqueConstraint('structure_id', 'name', name=op.f('uq_import_mappings_structure_id_name'))
    )
    op.create_table('report_imports',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('sheet', sa.String(length=100), nullable=True),
    sa.Column('description', sa.String(length=300), nullable=True),
    sa.Column('mapping_name', sa.String(length=100), nullable=True),
    sa.Column('columns', sa.JSON(), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.Column('status', sa.Enum('checking', 'checked', 'importing', 'imported', 'failed', name='status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('errors', sa.JSON(), nullable=False),
    sa.Column('preview', sa.JSON(), nullable=False),
    sa.Column('unknown_words', sa.JSON(), nullable=False),
    sa.Column('failure', sa.String(length=300), nullable=True),
    sa.Column('valid_only', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('committed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_report_imports_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], name=op.f('fk_report_imports_structure_id_structures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_imports'))
    )
    with op.batch_alter_table('report_imports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_imports_structure_id'), ['structure_id'], unique=False)



def downgrade():
    with op.batch_alter_table('report_imports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_imports_structure_id'))

    op.drop_table('report_imports')
    op.drop_table('import_mappings')
