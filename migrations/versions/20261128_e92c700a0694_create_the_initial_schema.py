"""Create the initial schema of every table in the data model

Revision ID: e92c700a0694
Revises: 
Create Date: 2026-11-28 18:04:40.371938

"""
from alembic import op
import sqlalchemy as sa
from geoalchemy2 import Geometry

# revision identifiers, used by Alembic.
revision = 'e92c700a0694'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table('deployments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_on', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployments')),
    sa.UniqueConstraint('name', name=op.f('uq_deployments_name'))
    )
    op.create_geospatial_table('territories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.Enum('commune', 'arrondissement', 'qpv', name='level', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('population', sa.Integer(), nullable=True),
    sa.Column('dwellings', sa.Integer(), nullable=True),
    sa.Column('geom', Geometry(geometry_type='MULTIPOLYGON', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry', nullable=False), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['parent_id'], ['territories.id'], name=op.f('fk_territories_parent_id_territories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_territories')),
    sa.UniqueConstraint('code', name=op.f('uq_territories_code'))
    )
    with op.batch_alter_table('territories', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_territories_geom', ['geom'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_index(batch_op.f('ix_territories_level'), ['level'], unique=False)

    op.create_table('deployment_territories',
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.Column('territory_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], name=op.f('fk_deployment_territories_deployment_id_deployments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['territory_id'], ['territories.id'], name=op.f('fk_deployment_territories_territory_id_territories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('deployment_id', 'territory_id', name=op.f('pk_deployment_territories'))
    )
    op.create_table('structures',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.Enum('social_landlord', 'association', 'social_services', 'pest_control', 'health_centre', 'local_authority', 'other', name='kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=True),
    sa.Column('onboarded_on', sa.Date(), nullable=False),
    sa.Column('trained_on', sa.Date(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('is_demo', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['commune_id'], ['territories.id'], name=op.f('fk_structures_commune_id_territories')),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], name=op.f('fk_structures_deployment_id_deployments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_structures'))
    )
    with op.batch_alter_table('structures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_structures_commune_id'), ['commune_id'], unique=False)

    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('display_name', sa.String(length=120), nullable=False),
    sa.Column('role', sa.Enum('agent', 'partner_admin', 'coordinator', 'institution', 'evaluator', name='role', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=True),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_login_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], name=op.f('fk_users_structure_id_structures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_structure_id'), ['structure_id'], unique=False)

    op.create_table('api_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_api_tokens_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_api_tokens_token_hash'))
    )
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_api_tokens_user_id'), ['user_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('actor', sa.String(length=254), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=200), nullable=False),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_audit_events_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)

    op.create_geospatial_table('reports',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.Enum('form', 'api', 'import', name='source', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('intervention_date', sa.Date(), nullable=False),
    sa.Column('location', Geometry(geometry_type='POINT', srid=4326, dimension=2, spatial_index=False, from_text='ST_GeomFromEWKT', name='geometry'), nullable=True),
    sa.Column('commune_id', sa.Integer(), nullable=False),
    sa.Column('arrondissement_id', sa.Integer(), nullable=True),
    sa.Column('qpv_id', sa.Integer(), nullable=True),
    sa.Column('housing', sa.Enum('social', 'private_rented', 'owner_occupied', 'emergency_accommodation', 'other', name='housing', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('building_type', sa.Enum('collective', 'individual', name='building_type', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('household_size', sa.SmallInteger(), nullable=True),
    sa.Column('vuln_minimum_benefits', sa.Boolean(), nullable=False),
    sa.Column('vuln_isolated_elderly', sa.Boolean(), nullable=False),
    sa.Column('vuln_disability', sa.Boolean(), nullable=False),
    sa.Column('vuln_young_children', sa.Boolean(), nullable=False),
    sa.Column('vuln_psychological_distress', sa.Boolean(), nullable=False),
    sa.Column('infestation_level', sa.Enum('suspected', 'low', 'moderate', 'severe', name='infestation_level', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('confirmation', sa.Enum('visual', 'canine_detection', 'professional', name='confirmation', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('cost_total', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('cost_payer', sa.Enum('household', 'landlord', 'structure', 'public_funds', 'shared', 'other', name='cost_payer', native_enum=False, create_constraint=True, length=32), nullable=True),
    sa.Column('cost_household', sa.Numeric(precision=10, scale=2), nullable=True),
    sa.Column('status', sa.Enum('ongoing', 'resolved', 'reinfested', 'lost', name='status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('resolved_on', sa.Date(), nullable=True),
    sa.Column('dwelling_key', sa.String(length=64), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.Column('payload_hash', sa.String(length=64), nullable=True),
    sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['arrondissement_id'], ['territories.id'], name=op.f('fk_reports_arrondissement_id_territories')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_reports_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['commune_id'], ['territories.id'], name=op.f('fk_reports_commune_id_territories')),
    sa.ForeignKeyConstraint(['qpv_id'], ['territories.id'], name=op.f('fk_reports_qpv_id_territories')),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], name=op.f('fk_reports_structure_id_structures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports'))
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_geospatial_index('idx_reports_location', ['location'], unique=False, postgresql_using='gist', postgresql_ops={})
        batch_op.create_index(batch_op.f('ix_reports_arrondissement_id'), ['arrondissement_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_commune_id'), ['commune_id'], unique=False)
        batch_op.create_index('ix_reports_created_at_id', ['created_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_intervention_date'), ['intervention_date'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_qpv_id'), ['qpv_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_status'), ['status'], unique=False)
        batch_op.create_index('ix_reports_structure_id_dwelling_key', ['structure_id', 'dwelling_key'], unique=False)

    op.create_table('training_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('held_on', sa.Date(), nullable=False),
    sa.Column('structure_id', sa.Integer(), nullable=True),
    sa.Column('territory_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('professional_training', 'resident_awareness', 'workshop', name='kind', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('participants', sa.Integer(), nullable=False),
    sa.Column('notes', sa.String(length=500), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_training_sessions_created_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['structure_id'], ['structures.id'], name=op.f('fk_training_sessions_structure_id_structures')),
    sa.ForeignKeyConstraint(['territory_id'], ['territories.id'], name=op.f('fk_training_sessions_territory_id_territories')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_training_sessions'))
    )
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_training_sessions_held_on'), ['held_on'], unique=False)
        batch_op.create_index(batch_op.f('ix_training_sessions_structure_id'), ['structure_id'], unique=False)

    op.create_table('user_deployments',
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], name=op.f('fk_user_deployments_deployment_id_deployments'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_deployments_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', 'deployment_id', name=op.f('pk_user_deployments'))
    )
    op.create_table('report_actions',
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('action', sa.Enum('diagnosis', 'canine_detection', 'chemical_treatment', 'heat_treatment', 'freezing', 'vacuuming', 'social_support', 'decluttering', 'furniture_removal', 'mattress_covers', 'awareness', 'referral', 'equipment_loan', name='action', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_actions_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('report_id', 'action', name=op.f('pk_report_actions'))
    )
    with op.batch_alter_table('report_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_actions_action'), ['action'], unique=False)

    op.create_table('report_status_changes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('ongoing', 'resolved', 'reinfested', 'lost', name='status', native_enum=False, create_constraint=True, length=32), nullable=False),
    sa.Column('resolved_on', sa.Date(), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('changed_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['changed_by_id'], ['users.id'], name=op.f('fk_report_status_changes_changed_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['report_id'], ['reports.id'], name=op.f('fk_report_status_changes_report_id_reports'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_report_status_changes'))
    )
    with op.batch_alter_table('report_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_report_status_changes_report_id'), ['report_id'], unique=False)



def downgrade():
    with op.batch_alter_table('report_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_status_changes_report_id'))

    op.drop_table('report_status_changes')
    with op.batch_alter_table('report_actions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_report_actions_action'))

    op.drop_table('report_actions')
    op.drop_table('user_deployments')
    with op.batch_alter_table('training_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_training_sessions_structure_id'))
        batch_op.drop_index(batch_op.f('ix_training_sessions_held_on'))

    op.drop_table('training_sessions')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index('ix_reports_structure_id_dwelling_key')
        batch_op.drop_index(batch_op.f('ix_reports_status'))
        batch_op.drop_index(batch_op.f('ix_reports_qpv_id'))
        batch_op.drop_index(batch_op.f('ix_reports_intervention_date'))
        batch_op.drop_index('ix_reports_created_at_id')
        batch_op.drop_index(batch_op.f('ix_reports_commune_id'))
        batch_op.drop_index(batch_op.f('ix_reports_arrondissement_id'))
        batch_op.drop_geospatial_index('idx_reports_location', postgresql_using='gist', column_name='location')

    op.drop_geospatial_table('reports')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))

    op.drop_table('audit_events')
    with op.batch_alter_table('api_tokens', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_api_tokens_user_id'))

    op.drop_table('api_tokens')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_structure_id'))

    op.drop_table('users')
    with op.batch_alter_table('structures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_structures_commune_id'))

    op.drop_table('structures')
    op.drop_table('deployment_territories')
    with op.batch_alter_table('territories', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_territories_level'))
        batch_op.drop_geospatial_index('idx_territories_geom', postgresql_using='gist', column_name='geom')

    op.drop_geospatial_table('territories')
    op.drop_table('deployments')
