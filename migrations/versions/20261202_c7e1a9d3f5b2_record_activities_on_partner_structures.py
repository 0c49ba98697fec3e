"""Record activities on partner structures (meetings, calls, committees) with their next
steps

Revision ID: c7e1a9d3f5b2
Revises: b4c8d2e6f1a3
Create Date: 2026-12-02 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7e1a9d3f5b2'
down_revision = 'b4c8d2e6f1a3'
branch_labels = None
depends_on = None

KINDS = (
    'prospection_meeting', 'call', 'email', 'steering_committee', 'technical_committee',
    'training', 'webinar', 'event',
)
STATUSES = ('planned', 'done', 'cancelled')


def upgrade():
    op.create_table(
        'activities',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('structure_id', sa.Integer(), nullable=False),
        sa.Column(
            'kind',
            sa.Enum(*KINDS, name='kind', native_enum=False, create_constraint=True, length=32),
            nullable=False,
        ),
        sa.Column('held_on', sa.Date(), nullable=False),
        sa.Column(
            'status',
            sa.Enum(*STATUSES, name='status', native_enum=False, create_constraint=True,
                    length=32),
            nullable=False,
        ),
        sa.Column('participants', sa.String(length=500), nullable=True),
        sa.Column('note', sa.String(length=2000), nullable=True),
        sa.Column('next_step', sa.String(length=300), nullable=True),
        sa.Column('next_step_due', sa.Date(), nullable=True),
        sa.Column('next_step_owner_id', sa.Integer(), nullable=True),
        sa.Column('next_step_done_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_by_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['created_by_id'], ['users.id'],
            name=op.f('fk_activities_created_by_id_users'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['next_step_owner_id'], ['users.id'],
            name=op.f('fk_activities_next_step_owner_id_users'), ondelete='SET NULL',
        ),
        sa.ForeignKeyConstraint(
            ['structure_id'], ['structures.id'],
            name=op.f('fk_activities_structure_id_structures'),
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_activities')),
    )
    for column in ('structure_id', 'held_on', 'next_step_due', 'next_step_owner_id'):
        op.create_index(op.f(f'ix_activities_{column}'), 'activities', [column], unique=False)


def downgrade():
    for column in ('next_step_owner_id', 'next_step_due', 'held_on', 'structure_id'):
        op.drop_index(op.f(f'ix_activities_{column}'), table_name='activities')
    op.drop_table('activities')
