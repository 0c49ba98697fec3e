"""Demo data: `ohpunaises demo`, and the living data `init` gives a newcomer."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import aliased

from ohpunaises import demo
from ohpunaises.app import create_app
from ohpunaises.extensions import db
from ohpunaises.indicators import compute
from ohpunaises.models import (
    NothingToReport,
    Report,
    ReportAction,
    ReportStatusChange,
    StageChange,
    Structure,
    Territory,
    TrainingSession,
    User,
)
from ohpunaises.vocabulary import STRUCTURE_KINDS

from .conftest import environ_for

SCRIPT = Path(sys.executable).parent / "ohpunaises"


def count(*where, table=Report) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(table).where(*where))


def test_demo_makes_reports_inside_their_communes_by_structures_of_every_kind(runner, app_context):
    result = runner.invoke(args=["demo", "--reports", "500", "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "500 signalement(s)" in result.output
    assert count() == 500

    commune, arrondissement = aliased(Territory), aliased(Territory)
    in_commune = sa.func.ST_Intersects(Report.location, commune.geom)
    placed = sa.select(sa.func.count()).select_from(Report).join(commune, Report.commune)
    assert db.session.scalar(placed.where(in_commune)) == 500
    in_arrondissement = sa.func.ST_Intersects(Report.location, arrondissement.geom)
    lyon_reports = count(Report.commune_id == territory_id("69123"))
    assert lyon_reports > 0
    in_lyon = (
        sa.select(sa.func.count()).select_from(Report).join(arrondissement, Report.arrondissement)
    )
    assert db.session.scalar(in_lyon.where(in_arrondissement)) == lyon_reports

    structures = db.session.scalars(sa.select(Structure)).all()
    assert {structure.kind for structure in structures} == set(STRUCTURE_KINDS)
    assert all(s.name.startswith("[DÉMO] ") and s.is_demo for s in structures)
    after_joining = Report.intervention_date >= Structure.onboarded_on
    joined = sa.select(sa.func.count()).select_from(Report).join(Structure)
    assert db.session.scalar(joined.where(after_joining)) == 500

    assert count(table=ReportAction) >= 500
    assert count(ReportStatusChange.status == "ongoing", table=ReportStatusChange) == 500
    assert count(Report.status.in_(["resolved", "reinfested"]), Report.resolved_on.is_(None)) == 0
    assert count(table=TrainingSession) >= 10

    computed = compute(level="commune", viewer_role="coordinator")
    shown = {indicator.id: indicator for indicator in computed.indicators}
    assert shown["reports"].whole.value == 500
    assert sum(row.figure.value for row in shown["reports"].territories) == 500
    assert 600 < shown["mean_cost_total"].whole.value < 1150
    assert shown["share_social_housing"].whole.value > 35


def territory_id(code: str) -> int:
    return db.session.scalar(sa.select(Territory.id).where(Territory.code == code))


def fingerprint() -> list[tuple]:
    columns = (Report.id, Report.intervention_date, Report.commune_id, Report.status)
    return db.session.execute(sa.select(*columns).order_by(Report.id)).all()


def test_the_same_seed_makes_the_same_reports(app_context):
    demo.create_demo_data(200, seed=11)
    first = fingerprint()
    follow_up = (NothingToReport, StageChange)
    for table in (ReportAction, ReportStatusChange, Report, TrainingSession, *follow_up, Structure):
        db.session.execute(sa.delete(table))
    db.session.commit()
    demo.create_demo_data(200, seed=11)
    assert fingerprint() == first
    assert len(first) == 200


def test_demo_refuses_when_no_territory_has_a_population(runner, app_context):
    db.session.execute(sa.update(Territory).values(population=None))
    try:
        result = runner.invoke(args=["demo", "--reports", "10"])
    finally:
        db.session.rollback()
    assert result.exit_code == 1
    assert "Aucun territoire peuplé" in result.output


@pytest.fixture
def empty_database(database_kind, new_database_url):
    return new_database_url(database_kind)


def test_init_gives_a_newcomer_living_data_once(empty_database):
    environment = {**os.environ, **environ_for(empty_database)}
    for _ in range(2):
        done = subprocess.run(
            [str(SCRIPT), "init"], env=environment, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 0, done.stderr
    app = create_app(environ_for(empty_database))
    with app.app_context():
        assert count() == demo.INIT_REPORTS
        agent_structure = sa.select(User.structure_id).where(User.role == "agent")
        assert count(Report.structure_id == agent_structure.scalar_subquery()) > 0
        db.session.remove()
        db.engine.dispose()
