"""Set targets with their baselines and milestones, write the evaluation protocol, and freeze
packs of figures with the files rendered from them

Revision ID: a60d5559f7ea
Revises: e5f2a8c4d1b9
Create Date: 2026-12-03 06:14:27.535820

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a60d5559f7ea'
down_revision = 'e5f2a8c4d1b9'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('evaluation_questions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('recommendations', sa.Text(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], name=op.f('fk_evaluation_questions_deployment_id_deployments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_evaluation_questions_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_questions'))
    )
    with op.batch_alter_table('evaluation_questions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_questions_deployment_id'), ['deployment_id'], unique=False)

    op.create_table('packs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=True),
    sa.Column('period_start', sa.Date(), nullable=False),
    sa.Column('period_end', sa.Date(), nullable=False),
    sa.Column('status', sa.Enum('draft', 'approved', 'withdrawn', name='status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('data_version', sa.String(length=80), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_by_id', sa.Integer(), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['approved_by_id'], ['users.id'], name=op.f('fk_packs_approved_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_packs_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], name=op.f('fk_packs_deployment_id_deployments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_packs'))
    )
    with op.batch_alter_table('packs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_packs_deployment_id'), ['deployment_id'], unique=False)

    op.create_table('targets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('indicator', sa.String(length=64), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=True),
    sa.Column('agreement', sa.String(length=200), nullable=False),
    sa.Column('baseline_value', sa.Double(), nullable=False),
    sa.Column('baseline_on', sa.Date(), nullable=False),
    sa.Column('baseline_source', sa.String(length=300), nullable=False),
    sa.Column('on_track_percent', sa.Integer(), server_default='100', nullable=False),
    sa.Column('at_risk_percent', sa.Integer(), server_default='80', nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_targets_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], name=op.f('fk_targets_deployment_id_deployments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['territory_id'], ['territories.id'], name=op.f('fk_targets_territory_id_territories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_targets'))
    )
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_targets_deployment_id'), ['deployment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_targets_indicator'), ['indicator'], unique=False)

    op.create_table('evaluation_criteria',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('question_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('text', sa.String(length=500), nullable=False),
    sa.Column('indicators', sa.JSON(), nullable=False),
    sa.Column('evidence', sa.Text(), nullable=True),
    sa.Column('updated_by_id', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['question_id'], ['evaluation_questions.id'], name=op.f('fk_evaluation_criteria_question_id_evaluation_questions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'], name=op.f('fk_evaluation_criteria_updated_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_evaluation_criteria'))
    )
    with op.batch_alter_table('evaluation_criteria', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_evaluation_criteria_question_id'), ['question_id'], unique=False)

    op.create_table('pack_files',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('pack_id', sa.Integer(), nullable=False),
    sa.Column('format', sa.Enum('pdf', 'xlsx', 'csv', 'json', name='format', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('status', sa.Enum('pending', 'rendering', 'ready', 'failed', name='status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=True),
    sa.Column('error', sa.String(length=300), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['pack_id'], ['packs.id'], name=op.f('fk_pack_files_pack_id_packs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pack_files')),
    sa.UniqueConstraint('pack_id', 'format', name=op.f('uq_pack_files_pack_id_format'))
    )
    op.create_table('target_milestones',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('target_id', sa.Integer(), nullable=False),
    sa.Column('due_on', sa.Date(), nullable=False),
    sa.Column('value', sa.Double(), nullable=False),
    sa.ForeignKeyConstraint(['target_id'], ['targets.id'], name=op.f('fk_target_milestones_target_id_targets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_target_milestones')),
    sa.UniqueConstraint('target_id', 'due_on', name=op.f('uq_target_milestones_target_id_due_on'))
    )


def downgrade():
    op.drop_table('target_milestones')
    op.drop_table('pack_files')
    with op.batch_alter_table('evaluation_criteria', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_criteria_question_id'))

    op.drop_table('evaluation_criteria')
    with op.batch_alter_table('targets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_targets_indicator'))
        batch_op.drop_index(batch_op.f('ix_targets_deployment_id'))

    op.drop_table('targets')
    with op.batch_alter_table('packs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_packs_deployment_id'))

    op.drop_table('packs')
    with op.batch_alter_table('evaluation_questions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_evaluation_questions_deployment_id'))

    op.drop_table('evaluation_questions')
