"""Indicators: their definitions, and their values per territory, as the viewer may read them."""

import datetime as dt
from dataclasses import dataclass, replace

import marshmallow as ma
from flask_babel import gettext as _
from marshmallow import post_dump, validates_schema

from ..auth import current_actor, requires
from ..indicators import INDICATORS, Period, describe_all
from ..indicators.definitions import LEVELS
from ..ratelimits import figures_limit
from ..schemas import (
    EARLIEST_DATE,
    INDICATOR_PAGE_DEFAULT,
    INDICATOR_PAGE_MAX,
    Schema,
    Text,
    choice,
    length,
    next_territory_cursor,
    territory_cursor,
    territory_limit,
    within,
)
from ..usecases.indicators import read_indicators, territory_named, territory_page
from ..usecases.targets import list_targets
from . import ApiBlueprint, ApiView
from .targets import TargetSchema

URL = "/indicators"
blp = ApiBlueprint("indicators", __name__, description="Indicateurs de l'essaimage et du plaidoyer")

LATEST_DATE = dt.date(2100, 12, 31)


# Schemas -------------------------------------------------------------------------------------


def date_bound(key, description, **kwargs):
    return ma.fields.Date(
        data_key=key,
        validate=within(EARLIEST_DATE, LATEST_DATE),
        metadata={"description": description},
        **kwargs,
    )


class PeriodQuerySchema(Schema):
    """A period asked by its first and last days (`from`, `to`), in that order."""

    date_from = date_bound("from", "Première date d'intervention (ou de session) comprise")
    date_to = date_bound("to", "Dernière date comprise ; « les 90 derniers jours » finissent là")

    @validates_schema
    def check_order(self, data, **kwargs):
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise ma.ValidationError(_("La fin de période précède son début."), "to")


class IndicatorQuerySchema(PeriodQuerySchema):
    territory = Text(
        validate=length(1, 20),
        metadata={"description": "Code INSEE de commune ou d'arrondissement, ou code de QPV"},
    )
    level = choice(LEVELS, metadata={"description": "Niveau des territoires détaillés"})
    ids = ma.fields.List(
        choice(INDICATORS),
        validate=length(1, len(INDICATORS)),
        metadata={"description": "Identifiants des indicateurs voulus (tous par défaut)"},
    )
    targets = ma.fields.Boolean(
        metadata={
            "description": "1 : ajoute à chaque indicateur ses cibles (du territoire demandé, "
            "ou sans territoire), avec la valeur attendue à la fin de la période, la part du "
            "chemin parcouru et le statut ; « aucune cible » quand il n'y en a pas"
        }
    )
    limit = territory_limit(INDICATOR_PAGE_DEFAULT, INDICATOR_PAGE_MAX)
    cursor = territory_cursor()


class CellSchema(Schema):
    """One figure as the viewer may read it."""

    value = ma.fields.Raw(
        required=True,
        allow_none=True,
        metadata={
            "description": "Nombre, ou date AAAA-MM-JJ pour first_report_by_territory ; "
            "null quand la valeur est masquée ou sans objet"
        },
    )
    suppressed = ma.fields.Boolean(
        required=True, metadata={"description": "Vrai quand la valeur est masquée"}
    )
    display = Text(
        required=True,
        metadata={"description": "Texte à afficher : la valeur, « < K », « s » ou « — »"},
    )


class PartSchema(CellSchema):
    """One part of a breakdown."""

    category = Text(
        required=True, metadata={"description": "Action, type de structure ou trimestre"}
    )
    subcategory = Text(
        allow_none=True,
        metadata={"description": "Type de structure, pour les structures entrées par trimestre"},
    )

    @post_dump
    def omit_no_subcategory(self, data, **kwargs):
        """Parts of a breakdown with one level have no subcategory at all."""
        return _without_none(data, "subcategory")


class ValueSchema(CellSchema):
    """An indicator's value, with the figures it rests on (present according to its shape)."""

    numerator = ma.fields.Nested(CellSchema, metadata={"description": "Parts et taux"})
    denominator = ma.fields.Nested(CellSchema, metadata={"description": "Parts"})
    basis = ma.fields.Nested(
        CellSchema, metadata={"description": "Moyennes, médianes, dates : effectif"}
    )
    parts = ma.fields.List(ma.fields.Nested(PartSchema), metadata={"description": "Ventilations"})
    population = ma.fields.Integer(allow_none=True, metadata={"description": "Taux"})
    inside = ma.fields.Nested(CellSchema, metadata={"description": "Rapport : signalements en QPV"})
    outside = ma.fields.Nested(CellSchema, metadata={"description": "Rapport : hors QPV"})
    population_inside = ma.fields.Integer(allow_none=True)
    population_outside = ma.fields.Integer(allow_none=True)
    out_of = ma.fields.Integer(
        allow_none=True, metadata={"description": "Communes couvertes : communes du périmètre"}
    )


class TerritoryRefSchema(Schema):
    id = ma.fields.Integer(required=True)
    code = Text(required=True)
    name = Text(required=True)
    level = Text(required=True)


class TerritoryValueSchema(ValueSchema):
    """A territory's figure: the territory beside the fields of its figure."""

    territory = ma.fields.Nested(TerritoryRefSchema, required=True)

    def get_attribute(self, obj, attr, default):
        return super().get_attribute(obj if attr == "territory" else obj.figure, attr, default)


class ReferenceSchema(Schema):
    value = ma.fields.Float(required=True)
    unit = Text(required=True)
    source = Text(required=True)


class IndicatorValuesSchema(Schema):
    id = Text(required=True)
    label = Text(required=True)
    unit = Text(required=True)
    theme = Text(required=True)
    whole = ma.fields.Nested(ValueSchema, required=True)
    territories = ma.fields.List(ma.fields.Nested(TerritoryValueSchema), required=True)
    reference = ma.fields.Nested(ReferenceSchema)
    targets = ma.fields.List(
        ma.fields.Nested(TargetSchema), metadata={"description": "Avec targets=1"}
    )
    target_note = Text(metadata={"description": "« aucune cible » (avec targets=1)"})

    @post_dump
    def omit_no_reference(self, data, **kwargs):
        """An indicator without a national reference has no reference at all."""
        return _without_none(_without_none(data, "reference"), "target_note")


def _without_none(data: dict, key: str) -> dict:
    """The dumped fields, without `key` when it is null: absent from the result's shape."""
    if key in data and data[key] is None:
        del data[key]
    return data


def iso_date(**kwargs):
    """A date, written AAAA-MM-JJ."""
    return Text(metadata={"format": "date"}, **kwargs)


class PeriodSchema(Schema):
    start = iso_date(required=True, allow_none=True)
    end = iso_date(required=True, allow_none=True)


class SuppressionSchema(Schema):
    applied = ma.fields.Boolean(
        required=True, metadata={"description": "Vrai quand les effectifs sont protégés"}
    )
    k = ma.fields.Integer(required=True, metadata={"description": "Effectifs de 1 à K-1 masqués"})
    perturbation = ma.fields.Integer(
        required=True,
        metadata={
            "description": "Écart maximal entre un effectif publié et l'effectif réel (méthode "
            "de la clé de cellule, docs/privacy.md) ; 0 : valeurs brutes"
        },
    )


class IndicatorResultSchema(Schema):
    period = ma.fields.Nested(PeriodSchema, required=True)
    reference_date = iso_date(required=True)
    territory = ma.fields.Nested(TerritoryRefSchema, required=True, allow_none=True)
    level = Text(required=True, allow_none=True)
    suppression = ma.fields.Nested(SuppressionSchema, required=True)
    indicators = ma.fields.List(ma.fields.Nested(IndicatorValuesSchema), required=True)
    territory_count = ma.fields.Integer(
        required=True,
        metadata={
            "description": "Territoires du niveau détaillés, toutes pages comprises (0 sans niveau)"
        },
    )
    next_cursor = next_territory_cursor(required=True)


class DefinitionSchema(Schema):
    id = Text(required=True)
    theme = Text(required=True)
    theme_label = Text(required=True)
    label = Text(required=True)
    definition = Text(required=True)
    unit = Text(required=True)
    basis = Text(required=True, metadata={"description": "Les données sur lesquelles il repose"})
    shape = Text(required=True)
    levels = ma.fields.List(Text(), required=True)
    protection = Text(
        required=True, metadata={"description": "Comment la valeur est protégée, et par qui"}
    )
    reference = ma.fields.Nested(ReferenceSchema)


# Views ---------------------------------------------------------------------------------------


@blp.route("")
class Indicators(ApiView):
    @requires("indicator.read")
    @figures_limit()
    @blp.arguments(IndicatorQuerySchema, location="query")
    @blp.response(200, IndicatorResultSchema)
    @blp.alt_response(422, description="Paramètres invalides")
    def get(self, query):
        """Les indicateurs d'une période, pour l'ensemble et par territoire d'un niveau

        Valeurs brutes pour la coordination. Pour tout autre rôle, chaque effectif est décalé
        par la méthode de la clé de cellule (2 au plus dans 19 cas sur 20, 8 au plus, toujours
        du même écart pour les mêmes signalements), ceux de 1 à K-1 sont masqués (« < K »),
        les valeurs qui reposent sur un effectif masqué aussi (« s »), et la période est un
        mois, un trimestre ou une année civils (from le premier jour, to le dernier), ou tout
        l'historique (sans date) : toute autre période est refusée (422). Voir docs/privacy.md.

        Les territoires se lisent par pages, dans l'ordre des codes (limit, cursor) : la même
        page de territoires dans chaque indicateur, l'ensemble (whole) identique sur chaque
        page ; next_cursor, à renvoyer en cursor, est null sur la dernière. Une page est une
        tranche de la réponse entière, protégée comme elle.
        """
        actor, territory = current_actor(), territory_named(query.get("territory"))
        result = read_indicators(
            actor,
            Period(query.get("date_from"), query.get("date_to")),
            territory,
            query.get("level"),
            ids=list(dict.fromkeys(query["ids"])) if query.get("ids") else None,
        )
        page = territory_page(result, query["limit"], query.get("cursor"))
        if not query.get("targets"):
            return page
        targeted = with_targets(actor, page.result, territory, query.get("date_to"))
        return replace(page, result=targeted)


@dataclass(frozen=True)
class WithTargets:
    """An indicator's result and the targets set on it, for the answer of targets=1."""

    result: object
    targets: list
    target_note: str | None

    def __getattr__(self, name):
        return getattr(self.result, name)


def with_targets(actor, result, territory, as_of):
    """The result with each indicator's targets for this territory (none: programme-wide)."""
    code = territory.code if territory else None
    found = {}
    for view in list_targets(actor, as_of=as_of):
        if view.territory_code == code:
            found.setdefault(view.indicator, []).append(view.as_dict())
    return replace(
        result,
        indicators=tuple(
            WithTargets(
                indicator,
                found.get(indicator.id, []),
                None if indicator.id in found else _("aucune cible"),
            )
            for indicator in result.indicators
        ),
    )


@blp.route("/definitions")
class Definitions(ApiView):
    @requires("indicator.read")
    @blp.response(200, DefinitionSchema(many=True))
    def get(self):
        """La définition de chaque indicateur : libellé, définition, unité, données sources"""
        return describe_all()
