"""Packs: the figures of a deployment and a period, frozen, hashed, approved, then read by the
deployment's institutions and evaluators as JSON, PDF, XLSX or CSV."""

import marshmallow as ma
from flask import Response

from ..auth import current_actor, requires
from ..schemas import Schema, Text
from ..usecases import packs
from . import ApiBlueprint, ApiView
from .indicators import PeriodQuerySchema, date_bound

URL = "/packs"
blp = ApiBlueprint("packs", __name__, description="Packs de chiffres figés et approuvés")

RETRY_AFTER = "2"  # seconds before asking again how far a file has got


class PackCreateSchema(PeriodQuerySchema):
    deployment_id = ma.fields.Integer(
        allow_none=True,
        load_default=None,
        metadata={"description": "Déploiement ; absent ou null : tout le programme"},
    )
    date_from = date_bound(
        "from", "Premier jour d'un mois, d'un trimestre ou d'une année", required=True
    )
    date_to = date_bound(
        "to", "Dernier jour de ce mois, trimestre ou année (terminé)", required=True
    )


class PackSummarySchema(Schema):
    id = ma.fields.Integer()
    title = Text()
    deployment_id = ma.fields.Integer(allow_none=True)
    deployment = Text(allow_none=True)
    period_start = ma.fields.Date()
    period_end = ma.fields.Date()
    status = Text(metadata={"description": "draft, approved ou withdrawn"})
    content_hash = Text(metadata={"description": "SHA-256 du contenu (JSON canonique)"})
    verified = ma.fields.Boolean(
        metadata={"description": "Vrai quand le contenu stocké a toujours cette empreinte"}
    )
    data_version = Text(allow_none=True)
    created_by = Text(allow_none=True)
    created_at = ma.fields.DateTime()
    approved_by = Text(allow_none=True)
    approved_at = ma.fields.DateTime(allow_none=True)


class PackSchema(PackSummarySchema):
    content = ma.fields.Dict(
        metadata={
            "description": "Le contenu figé : indicateurs (avec la période précédente), cibles, "
            "carte, définitions, masquage appliqué ; docs/steering.md"
        }
    )


class DifferenceSchema(Schema):
    kind = Text(metadata={"description": "indicator ou target"})
    id = Text()
    label = Text()
    frozen = Text(metadata={"description": "Dans le pack"})
    today = Text(metadata={"description": "Aujourd'hui, pour la même période"})


class FileProgressSchema(Schema):
    status = Text(metadata={"description": "pending, rendering ou failed"})
    progress = ma.fields.Integer(metadata={"description": "Pourcentage fait"})
    error = Text(allow_none=True)


@blp.route("")
class Packs(ApiView):
    @requires("pack.read")
    @blp.response(200, PackSummarySchema(many=True))
    def get(self):
        """Les packs que vous pouvez lire : approuvés (et, pour la coordination, en projet)"""
        return packs.list_packs(current_actor())

    @requires("pack.create")
    @blp.arguments(PackCreateSchema)
    @blp.response(201, PackSchema)
    @blp.alt_response(422, description="Période qui n'est pas un mois, trimestre ou année")
    def post(self, data):
        """Fige un pack : chaque valeur telle que les institutions la lisent, les cibles, la
        carte, les définitions, le masquage, la version des données et une empreinte"""
        return packs.freeze_pack(
            current_actor(), data["deployment_id"], data["date_from"], data["date_to"]
        )


@blp.route("/<int(max=2147483647):pack_id>")
class PackItem(ApiView):
    @requires("pack.read")
    @blp.response(200, PackSchema)
    @blp.alt_response(404, description="Inconnu, hors de votre périmètre, ou pas encore approuvé")
    def get(self, pack_id):
        """Lit un pack, son contenu figé et la vérification de son empreinte"""
        return packs.get_pack(current_actor(), pack_id)


@blp.route("/<int(max=2147483647):pack_id>/approve")
class PackApproval(ApiView):
    @requires("pack.approve")
    @blp.response(200, PackSchema)
    @blp.alt_response(403, description="L'auteur, quand une autre personne peut approuver")
    @blp.alt_response(409, description="Pack déjà approuvé ou retiré")
    def post(self, pack_id):
        """Approuve un pack en projet : les institutions et évaluateurs du déploiement le voient"""
        return packs.approve_pack(current_actor(), pack_id)


@blp.route("/<int(max=2147483647):pack_id>/withdraw")
class PackWithdrawal(ApiView):
    @requires("pack.approve")
    @blp.response(200, PackSchema)
    @blp.alt_response(409, description="Un pack approuvé ne se retire pas")
    def post(self, pack_id):
        """Retire un pack en projet"""
        return packs.withdraw_pack(current_actor(), pack_id)


@blp.route("/<int(max=2147483647):pack_id>/differences")
class PackDifferences(ApiView):
    @requires("pack.create")
    @blp.response(200, DifferenceSchema(many=True))
    def get(self, pack_id):
        """Les chiffres du pack qui se lisent autrement aujourd'hui (corrections, retards)"""
        return packs.differences(current_actor(), pack_id)


@blp.route("/<int(max=2147483647):pack_id>/pack.<any(pdf, xlsx, csv, json):fmt>")
class PackFile(ApiView):
    @requires("pack.read")
    @blp.response(200, description="Le fichier")
    @blp.alt_response(202, schema=FileProgressSchema, description="En préparation : réessayer")
    def get(self, pack_id, fmt):
        """Le pack en PDF, XLSX, CSV ou JSON ; le PDF est préparé à la première demande
        (202 avec l'avancement, puis 200)"""
        return file_response(current_actor(), pack_id, fmt)


def file_response(actor, pack_id: int, fmt: str) -> Response:
    """The file when it is ready; else 202 with how far its job has got."""
    state = packs.pack_file(actor, pack_id, fmt)
    if state.status != "ready":
        body = FileProgressSchema().dumps(
            {"status": state.status, "progress": state.progress, "error": state.error}
        )
        return Response(
            body, 202, mimetype="application/json", headers={"Retry-After": RETRY_AFTER}
        )
    return ready_response(state)


def ready_response(state) -> Response:
    """A rendered file, to download under the pack's name."""
    return Response(
        state.body,
        200,
        content_type=state.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{state.filename}"',
            "Cache-Control": "private, no-cache",
        },
    )
