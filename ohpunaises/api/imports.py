"""Imports: a partner's spreadsheet sent, checked line by line (nothing stored), mapped,
then imported; the lines in error downloadable as the file wrote them."""

import marshmallow as ma
from flask import Response, url_for
from flask_babel import gettext as _

from ..auth import current_actor, requires
from ..errors import invalid
from ..imports import fields
from ..schemas import Schema, Text, length, within
from ..usecases import imports
from . import ApiBlueprint, ApiView

URL = "/imports"
blp = ApiBlueprint("imports", __name__, description="Import de tableurs (CSV, XLSX)")

RETRY_AFTER = "2"
ERRORS_LISTED = 1000  # in the JSON; errors.csv holds them all


class SendSchema(Schema):
    structure_id = ma.fields.Integer(
        validate=within(1, 2**31 - 1),
        metadata={"description": "Obligatoire pour la coordination ; sinon, votre structure"},
    )
    sheet = Text(validate=length(1, 100), metadata={"description": "Feuille XLSX à lire"})
    mapping = Text(validate=length(1, 100), metadata={"description": "Correspondance enregistrée"})


class FileSchema(Schema):
    file = ma.fields.Raw(
        required=True, metadata={"type": "string", "format": "binary", "description": "CSV ou XLSX"}
    )


class MappingSchema(Schema):
    columns = ma.fields.Dict(
        keys=Text(validate=length(maximum=200)),
        values=Text(validate=length(maximum=64)),
        load_default=dict,
        metadata={"description": "En-tête du fichier → champ (vide : colonne ignorée)"},
    )
    values = ma.fields.Dict(
        keys=Text(validate=length(maximum=64)),
        values=ma.fields.Dict(
            keys=Text(validate=length(maximum=200)), values=Text(validate=length(maximum=64))
        ),
        load_default=dict,
        metadata={"description": "Champ → {valeur du fichier → code}"},
    )
    save_as = Text(
        validate=length(1, 100),
        allow_none=True,
        metadata={"description": "Enregistrer sous ce nom pour la structure"},
    )


class CommitSchema(Schema):
    valid_only = ma.fields.Boolean(
        load_default=False,
        metadata={"description": "Importer les lignes valides, en laissant les autres"},
    )


class LineErrorSchema(Schema):
    line = ma.fields.Integer()
    column = Text()
    message = Text()


class ImportSchema(Schema):
    id = ma.fields.UUID()
    structure_id = ma.fields.Integer()
    filename = Text()
    description = Text(metadata={"description": "Format lu : encodage, séparateur, feuille"})
    status = Text(metadata={"description": "checking, checked, importing, imported ou failed"})
    rows_done = ma.fields.Integer()
    rows_total = ma.fields.Integer(allow_none=True)
    counts = ma.fields.Dict(
        metadata={"description": "rows, valid, invalid, already, conflicts (et stored)"}
    )
    headers = ma.fields.List(Text())
    columns = ma.fields.Dict(metadata={"description": "En-tête → champ"})
    values = ma.fields.Dict()
    mapping_name = Text(allow_none=True)
    unknown_words = ma.fields.Dict(
        metadata={
            "description": "Champ → mots du fichier qu'aucun code ne désigne encore "
            "(à donner dans values de PUT /imports/{id}/mapping)"
        }
    )
    errors = ma.fields.List(
        ma.fields.Nested(LineErrorSchema),
        metadata={"description": f"Les {ERRORS_LISTED} premières ; toutes dans errors.csv"},
    )
    errors_total = ma.fields.Integer()
    preview = ma.fields.List(
        ma.fields.List(ma.fields.Raw()),
        metadata={"description": "[longitude, latitude, état] des lignes situées"},
    )
    failure = Text(allow_none=True)
    created_at = ma.fields.DateTime()
    checked_at = ma.fields.DateTime(allow_none=True)
    committed_at = ma.fields.DateTime(allow_none=True)


class ImportSummarySchema(Schema):
    id = ma.fields.UUID()
    structure_id = ma.fields.Integer()
    filename = Text()
    status = Text()
    counts = ma.fields.Dict()
    created_at = ma.fields.DateTime()


class FieldSchema(Schema):
    name = Text()
    label = Text()
    required = ma.fields.Boolean()
    values = ma.fields.Dict(allow_none=True)


@blp.route("")
class Imports(ApiView):
    @requires("report.import")
    @blp.response(200, ImportSummarySchema(many=True))
    def get(self):
        """Les derniers imports des structures pour lesquelles vous importez"""
        return imports.list_imports(current_actor())

    @requires("report.import")
    @blp.arguments(SendSchema, location="form")
    @blp.arguments(FileSchema, location="files")
    @blp.response(202, ImportSchema, headers={"Location": {"schema": {"type": "string"}}})
    @blp.alt_response(413, description="Fichier trop volumineux")
    @blp.alt_response(422, description="Fichier illisible, structure inconnue")
    def post(self, form, files):
        """Envoie un fichier (CSV ou XLSX) : il est vérifié ligne à ligne, sans rien
        enregistrer ; suivez GET /imports/{id}, puis POST /imports/{id}/commit"""
        upload = files["file"]
        data = upload.read() if hasattr(upload, "read") else b""
        if not data:
            raise invalid("file", _("Fichier vide ou absent."))
        job = imports.start_import(
            current_actor(),
            form.get("structure_id"),
            upload.filename or "import.csv",
            data,
            form.get("sheet"),
            form.get("mapping"),
        )
        location = url_for("imports.ImportItem", import_id=job.id)
        return view_of(job), 202, {"Location": location, "Retry-After": RETRY_AFTER}


@blp.route("/fields")
class ImportFields(ApiView):
    @requires("report.import")
    @blp.response(200, FieldSchema(many=True))
    def get(self):
        """Les champs qu'une colonne peut remplir, et leurs valeurs permises"""
        return [
            {
                "name": field.name,
                "label": str(field.label),
                "required": field.required,
                "values": {k: str(v) for k, v in field.vocabulary.items()}
                if field.vocabulary
                else None,
            }
            for field in fields.FIELDS
        ]


@blp.route("/<uuid:import_id>")
class ImportItem(ApiView):
    @requires("report.import")
    @blp.response(200, ImportSchema)
    @blp.alt_response(404, description="Inconnu ou hors de votre périmètre")
    def get(self, import_id):
        """Où en est l'import : état, comptes, erreurs par ligne, aperçu des points"""
        return view_of(imports.get_import(current_actor(), import_id))


@blp.route("/<uuid:import_id>/mapping")
class ImportMapping(ApiView):
    @requires("report.import")
    @blp.arguments(MappingSchema)
    @blp.response(202, ImportSchema)
    @blp.alt_response(409, description="Déjà importé")
    @blp.alt_response(422, description="Colonne ou champ inconnu")
    def put(self, data, import_id):
        """Dit quelle colonne remplit quel champ, et quels mots valent quels codes ; le
        fichier est vérifié de nouveau"""
        job = imports.set_mapping(
            current_actor(), import_id, data["columns"], data["values"], data.get("save_as")
        )
        return view_of(job), 202, {"Retry-After": RETRY_AFTER}


@blp.route("/<uuid:import_id>/commit")
class ImportCommit(ApiView):
    @requires("report.import")
    @blp.arguments(CommitSchema)
    @blp.response(202, ImportSchema)
    @blp.alt_response(409, description="Pas encore vérifié, ou déjà importé")
    @blp.alt_response(422, description="Lignes en erreur, sans valid_only")
    def post(self, data, import_id):
        """Importe le fichier vérifié : entier s'il est sans erreur, ou ses seules lignes
        valides avec valid_only"""
        job = imports.commit_import(current_actor(), import_id, data["valid_only"])
        return view_of(job), 202, {"Retry-After": RETRY_AFTER}


@blp.route("/<uuid:import_id>/errors.csv")
class ImportErrors(ApiView):
    @requires("report.import")
    @blp.response(200, description="Les lignes en erreur, telles que le fichier les écrit")
    @blp.alt_response(404, description="Inconnu ou hors de votre périmètre")
    def get(self, import_id):
        """Les lignes en erreur, dans l'encodage et avec le séparateur du fichier, et une
        colonne « erreur »"""
        filename, body = imports.errors_csv(current_actor(), import_id)
        return errors_response(filename, body)


def errors_response(filename: str, body: bytes) -> Response:
    return Response(
        body,
        200,
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def view_of(job) -> dict:
    """The import as the API shows it."""
    view = {
        name: getattr(job, name)
        for name in (
            "id",
            "structure_id",
            "filename",
            "description",
            "status",
            "rows_done",
            "rows_total",
            "counts",
            "columns",
            "values",
            "mapping_name",
            "unknown_words",
            "preview",
            "failure",
            "created_at",
            "checked_at",
            "committed_at",
        )
    }
    view["headers"] = list(job.columns)
    view["errors"] = [
        {"line": line, "column": column, "message": message}
        for line, column, message in job.errors[:ERRORS_LISTED]
    ]
    view["errors_total"] = len(job.errors)
    return view
