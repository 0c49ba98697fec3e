"""Exports: reports as CSV by role, the data dictionary and the Table Schema of the CSV,
indicators per territory as GeoJSON."""

import datetime as dt
import json

import marshmallow as ma
from flask import Response, current_app, stream_with_context

from .. import exports, tableschema
from ..auth import current_actor, requires
from ..indicators import Period
from ..ratelimits import figures_limit
from ..schemas import ReportQuerySchema, Schema, choice
from ..territories import LEVELS
from ..usecases.exports import export_reports, export_territories
from . import ApiBlueprint, ApiView

URL = "/exports"
blp = ApiBlueprint("exports", __name__, description="Exports CSV et GeoJSON")

CSV_TYPE = "text/csv"
GEOJSON_TYPE = "application/geo+json"
OPTION_CHOICES = {
    "sep": {"semicolon": None, "comma": None},
    "dates": {"day": None, "month": None},
    "location": {"point": None, "rounded": None, "commune": None},
}


def _option(name, description):
    return choice(
        OPTION_CHOICES[name],
        load_default=next(iter(OPTION_CHOICES[name])),
        metadata={"description": description},
    )


SEPARATOR_HELP = "semicolon : « ; » et virgule décimale ; comma : « , » et point décimal"


class SeparatorSchema(Schema):
    sep = _option("sep", SEPARATOR_HELP)


class ExportQuerySchema(ReportQuerySchema):
    """The filters of the report list, and how the CSV is written."""

    class Meta(ReportQuerySchema.Meta):
        exclude = ("limit", "cursor")

    sep = _option("sep", SEPARATOR_HELP)
    dates = _option("dates", "day : date complète ; month : AAAA-MM")
    location = _option(
        "location",
        "point : le plus précis permis au rôle (arrondi à 0,01° pour l'évaluation) ; "
        "rounded : arrondi à 0,01° ; commune : sans coordonnées",
    )


class TerritoryExportQuerySchema(Schema):
    date_from = ma.fields.Date(data_key="from", metadata={"description": "Intervention ≥"})
    date_to = ma.fields.Date(data_key="to", metadata={"description": "Intervention ≤"})
    level = choice({level: None for level in LEVELS}, load_default="commune")


def csv_response(body, filename: str) -> Response:
    response = Response(body, mimetype=CSV_TYPE)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def csv_doc(description):
    return {"description": description, "content": {CSV_TYPE: {"schema": {"type": "string"}}}}


@blp.route("/reports.csv")
class ReportsCsv(ApiView):
    @requires("export.rows")
    @blp.arguments(ExportQuerySchema, location="query")
    @blp.doc(responses={"200": csv_doc("CSV UTF-8 avec BOM, une ligne d'en-tête")})
    @blp.alt_response(403, description="Rôle sans export de lignes (agent, institution)")
    @blp.alt_response(422, description="Filtre invalide")
    def get(self, query):
        """Les signalements visibles en CSV, colonnes selon le rôle (voir le dictionnaire)"""
        options, filters = split_options(query)
        export = export_reports(current_actor(), filters, options)
        return csv_response(
            stream_with_context(export.chunks("reports.csv")),
            f"signalements-{dt.date.today().isoformat()}.csv",
        )


def split_options(query: dict) -> tuple[exports.Options, dict]:
    options = exports.Options(query.pop("sep"), query.pop("dates"), query.pop("location"))
    return options, query


@blp.route("/dictionary.csv")
class DictionaryCsv(ApiView):
    @requires("export.dictionary")
    @blp.arguments(SeparatorSchema, location="query")
    @blp.doc(responses={"200": csv_doc("Nom, libellé, type et valeurs permises de chaque colonne")})
    @blp.alt_response(422, description="Paramètre invalide")
    def get(self, query):
        """Le dictionnaire des données des exports CSV"""
        body = exports.dictionary_csv(exports.Options(sep=query["sep"]))
        return csv_response(body, "dictionnaire-des-donnees.csv")


JSON_TYPE = "application/json"


class TableSchemaQuerySchema(Schema):
    view = choice(
        {view: None for view in tableschema.VIEWS},
        metadata={
            "description": "full : export complet ; pseudonymised : export pseudonymisé "
            "(défaut : celui que votre rôle reçoit)"
        },
    )


@blp.route("/schema.json")
class ReportTableSchema(ApiView):
    @requires("export.dictionary")
    @blp.arguments(TableSchemaQuerySchema, location="query")
    @blp.doc(
        responses={
            "200": {
                "description": "Table Schema (Frictionless, convention de schema.data.gouv.fr) "
                "de l'export CSV des signalements, avec ses options par défaut",
                "content": {JSON_TYPE: {"schema": {"type": "object"}}},
            }
        }
    )
    @blp.alt_response(422, description="Paramètre invalide")
    def get(self, query):
        """Le schéma des colonnes de l'export CSV, pour valider un fichier"""
        view = query.get("view") or exports.view_for(current_actor().role)
        schema = tableschema.report_schema(view)
        return Response(json.dumps(schema, ensure_ascii=False, indent=2), mimetype=JSON_TYPE)


@blp.route("/territories.geojson")
class TerritoriesGeojson(ApiView):
    @requires("export.aggregates")
    @figures_limit()
    @blp.arguments(TerritoryExportQuerySchema, location="query")
    @blp.doc(
        responses={
            "200": {
                "description": "FeatureCollection : indicateurs par territoire, masqués selon "
                "le rôle (valeur null et <id>_display « < K » ou « s »)",
                "content": {GEOJSON_TYPE: {"schema": {"type": "object"}}},
            }
        }
    )
    @blp.alt_response(403, description="Rôle sans export agrégé")
    @blp.alt_response(422, description="Paramètre invalide")
    def get(self, query):
        """Les indicateurs par territoire avec leurs contours, en GeoJSON"""
        period = Period(query.get("date_from"), query.get("date_to"))
        collection = export_territories(current_actor(), period, query["level"])
        response = current_app.json.response(collection)
        response.mimetype = GEOJSON_TYPE
        return response
