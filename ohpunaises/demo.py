"""Synthetic demo data that looks like the programme's: structures, reports, trainings.

Everything is drawn from one seedable generator. Reports are placed inside the loaded
territories in proportion to their population, with more social housing and more
vulnerable households in QPV; structures of every kind are named "[DÉMO] …". Rows are
written in bulk (COPY on PostgreSQL), so a million reports take minutes, not hours.
"""

import datetime as dt
import math
import sys
import time
import uuid
from dataclasses import dataclass

import click
import numpy as np
import shapely
import sqlalchemy as sa
from flask.cli import with_appcontext
from flask_babel import gettext as _
from geoalchemy2.shape import to_shape

from . import audit, data_version, demo_steering
from .extensions import db
from .indicators import NATIONAL_MEAN_COST_EUR
from .indicators.sql import year_month
from .models import (
    EvaluationCriterion,
    EvaluationQuestion,
    NothingToReport,
    Report,
    ReportAction,
    ReportStatusChange,
    StageChange,
    Structure,
    Territory,
    TrainingSession,
    deployment_territories,
)
from .models.base import RECORD_KEYS
from .permissions import Actor
from .vocabulary import STRUCTURE_KINDS

PREFIX = "[DÉMO] "
YEARS = 3
CHUNK = 10_000
INIT_REPORTS = 3000
COST_SPREAD = 0.6  # sigma of the log-normal cost, centred on the national mean
REPEAT_DWELLING_SHARE = 0.04
SILENT_SHARE = 0.15  # of the structures made here that joined more than 400 days ago
LOCAL_SHARE = 0.55  # reports made by a structure based in the same commune

KIND_NAMES = {
    "social_landlord": "Bailleur social",
    "association": "Association",
    "social_services": "CCAS",
    "pest_control": "Désinsectisation",
    "health_centre": "Centre de santé",
    "local_authority": "Mairie",
    "other": "Collectif d'habitants",
}
KIND_WEIGHTS = {
    "social_landlord": 3.0,
    "association": 2.0,
    "social_services": 2.0,
    "pest_control": 2.5,
    "health_centre": 1.0,
    "local_authority": 1.0,
    "other": 0.5,
}
ACTION_CHANCES = {
    "diagnosis": 0.7,
    "canine_detection": 0.12,
    "chemical_treatment": 0.35,
    "heat_treatment": 0.3,
    "freezing": 0.05,
    "vacuuming": 0.45,
    "social_support": 0.2,
    "decluttering": 0.08,
    "furniture_removal": 0.1,
    "mattress_covers": 0.3,
    "awareness": 0.5,
    "referral": 0.15,
    "equipment_loan": 0.1,
}
OTHER_HOUSING = {
    "private_rented": 0.5,
    "owner_occupied": 0.22,
    "emergency_accommodation": 0.18,
    "other": 0.1,
}
# Flag, base chance, extra chance in social housing, extra chance in a QPV.
VULNERABILITIES = (
    ("vuln_minimum_benefits", 0.18, 0.12, 0.12),
    ("vuln_isolated_elderly", 0.1, 0.03, 0.02),
    ("vuln_disability", 0.07, 0.03, 0.02),
    ("vuln_young_children", 0.2, 0.08, 0.06),
    ("vuln_psychological_distress", 0.05, 0.02, 0.02),
)
INFESTATION_LEVELS = {"suspected": 0.1, "low": 0.3, "moderate": 0.4, "severe": 0.2}
CONFIRMATIONS = {"visual": 0.6, "canine_detection": 0.15, "professional": 0.2, None: 0.05}
SOURCES = {"form": 0.6, "api": 0.3, "import": 0.1}
PAYERS = {
    "household": 0.3,
    "landlord": 0.25,
    "structure": 0.1,
    "public_funds": 0.15,
    "shared": 0.15,
    "other": 0.05,
}
TRAININGS = {  # kind: chance, fewest and most participants
    "professional_training": (0.35, 6, 20),
    "resident_awareness": (0.45, 10, 60),
    "workshop": (0.2, 5, 15),
}

REPORT_COLUMNS = (
    "id",
    "structure_id",
    "source",
    "intervention_date",
    "location",
    "commune_id",
    "arrondissement_id",
    "qpv_id",
    "housing",
    "building_type",
    "household_size",
    *(flag for flag, *_ in VULNERABILITIES),
    "infestation_level",
    "confirmation",
    "cost_total",
    "cost_payer",
    "cost_household",
    "status",
    "resolved_on",
    "dwelling_key",
    "record_key",
    "created_at",
    "updated_at",
    "version",
)
ACTION_COLUMNS = ("report_id", "action")
CHANGE_COLUMNS = ("report_id", "status", "resolved_on", "changed_at")


class DemoError(RuntimeError):
    """Demo data cannot be made (no territory with a population is loaded)."""


@dataclass
class Summary:
    """What a demo run created, and how long it took."""

    structures_created: int = 0
    reports: int = 0
    actions: int = 0
    status_changes: int = 0
    training_sessions: int = 0
    seconds: float = 0.0


@dataclass
class Place:
    """Where reports are drawn: a commune, or an arrondissement of a commune that has them."""

    commune_id: int
    arrondissement_id: int  # 0 for none
    population: int
    shape: object


@dataclass
class DemoStructure:
    """What drawing reports needs to know of a structure."""

    id: int
    kind: str
    commune_id: int
    onboarded_on: dt.date
    last_day: dt.date  # silent structures stop reporting months before today
    weight: float


# Entry point --------------------------------------------------------------------------------


def create_demo_data(reports: int, seed=None, today=None, progress=None) -> Summary:
    """Demo structures, `reports` reports with their actions and history, and trainings;
    one event in the audit log says what was added."""
    operator = Actor.operator()
    operator.check("demo.create")
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    today = today or dt.date.today()
    places, qpvs = load_places()
    if not places:
        raise DemoError(_("Aucun territoire peuplé n'est chargé : chargez d'abord des communes."))
    summary = Summary()
    structures = ensure_structures(rng, places, _structure_target(reports), today, summary)
    drawn = draw_reports(rng, reports, places, qpvs, structures, today)
    write_reports(drawn, summary, progress)
    summary.training_sessions = write_trainings(rng, structures, reports, today)
    write_follow_up(rng, places, structures, today)
    write_evaluation_protocol()
    data_version.note_change(db.session())  # COPY is not seen by the session
    details = {
        "structures": summary.structures_created,
        "reports": summary.reports,
        "training_sessions": summary.training_sessions,
        "seed": seed,
    }
    audit.record(operator, "demo.create", "demo", details)
    db.session.commit()
    if db.engine.dialect.name == "postgresql":
        # Fresh statistics, or the planner keeps estimating the tables empty.
        db.session.execute(sa.text("ANALYZE reports, report_actions, report_status_changes"))
        db.session.commit()
    demo_steering.write_steering(today)
    summary.seconds = time.perf_counter() - started
    return summary


def _structure_target(reports: int) -> int:
    return max(len(STRUCTURE_KINDS), min(7 + reports // 100, 60 + reports // 20_000))


# Territories --------------------------------------------------------------------------------


def load_places() -> tuple[list[Place], list[tuple[int, object]]]:
    """The places reports are drawn in, and the QPV shapes; every geometry read once."""
    rows = db.session.execute(
        sa.select(
            Territory.id, Territory.level, Territory.parent_id, Territory.population, Territory.geom
        ).order_by(Territory.id)
    ).all()
    split = {row.parent_id for row in rows if row.level == "arrondissement" and row.population}
    places, qpvs = [], []
    for row in rows:
        if row.level == "qpv":
            qpvs.append((row.id, _prepared(row.geom)))
        elif row.population and _drawn_in(row, split):
            arrondissement = row.level == "arrondissement"
            commune_id = row.parent_id if arrondissement else row.id
            arrondissement_id = row.id if arrondissement else 0
            places.append(Place(commune_id, arrondissement_id, row.population, _prepared(row.geom)))
    return places, qpvs


def _drawn_in(row, split) -> bool:
    # Lyon is drawn arrondissement by arrondissement, so that each report has one.
    if row.level == "arrondissement":
        return row.parent_id is not None
    return row.id not in split


def _prepared(geometry):
    shape = to_shape(geometry)
    shapely.prepare(shape)
    return shape


def draw_points(rng, shape, count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` points drawn uniformly inside the shape, rounded as they will be stored."""
    minx, miny, maxx, maxy = shape.bounds
    box_share = (maxx - minx) * (maxy - miny) / shape.area
    xs, ys, found = [], [], 0
    while found < count:
        tries = max(64, math.ceil((count - found) * box_share * 1.3))
        x = np.round(rng.uniform(minx, maxx, tries), 7)
        y = np.round(rng.uniform(miny, maxy, tries), 7)
        inside = shapely.contains_xy(shape, x, y)
        xs.append(x[inside])
        ys.append(y[inside])
        found += int(inside.sum())
    return np.concatenate(xs)[:count], np.concatenate(ys)[:count]


# Structures ---------------------------------------------------------------------------------


def ensure_structures(rng, places, target: int, today: dt.date, summary) -> list[DemoStructure]:
    """The demo structures, topped up so that every kind is there and there are `target`."""
    start = _start(today)
    existing = db.session.scalars(
        sa.select(Structure).where(Structure.is_demo.is_(True), Structure.onboarded_on.is_not(None))
    ).all()
    _backdate_unused(rng, existing, start)
    kinds = [kind for kind in STRUCTURE_KINDS if kind not in {s.kind for s in existing}]
    missing = max(0, target - len(existing) - len(kinds))
    weights = np.array([KIND_WEIGHTS[kind] for kind in STRUCTURE_KINDS])
    kinds += list(rng.choice(list(STRUCTURE_KINDS), missing, p=weights / weights.sum()))
    created = [
        _new_structure(rng, places, kind, index, start, today) for index, kind in enumerate(kinds)
    ]
    _name_and_attach(created)
    db.session.add_all(created)
    db.session.flush()
    summary.structures_created = len(created)
    # Structures made by `init` carry the demo accounts: they keep reporting.
    silent = _silent(rng, created, today)
    return [
        _demo_structure(rng, structure, today, structure.id in silent)
        for structure in [*existing, *created]
    ]


def _start(today: dt.date) -> dt.date:
    return today - dt.timedelta(days=365 * YEARS)


def _backdate_unused(rng, structures, start):
    # Demo structures made by `init` joined "today"; give those without reports a history.
    used = set(
        db.session.scalars(
            sa.select(Report.structure_id).where(
                Report.structure_id.in_([s.id for s in structures])
            )
        )
    )
    for structure in structures:
        if structure.id not in used:
            structure.onboarded_on = start + dt.timedelta(days=int(rng.integers(0, 90)))


def _new_structure(rng, places, kind, index, start, today) -> Structure:
    populations = np.array([place.population for place in places], dtype=float)
    place = places[rng.choice(len(places), p=populations / populations.sum())]
    span = (today - start).days - 30
    # The first structure of each kind founded the programme; the others joined over time.
    offset = int(rng.integers(0, 90)) if index < len(STRUCTURE_KINDS) else int(span * rng.random())
    onboarded = start + dt.timedelta(days=offset)
    trained = min(today, onboarded + dt.timedelta(days=int(rng.integers(0, 30))))
    return Structure(
        kind=kind,
        commune_id=place.commune_id,
        onboarded_on=onboarded,
        trained_on=trained,
        is_demo=True,
    )


def _name_and_attach(structures):
    communes = dict(
        db.session.execute(
            sa.select(Territory.id, Territory.name).where(Territory.level == "commune")
        ).all()
    )
    deployments = dict(
        db.session.execute(
            sa.select(
                deployment_territories.c.territory_id,
                sa.func.min(deployment_territories.c.deployment_id),
            ).group_by(deployment_territories.c.territory_id)
        ).all()
    )
    taken = set(db.session.scalars(sa.select(Structure.name).where(Structure.is_demo.is_(True))))
    for structure in structures:
        base = f"{PREFIX}{KIND_NAMES[structure.kind]} {communes.get(structure.commune_id, '')}"
        name, number = base.strip(), 2
        while name in taken:
            name, number = f"{base.strip()} {number}", number + 1
        taken.add(name)
        structure.name = name
        structure.deployment_id = deployments.get(structure.commune_id)


def _silent(rng, structures, today) -> set[int]:
    """Ids of structures that stopped reporting: the partners the programme should call."""
    eligible = [s.id for s in structures if (today - s.onboarded_on).days > 400]
    if not eligible:
        return set()
    return set(rng.choice(eligible, round(SILENT_SHARE * len(eligible)), replace=False).tolist())


def _demo_structure(rng, structure, today, silent: bool) -> DemoStructure:
    last_day = today
    if silent:
        last_day = today - dt.timedelta(days=int(rng.integers(100, 300)))
    days = max(1, (last_day - structure.onboarded_on).days)
    weight = KIND_WEIGHTS[structure.kind] * rng.lognormal(0, 0.5) * days
    return DemoStructure(
        structure.id, structure.kind, structure.commune_id, structure.onboarded_on, last_day, weight
    )


# Follow-up ----------------------------------------------------------------------------------

CONTACTS = (
    ("Camille Martin", "Chargée de mission habitat"),
    ("Karim Benali", "Responsable de secteur"),
    ("Sophie Durand", "Travailleuse sociale"),
    ("Thomas Nguyen", "Technicien"),
    ("Aïcha Diallo", "Directrice"),
    ("Julien Moreau", "Coordinateur"),
)
PROSPECTS = ("prospect", "contacted", "met", "met")
DECLARED_SHARE = 0.3  # of the recent months a reporting structure had nothing in


def write_follow_up(rng, places, structures: list[DemoStructure], today: dt.date):
    """Contacts for the demo partners, a few prospects on their way in, and "rien à
    signaler" declared for some of the recent months a partner had no report in."""
    demo = db.session.scalars(sa.select(Structure).where(Structure.is_demo.is_(True))).all()
    for structure in demo:
        if structure.contact_name is None:
            name, function = CONTACTS[int(rng.integers(0, len(CONTACTS)))]
            structure.contact_name, structure.contact_function = name, function
            structure.contact_email = f"contact.{structure.id}@partenaire.example.org"
            structure.contact_phone = (
                f"04 78 00 {structure.id // 100 % 100:02d} {structure.id % 100:02d}"
            )
    if not any(structure.onboarded_on is None for structure in demo):
        _add_prospects(rng, places, today)
    _declare_quiet_months(rng, structures, today)


def _add_prospects(rng, places, today: dt.date):
    kinds = list(rng.choice(list(STRUCTURE_KINDS), len(PROSPECTS)))
    prospects = [
        _new_structure(rng, places, kind, len(STRUCTURE_KINDS), _start(today), today)
        for kind in kinds
    ]
    _name_and_attach(prospects)
    for structure, stage in zip(prospects, PROSPECTS, strict=True):
        structure.onboarded_on = structure.trained_on = None
        structure.stage = stage
        db.session.add(structure)
        for step, reached in enumerate(PROSPECTS[: PROSPECTS.index(stage) + 1]):
            day = today - dt.timedelta(days=int(20 * (4 - step) + rng.integers(0, 10)))
            db.session.add(StageChange(structure=structure, stage=reached, effective_on=day))


def _declare_quiet_months(rng, structures: list[DemoStructure], today: dt.date):
    since = (today.replace(day=1) - dt.timedelta(days=180)).replace(day=1)
    month = year_month(Report.intervention_date)
    reported = set(
        db.session.execute(
            sa.select(Report.structure_id, month)
            .where(Report.intervention_date >= since)
            .group_by(Report.structure_id, month)
        ).all()
    )
    declared = set(
        db.session.execute(
            sa.select(NothingToReport.structure_id, NothingToReport.period_start)
        ).all()
    )
    for structure in structures:
        start = max(since, structure.onboarded_on.replace(day=1))
        while start < today.replace(day=1):
            end = (start + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
            quiet = (structure.id, start.year * 100 + start.month) not in reported
            if (
                quiet
                and end <= structure.last_day
                and start > structure.onboarded_on
                and (structure.id, start) not in declared
                and rng.random() < DECLARED_SHARE
            ):
                db.session.add(
                    NothingToReport(
                        structure_id=structure.id,
                        cadence="monthly",
                        period_start=start,
                        period_end=end,
                        declared_at=dt.datetime.combine(
                            end + dt.timedelta(days=3), dt.time(9), dt.UTC
                        ),
                    )
                )
            start = end + dt.timedelta(days=1)


# The evaluation protocol ---------------------------------------------------------------------

# Two questions of the whole programme, each criterion read by real indicators (the
# evaluator's evidence on one, recommendations on the other), so that /evaluation is alive.
DEMO_PROTOCOL = (
    (
        "Le programme atteint-il les ménages les plus exposés aux punaises de lit ?",
        None,
        (
            (
                "Les ménages vulnérables forment une part importante des ménages aidés.",
                ("share_vulnerable", "share_social_housing"),
                "Entretiens avec six structures partenaires (bailleurs, CCAS, associations) : "
                "les ménages aux minima sociaux et les personnes âgées isolées sont repérés par "
                "les travailleurs sociaux avant les bailleurs.\nLes foyers d'hébergement "
                "d'urgence restent peu couverts.",
            ),
            (
                "Les interventions touchent de nombreux ménages, dans toutes les communes.",
                ("people_reached", "reports_per_10000", "communes_covered"),
                None,
            ),
        ),
    ),
    (
        "Les interventions règlent-elles durablement les infestations, à un coût soutenable "
        "pour les ménages ?",
        "Suivre les logements résolus à 12 mois, et documenter le reste à charge avec les "
        "bailleurs avant le prochain comité de pilotage.",
        (
            (
                "Les cas clos sont le plus souvent résolus, sans réinfestation dans l'année.",
                ("resolution_rate", "median_days_to_resolution", "reinfestation_rate_12m"),
                None,
            ),
            (
                "Le reste à charge des ménages reste faible au regard du coût moyen national.",
                ("mean_cost_total", "mean_cost_household", "share_non_chemical"),
                None,
            ),
        ),
    ),
)


def write_evaluation_protocol():
    """The demo's evaluation protocol, once: a protocol already written is left as it is."""
    if db.session.scalar(sa.select(sa.func.count(EvaluationQuestion.id))):
        return
    for position, (text, recommendations, criteria) in enumerate(DEMO_PROTOCOL, start=1):
        question = EvaluationQuestion(
            position=position, text=PREFIX + text, recommendations=recommendations
        )
        for rank, (criterion, indicators, evidence) in enumerate(criteria, start=1):
            question.criteria.append(
                EvaluationCriterion(
                    position=rank, text=criterion, indicators=list(indicators), evidence=evidence
                )
            )
        db.session.add(question)


# Reports ------------------------------------------------------------------------------------


def draw_reports(rng, count, places, qpvs, structures, today) -> dict:
    """Every column of `count` reports, as numpy arrays (dates as datetime64)."""
    drawn = {"count": count, "id_bytes": rng.bytes(16 * count)}
    # Drawn as the product draws them (models.base.new_record_key), from the same range.
    drawn["record_key"] = rng.integers(0, RECORD_KEYS, count, dtype=np.int64)
    _draw_places(rng, drawn, places, qpvs)
    _draw_structures_and_dates(rng, drawn, structures, today)
    _draw_households(rng, drawn)
    _draw_actions_and_costs(rng, drawn)
    _draw_follow_up(rng, drawn, today)
    _draw_dwellings(rng, drawn)
    return drawn


def _draw_places(rng, drawn, places, qpvs):
    count = drawn["count"]
    populations = np.array([place.population for place in places], dtype=float)
    chosen = rng.choice(len(places), count, p=populations / populations.sum())
    x, y = np.zeros(count), np.zeros(count)
    for index, place in enumerate(places):
        positions = np.flatnonzero(chosen == index)
        if len(positions):
            x[positions], y[positions] = draw_points(rng, place.shape, len(positions))
    drawn["x"], drawn["y"] = x, y
    drawn["commune_id"] = np.array([place.commune_id for place in places])[chosen]
    drawn["arrondissement_id"] = np.array([place.arrondissement_id for place in places])[chosen]
    drawn["qpv_id"] = np.zeros(count, dtype=int)
    for qpv_id, shape in qpvs:
        drawn["qpv_id"][shapely.contains_xy(shape, x, y)] = qpv_id


def _draw_structures_and_dates(rng, drawn, structures, today):
    count = drawn["count"]
    homes = np.array([structure.commune_id for structure in structures])
    weights = np.array([structure.weight for structure in structures])
    chosen = rng.choice(len(structures), count, p=weights / weights.sum())
    # Most reports come from a structure of the same commune, when there is one.
    local = rng.random(count) < LOCAL_SHARE
    for commune in np.unique(drawn["commune_id"]):
        candidates = np.flatnonzero(homes == commune)
        positions = np.flatnonzero(local & (drawn["commune_id"] == commune))
        if len(candidates) and len(positions):
            local_weights = weights[candidates] / weights[candidates].sum()
            chosen[positions] = rng.choice(candidates, len(positions), p=local_weights)
    first = np.array([max(s.onboarded_on, _start(today)) for s in structures], "datetime64[D]")
    last = np.array([s.last_day for s in structures], "datetime64[D]")
    span = (last - first).astype(int)[chosen] + 1
    # The programme spreads: later days are drawn more often.
    offsets = np.floor(span * rng.random(count) ** 0.75).astype(int)
    drawn["structure_id"] = np.array([s.id for s in structures])[chosen]
    drawn["kind"] = np.array([s.kind for s in structures])[chosen]
    drawn["intervention_date"] = first[chosen] + np.minimum(offsets, span - 1)


def _draw_households(rng, drawn):
    count = drawn["count"]
    in_qpv = drawn["qpv_id"] > 0
    social_chance = np.where(drawn["kind"] == "social_landlord", 0.92, np.where(in_qpv, 0.7, 0.38))
    social = rng.random(count) < social_chance
    drawn["housing"] = np.where(social, "social", _choice(rng, OTHER_HOUSING, count))
    collective = rng.random(count) < np.where(social, 0.9, 0.55)
    drawn["building_type"] = np.where(collective, "collective", "individual").astype(object)
    drawn["building_type"][rng.random(count) < 0.04] = None
    sizes = np.minimum(1 + rng.poisson(1.6, count), 12)
    drawn["household_size"] = np.where(rng.random(count) < 0.08, 0, sizes)
    for flag, base, in_social, in_a_qpv in VULNERABILITIES:
        chance = base + in_social * social + in_a_qpv * in_qpv
        drawn[flag] = rng.random(count) < chance
    drawn["vulnerable"] = np.any([drawn[flag] for flag, *_ in VULNERABILITIES], axis=0)
    drawn["infestation_level"] = _choice(rng, INFESTATION_LEVELS, count)
    drawn["confirmation"] = _choice(rng, CONFIRMATIONS, count)
    drawn["source"] = _choice(rng, SOURCES, count)


def _choice(rng, chances: dict, count: int) -> np.ndarray:
    names = np.array(list(chances), dtype=object)
    weights = np.array(list(chances.values()))
    return names[rng.choice(len(names), count, p=weights / weights.sum())]


def _draw_actions_and_costs(rng, drawn):
    count = drawn["count"]
    chances = np.tile(np.array(list(ACTION_CHANCES.values())), (count, 1))
    names = list(ACTION_CHANCES)
    pest_control = drawn["kind"] == "pest_control"
    chances[:, names.index("chemical_treatment")] += 0.25 * pest_control
    chances[:, names.index("social_support")] += 0.3 * drawn["vulnerable"]
    actions = rng.random((count, len(names))) < chances
    actions[~actions.any(axis=1), names.index("diagnosis")] = True
    drawn["actions"], drawn["action_names"] = actions, np.array(names, dtype=object)
    has_cost = rng.random(count) < 0.85
    mean_log = math.log(NATIONAL_MEAN_COST_EUR) - COST_SPREAD**2 / 2
    total = np.maximum(30, np.round(rng.lognormal(mean_log, COST_SPREAD, count), 2))
    payer = _choice(rng, PAYERS, count)
    share = np.where(
        payer == "household", 1.0, np.where(payer == "shared", rng.uniform(0.2, 0.6, count), 0.0)
    )
    drawn["cost_total"] = np.where(has_cost, total, np.nan)
    drawn["cost_payer"] = np.where(has_cost, payer, None)
    household_known = has_cost & (rng.random(count) < 0.9)
    drawn["cost_household"] = np.where(household_known, np.round(total * share, 2), np.nan)


def _draw_follow_up(rng, drawn, today):
    count = drawn["count"]
    today = np.datetime64(today, "D")
    delay = (5 + rng.gamma(2.0, 18.0, count)).astype(int)
    closed_on = drawn["intervention_date"] + delay
    closed = closed_on <= today
    outcome = rng.random(count)
    status = np.full(count, "ongoing", dtype=object)
    status[closed] = "resolved"
    status[closed & (outcome > 0.8)] = "lost"
    reinfested_on = closed_on + rng.integers(15, 300, count)
    status[closed & (outcome > 0.95) & (reinfested_on <= today)] = "reinfested"
    drawn["status"] = status
    drawn["resolved_on"] = np.where(
        np.isin(status, ["resolved", "reinfested"]), closed_on, np.datetime64("NaT")
    )
    drawn["closed_on"] = closed_on
    drawn["reinfested_on"] = np.where(status == "reinfested", reinfested_on, np.datetime64("NaT"))


def _draw_dwellings(rng, drawn):
    """Dwelling keys, some dwellings reported again by the same structure after a resolution."""
    count = drawn["count"]
    keys = rng.bytes(16 * count).hex()
    drawn["dwelling_key"] = np.array([keys[i * 32 : i * 32 + 32] for i in range(count)], object)
    drawn["dwelling_key"][rng.random(count) < 0.05] = None
    # Each report coming back to a dwelling finds an earlier report of its structure, one to
    # thirteen months before, by binary search over reports sorted by structure and day.
    days = drawn["intervention_date"].astype(np.int64)
    structures = drawn["structure_id"].astype(np.int64) * 1_000_000
    order = np.lexsort((days, structures))
    sorted_keys = (structures + days)[order]
    again = np.flatnonzero(rng.random(count) < REPEAT_DWELLING_SHARE)
    again = again[np.argsort(days[again], kind="stable")]
    low = np.searchsorted(sorted_keys, structures[again] + days[again] - 400)
    high = np.searchsorted(sorted_keys, structures[again] + days[again] - 30)
    found = high > low
    picks = low[found] + (rng.random(int(found.sum())) * (high - low)[found]).astype(int)
    # In date order, so that a dwelling seen three times keeps one key.
    for first, later in zip(order[picks].tolist(), again[found].tolist(), strict=True):
        _same_dwelling(drawn, first, later)


def _same_dwelling(drawn, first, again):
    resolved_on = drawn["resolved_on"][first]
    key = drawn["dwelling_key"][first]
    if key is None or np.isnat(resolved_on) or drawn["intervention_date"][again] <= resolved_on:
        return
    for column in (
        "dwelling_key",
        "x",
        "y",
        "commune_id",
        "arrondissement_id",
        "qpv_id",
        "housing",
        "building_type",
        "household_size",
    ):
        drawn[column][again] = drawn[column][first]
    # Back within a year of the resolution: the first case turns out re-infested.
    if (drawn["intervention_date"][again] - resolved_on).astype(int) <= 365:
        drawn["status"][first] = "reinfested"
        drawn["reinfested_on"][first] = drawn["intervention_date"][again]


# Writing ------------------------------------------------------------------------------------


def write_reports(drawn: dict, summary: Summary, progress=None):
    """Reports, their actions and their status history, chunk by chunk."""
    write = _copy if db.engine.dialect.name == "postgresql" else _insert
    count = drawn["count"]
    for start in range(0, count, CHUNK):
        chunk = slice(start, min(count, start + CHUNK))
        ids = _uuids(drawn["id_bytes"], chunk)
        reports, changes = _report_rows(drawn, ids, chunk)
        actions = _action_rows(drawn, ids, chunk)
        write(Report.__table__, REPORT_COLUMNS, reports)
        write(ReportAction.__table__, ACTION_COLUMNS, actions)
        write(ReportStatusChange.__table__, CHANGE_COLUMNS, changes)
        summary.reports += len(reports)
        summary.actions += len(actions)
        summary.status_changes += len(changes)
        if progress:
            progress(len(reports))


def _uuids(id_bytes: bytes, chunk: slice) -> list[uuid.UUID]:
    return [
        uuid.UUID(bytes=id_bytes[16 * i : 16 * i + 16], version=4)
        for i in range(chunk.start, chunk.stop)
    ]


def _report_rows(drawn, ids, chunk):
    """Report rows in REPORT_COLUMNS order, and the status changes that led to each status."""
    columns = {name: _python(drawn[name][chunk]) for name in _COPIED}
    for name in _EMPTY_AS_NONE:
        columns[name] = [value or None for value in columns[name]]
    dates = {
        name: drawn[name][chunk].tolist()
        for name in ("intervention_date", "resolved_on", "closed_on", "reinfested_on")
    }
    histories = [
        _history(*steps)
        for steps in zip(
            ids,
            columns["status"],
            dates["intervention_date"],
            dates["resolved_on"],
            dates["closed_on"],
            dates["reinfested_on"],
            strict=True,
        )
    ]
    columns.update(
        id=ids,
        intervention_date=dates["intervention_date"],
        resolved_on=dates["resolved_on"],
        location=[
            f"SRID=4326;POINT({x!r} {y!r})"
            for x, y in zip(drawn["x"][chunk].tolist(), drawn["y"][chunk].tolist(), strict=True)
        ],
        created_at=[history[0][3] for history in histories],
        updated_at=[history[-1][3] for history in histories],
        version=[1] * len(ids),
    )
    reports = list(zip(*(columns[name] for name in REPORT_COLUMNS), strict=True))
    return reports, [step for history in histories for step in history]


_COPIED = [
    name
    for name in REPORT_COLUMNS
    if name
    not in (
        "id",
        "intervention_date",
        "resolved_on",
        "location",
        "created_at",
        "updated_at",
        "version",
    )
]
_EMPTY_AS_NONE = ("arrondissement_id", "qpv_id", "household_size")


def _python(values: np.ndarray) -> list:
    """Numpy values as Python ones, NaN as None."""
    found = values.tolist()
    if values.dtype.kind == "f":
        return [None if math.isnan(value) else value for value in found]
    return found


def _history(report_id, status, day, resolved_on, closed_on, reinfested_on) -> list[tuple]:
    """(report id, status, resolved on, changed at) for each step of the follow-up."""
    steps = [(report_id, "ongoing", None, _at(day, 18))]
    if resolved_on is not None:
        steps.append((report_id, "resolved", resolved_on, _at(resolved_on, 16)))
    if status == "reinfested":
        steps.append((report_id, "reinfested", resolved_on, _at(reinfested_on, 9)))
    if status == "lost":
        steps.append((report_id, "lost", None, _at(closed_on, 16)))
    return steps


def _at(day: dt.date, hour: int) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _action_rows(drawn, ids, chunk) -> list[tuple]:
    rows, columns = np.nonzero(drawn["actions"][chunk])
    names = drawn["action_names"][columns].tolist()
    return [(ids[row], name) for row, name in zip(rows.tolist(), names, strict=True)]


def _copy(table, columns, rows):
    """Rows written with PostgreSQL's COPY, on the session's own connection and transaction."""
    connection = db.session.connection().connection.driver_connection
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)


def _insert(table, columns, rows):
    if rows:
        db.session.execute(sa.insert(table), [dict(zip(columns, row, strict=True)) for row in rows])


# Trainings ----------------------------------------------------------------------------------


def write_trainings(rng, structures, reports: int, today: dt.date) -> int:
    """Training and awareness sessions held by the demo structures; returns how many."""
    count = max(10, min(20_000, reports // 60))
    weights = np.array([structure.weight for structure in structures])
    kinds = _choice(rng, {kind: chance for kind, (chance, *_) in TRAININGS.items()}, count)
    rows = []
    for index, kind in zip(
        rng.choice(len(structures), count, p=weights / weights.sum()), kinds, strict=True
    ):
        structure = structures[index]
        days = max(1, (min(structure.last_day, today) - structure.onboarded_on).days + 1)
        _, fewest, most = TRAININGS[kind]
        rows.append(
            {
                "held_on": structure.onboarded_on + dt.timedelta(days=int(rng.integers(0, days))),
                "structure_id": structure.id,
                "territory_id": structure.commune_id if rng.random() < 0.7 else None,
                "kind": kind,
                "participants": int(rng.integers(fewest, most + 1)),
            }
        )
    db.session.execute(sa.insert(TrainingSession), rows)
    return count


# Command ------------------------------------------------------------------------------------


def create_with_progress(reports: int, seed=None) -> Summary:
    """`create_demo_data` with a progress bar on stderr."""
    label = _("Données de démonstration")
    with click.progressbar(length=reports, label=label, file=sys.stderr) as bar:
        return create_demo_data(reports, seed, progress=bar.update)


@click.command("demo")
@click.option(
    "--reports",
    "count",
    type=click.IntRange(min=0),
    default=INIT_REPORTS,
    show_default=True,
    help="Nombre de signalements à créer.",
)
@click.option(
    "--seed", type=int, help="Graine du hasard : la même graine refait les mêmes données."
)
@with_appcontext
def demo_command(count, seed):
    """Ajoute des données de démonstration : structures [DÉMO], signalements, formations."""
    from .cli import CommandError  # the command line imports this module

    try:
        summary = create_with_progress(count, seed)
    except DemoError as error:
        raise CommandError(str(error)) from error
    click.echo(
        _(
            "%(structures)d structure(s) créée(s), %(reports)d signalement(s), "
            "%(sessions)d session(s) de formation, en %(seconds).1f s.",
            structures=summary.structures_created,
            reports=summary.reports,
            sessions=summary.training_sessions,
            seconds=summary.seconds,
        )
    )
