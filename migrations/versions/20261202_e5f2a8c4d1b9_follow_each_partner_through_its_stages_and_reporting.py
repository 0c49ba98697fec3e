"""Follow each partner through its stages and its reporting: stage history, reporting
cadence, "rien à signaler" declarations, reminders; prospects have no onboarding date yet

Revision ID: e5f2a8c4d1b9
Revises: c7e1a9d3f5b2
Create Date: 2026-12-02 19:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e5f2a8c4d1b9'
down_revision = 'c7e1a9d3f5b2'
branch_labels = None
depends_on = None

STAGES = ('prospect', 'contacted', 'met', 'agreement', 'paused', 'left')
CADENCES = ('monthly', 'quarterly')
REMINDER_STATUSES = ('pending', 'sent', 'failed')


def _choice(values, name):
    return sa.Enum(*values, name=name, native_enum=False, create_constraint=True, length=32)


def _user_fk(table, column):
    return sa.ForeignKeyConstraint(
        [column], ['users.id'], name=op.f(f'fk_{table}_{column}_users'), ondelete='SET NULL'
    )


def _structure_fk(table):
    return sa.ForeignKeyConstraint(
        ['structure_id'], ['structures.id'], name=op.f(f'fk_{table}_structure_id_structures')
    )


def upgrade():
    with op.batch_alter_table('structures', schema=None) as batch_op:
        batch_op.add_column(sa.Column(
            'stage', _choice(STAGES, 'stage'), server_default='agreement', nullable=False
        ))
        batch_op.add_column(sa.Column(
            'reporting_cadence', _choice(CADENCES, 'reporting_cadence'),
            server_default='monthly', nullable=False,
        ))
        batch_op.add_column(sa.Column(
            'reminders_opted_out', sa.Boolean(), server_default=sa.false(), nullable=False
        ))
        batch_op.alter_column('onboarded_on', existing_type=sa.Date(), nullable=True)
    # A structure deactivated before stages existed has left the programme.
    op.execute("UPDATE structures SET stage = 'left' WHERE NOT active")

    op.create_table(
        'stage_changes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('structure_id', sa.Integer(), nullable=False),
        sa.Column('stage', _choice(STAGES, 'stage'), nullable=False),
        sa.Column('effective_on', sa.Date(), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=True),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        _user_fk('stage_changes', 'recorded_by_id'),
        _structure_fk('stage_changes'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_stage_changes')),
    )
    op.create_index(
        op.f('ix_stage_changes_structure_id'), 'stage_changes', ['structure_id'], unique=False
    )
    op.create_table(
        'nothing_to_report',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('structure_id', sa.Integer(), nullable=False),
        sa.Column('cadence', _choice(CADENCES, 'cadence'), nullable=False),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('period_end', sa.Date(), nullable=False),
        sa.Column('declared_by_id', sa.Integer(), nullable=True),
        sa.Column('declared_at', sa.DateTime(timezone=True), nullable=False),
        _user_fk('nothing_to_report', 'declared_by_id'),
        _structure_fk('nothing_to_report'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_nothing_to_report')),
        sa.UniqueConstraint(
            'structure_id', 'period_start',
            name=op.f('uq_nothing_to_report_structure_id_period_start'),
        ),
    )
    op.create_index(
        op.f('ix_nothing_to_report_structure_id'), 'nothing_to_report', ['structure_id'],
        unique=False,
    )
    op.create_table(
        'reminders',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('key', sa.String(length=120), nullable=False),
        sa.Column('level', sa.Integer(), nullable=False),
        sa.Column('structure_id', sa.Integer(), nullable=True),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('period_start', sa.Date(), nullable=False),
        sa.Column('recipients', sa.Integer(), nullable=False),
        sa.Column('status', _choice(REMINDER_STATUSES, 'status'), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('error', sa.String(length=300), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
        _user_fk('reminders', 'user_id'),
        _structure_fk('reminders'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders')),
        sa.UniqueConstraint('key', name=op.f('uq_reminders_key')),
    )
    op.create_index(
        op.f('ix_reminders_structure_id'), 'reminders', ['structure_id'], unique=False
    )


def downgrade():
    op.drop_index(op.f('ix_reminders_structure_id'), table_name='reminders')
    op.drop_table('reminders')
    op.drop_index(op.f('ix_nothing_to_report_structure_id'), table_name='nothing_to_report')
    op.drop_table('nothing_to_report')
    op.drop_index(op.f('ix_stage_changes_structure_id'), table_name='stage_changes')
    op.drop_table('stage_changes')
    op.execute("UPDATE structures SET onboarded_on = CURRENT_DATE WHERE onboarded_on IS NULL")
    with op.batch_alter_table('structures', schema=None) as batch_op:
        batch_op.alter_column('onboarded_on', existing_type=sa.Date(), nullable=False)
        batch_op.drop_constraint('stage', type_='check')
        batch_op.drop_constraint('reporting_cadence', type_='check')
        batch_op.drop_column('reminders_opted_out')
        batch_op.drop_column('reporting_cadence')
        batch_op.drop_column('stage')
