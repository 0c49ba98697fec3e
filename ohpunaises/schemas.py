"""Marshmallow schemas shared by the API and the form: what a client may send, and what it gets."""

import datetime as dt
import functools
from decimal import Decimal

import marshmallow as ma
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import post_load, validate, validates_schema

from .vocabulary import (
    ACTIONS,
    ACTIVITY_KINDS,
    ACTIVITY_STATUSES,
    BUILDING_TYPES,
    CADENCES,
    CONFIRMATIONS,
    COST_PAYERS,
    HOUSING,
    INFESTATION_LEVELS,
    RECORDED_STAGES,
    ROLES,
    SOURCES,
    STATUSES,
    STRUCTURE_KINDS,
    TERRITORY_LEVELS,
    TRAINING_KINDS,
    VULNERABILITIES,
)

EARLIEST_DATE = dt.date(2000, 1, 1)


def N_(message: str) -> str:
    """Marks a message for the catalogue; the API translates it when it renders the error."""
    return message


MAX_COST = 100_000

FIELD_MESSAGES = {
    ma.fields.Field: {
        "required": N_("Champ obligatoire."),
        "null": N_("Ce champ ne peut pas être nul."),
        "validator_failed": N_("Valeur invalide."),
    },
    ma.fields.String: {
        "invalid": N_("Texte attendu."),
        "invalid_utf8": N_("Texte UTF-8 invalide."),
    },
    ma.fields.Integer: {"invalid": N_("Nombre entier attendu.")},
    ma.fields.Number: {"invalid": N_("Nombre attendu."), "too_large": N_("Nombre trop grand.")},
    ma.fields.Decimal: {"special": N_("Nombre fini attendu.")},
    ma.fields.Float: {"special": N_("Nombre fini attendu.")},
    ma.fields.Boolean: {"invalid": N_("Booléen attendu (true ou false).")},
    ma.fields.Date: {
        "invalid": N_("Date attendue au format AAAA-MM-JJ."),
        "format": N_("Date attendue au format AAAA-MM-JJ."),
    },
    ma.fields.UUID: {"invalid_uuid": N_("Identifiant UUID attendu.")},
    ma.fields.List: {"invalid": N_("Liste attendue.")},
    ma.fields.Dict: {"invalid": N_("Objet attendu.")},
    ma.fields.Nested: {"type": N_("Objet attendu.")},
}


@functools.cache
def messages_for(field_class) -> dict:
    """Our French messages for a kind of field, the most specific class winning."""
    messages = {}
    for kind in reversed(field_class.__mro__):
        messages.update(FIELD_MESSAGES.get(kind, {}))
    return messages


def with_our_messages(field: ma.fields.Field):
    """Give a field, and the fields it holds (a list's items…), the messages above."""
    field.error_messages = {**field.error_messages, **messages_for(type(field))}
    for inner in (
        getattr(field, "inner", None),
        getattr(field, "key_field", None),
        getattr(field, "value_field", None),
        *getattr(field, "tuple_fields", ()),
    ):
        if inner is not None:
            with_our_messages(inner)


def encodable(text: str) -> bool:
    """False for a lone surrogate ("\\ud800"), which is how bytes that are not UTF-8 reach
    Python, and which neither database can store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def storable(text: str) -> bool:
    """No NUL character (PostgreSQL cannot store one) and no lone surrogate."""
    return "\x00" not in text and encodable(text)


class Text(ma.fields.String):
    """A string the databases can store (see `storable`), each refusal in its own words."""

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ma.ValidationError(_("Caractère nul interdit."))
        if not encodable(text):
            raise self.make_error("invalid_utf8")
        return text


def one_of(vocabulary):
    return validate.OneOf(
        list(vocabulary), error=_l("Valeur inconnue ; valeurs permises : {choices}.")
    )


def length(minimum=None, maximum=None):
    if minimum and maximum:
        message = _l("Longueur attendue entre {min} et {max}.")
    elif maximum:
        message = _l("Longueur maximale : {max}.")
    else:
        message = _l("Longueur minimale : {min}.")
    return validate.Length(min=minimum, max=maximum, error=message)


def within(minimum, maximum):
    return validate.Range(minimum, maximum, error=_l("Valeur attendue entre {min} et {max}."))


def choice(vocabulary, **kwargs):
    return Text(validate=one_of(vocabulary), **kwargs)


def choices(vocabulary, **kwargs):
    return ma.fields.List(
        choice(vocabulary), validate=[length(maximum=len(vocabulary)), no_duplicates], **kwargs
    )


def euros():
    """An amount in euros, kept to the cent."""
    return ma.fields.Float(
        allow_nan=False, validate=within(0, MAX_COST), metadata={"description": "Euros"}
    )


def optional(field):
    """A field that may be null; absent stays absent, so that updates touch only what is sent."""
    field.allow_none = True
    return field


class Schema(ma.Schema):
    """Refuses unknown fields; every message in French (marshmallow's own stay untouched for
    any other schema of the process)."""

    class Meta:
        unknown = ma.RAISE

    error_messages = {"unknown": _l("Champ inconnu."), "type": _l("Objet JSON attendu.")}

    def on_bind_field(self, field_name, field_obj):
        with_our_messages(field_obj)


def check_date(value):
    if value < EARLIEST_DATE or value > dt.date.today() + dt.timedelta(days=1):
        raise ma.ValidationError(_("Date hors de la plage permise (2000 à aujourd'hui)."))


def no_duplicates(values):
    if values and len(set(values)) != len(values):
        raise ma.ValidationError(_("Valeur en double."))


# Reports -----------------------------------------------------------------------------------


class PointSchema(Schema):
    """A GeoJSON Point in WGS84: [longitude, latitude]."""

    type = Text(required=True, validate=validate.Equal("Point", error=_l("« Point » attendu.")))
    coordinates = ma.fields.List(
        ma.fields.Float(allow_nan=False),
        required=True,
        validate=validate.Length(equal=2, error=_l("[longitude, latitude] attendu.")),
    )

    @validates_schema
    def check_range(self, data, **kwargs):
        lon, lat = data["coordinates"]
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise ma.ValidationError(_("Coordonnées hors des bornes."), "coordinates")


class ReportFollowUpSchema(Schema):
    """The fields that follow-up may change after creation."""

    building_type = optional(choice(BUILDING_TYPES))
    household_size = optional(ma.fields.Integer(strict=True, validate=within(1, 30)))
    vulnerabilities = choices(VULNERABILITIES)
    infestation_level = choice(INFESTATION_LEVELS)
    confirmation = optional(choice(CONFIRMATIONS))
    actions = ma.fields.List(choice(ACTIONS), validate=[length(1, len(ACTIONS)), no_duplicates])
    cost_total = optional(euros())
    cost_payer = optional(choice(COST_PAYERS))
    cost_household = optional(euros())
    status = choice(STATUSES)
    resolved_on = optional(ma.fields.Date(validate=check_date))
    dwelling_ref = optional(
        Text(
            validate=length(1, 100),
            metadata={"description": "Référence du logement chez le partenaire ; jamais stockée"},
        )
    )
    notes = optional(Text(validate=length(maximum=1000)))

    @post_load
    def round_costs(self, data, **kwargs):
        for name in ("cost_total", "cost_household"):
            if data.get(name) is not None:
                data[name] = Decimal(str(round(data[name], 2)))
        return data

    @validates_schema
    def check_costs(self, data, **kwargs):
        total, household = data.get("cost_total"), data.get("cost_household")
        if total is not None and household is not None and household > total:
            raise ma.ValidationError(
                _("La part du ménage dépasse le coût total."), "cost_household"
            )


class ReportCreateSchema(ReportFollowUpSchema):
    """A new report; `location` or `commune` places it."""

    id = ma.fields.UUID(metadata={"description": "Identifiant choisi par le client (UUID)"})
    structure_id = ma.fields.Integer(
        strict=True,
        validate=within(1, 2**31 - 1),
        metadata={"description": "Obligatoire pour la coordination ; sinon, votre structure"},
    )
    intervention_date = ma.fields.Date(required=True, validate=check_date)
    location = optional(ma.fields.Nested(PointSchema))
    commune = optional(Text(validate=length(1, 20), metadata={"description": "Code INSEE"}))
    housing = choice(HOUSING, required=True)
    infestation_level = choice(INFESTATION_LEVELS, required=True)
    actions = ma.fields.List(
        choice(ACTIONS), required=True, validate=[length(1, len(ACTIONS)), no_duplicates]
    )
    status = choice(STATUSES, load_default="ongoing")

    @validates_schema
    def check_place_and_dates(self, data, **kwargs):
        if data.get("location") is None and not data.get("commune"):
            raise ma.ValidationError(_("Indiquez un point ou une commune."), "location")
        resolved = data.get("resolved_on")
        if resolved and data.get("intervention_date") and resolved < data["intervention_date"]:
            raise ma.ValidationError(
                _("La résolution ne peut précéder l'intervention."), "resolved_on"
            )


class ReportUpdateSchema(ReportFollowUpSchema):
    pass


class StatusChangeSchema(Schema):
    status = Text()
    resolved_on = ma.fields.Date(allow_none=True)
    changed_at = ma.fields.AwareDateTime()
    changed_by = Text(allow_none=True)


class ReportSchema(Schema):
    """A stored report, as clients read it."""

    id = ma.fields.UUID()
    structure_id = ma.fields.Integer()
    source = Text()
    intervention_date = ma.fields.Date()
    location = ma.fields.Nested(PointSchema, allow_none=True)
    commune = Text()
    arrondissement = Text(allow_none=True)
    qpv = Text(allow_none=True)
    housing = Text()
    building_type = Text(allow_none=True)
    household_size = ma.fields.Integer(allow_none=True)
    vulnerabilities = ma.fields.List(Text())
    infestation_level = Text()
    confirmation = Text(allow_none=True)
    actions = ma.fields.List(Text())
    cost_total = ma.fields.Float(allow_none=True)
    cost_payer = Text(allow_none=True)
    cost_household = ma.fields.Float(allow_none=True)
    status = Text()
    resolved_on = ma.fields.Date(allow_none=True)
    notes = Text(allow_none=True)
    dwelling_reports = ma.fields.Integer(
        metadata={"description": "Signalements de la structure pour ce même logement"}
    )
    history = ma.fields.List(ma.fields.Nested(StatusChangeSchema))
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()
    version = ma.fields.Integer()


class ReportQuerySchema(Schema):
    date_from = ma.fields.Date(data_key="from", metadata={"description": "Intervention ≥"})
    date_to = ma.fields.Date(data_key="to", metadata={"description": "Intervention ≤"})
    territory = Text(
        validate=length(1, 20), metadata={"description": "Code de commune, arrondissement ou QPV"}
    )
    status = choice(STATUSES)
    structure = ma.fields.Integer(validate=within(1, 2**31 - 1))
    source = choice(SOURCES)
    limit = ma.fields.Integer(load_default=100, validate=within(1, 500))
    cursor = Text(validate=length(1, 200))


class ReportPageSchema(Schema):
    items = ma.fields.List(ma.fields.Nested(ReportSchema))
    next_cursor = Text(allow_none=True)


class FieldErrorSchema(Schema):
    field = Text()
    message = Text()


class BatchSchema(Schema):
    reports = ma.fields.List(
        ma.fields.Dict(),
        required=True,
        validate=length(1, 500),
        metadata={"description": "Jusqu'à 500 signalements, chacun comme pour POST /reports"},
    )


class BatchResultSchema(Schema):
    index = ma.fields.Integer()
    status = ma.fields.Integer(metadata={"description": "200, 201, 409 ou 422"})
    id = ma.fields.UUID(allow_none=True)
    title = Text(allow_none=True)
    errors = ma.fields.List(ma.fields.Nested(FieldErrorSchema))
    report = ma.fields.Nested(ReportSchema, allow_none=True)


class BatchResponseSchema(Schema):
    results = ma.fields.List(ma.fields.Nested(BatchResultSchema))


# Territories, structures, trainings, accounts ------------------------------------------------


TERRITORY_PAGE_DEFAULT = 1000  # territories per page: a metropolis and its QPVs in one
TERRITORY_PAGE_MAX = 5000
# A territory's indicators are some 16 kB of JSON, its outline one or two: a page of the
# indicators holds fewer, so that the answer a worker builds stays a few megabytes.
INDICATOR_PAGE_DEFAULT = 200
INDICATOR_PAGE_MAX = 500


def territory_limit(default: int = TERRITORY_PAGE_DEFAULT, most: int = TERRITORY_PAGE_MAX):
    """How many territories a page holds, at most."""
    return ma.fields.Integer(
        load_default=default,
        validate=within(1, most),
        metadata={
            "description": f"Territoires par page, par code croissant ({default} par défaut, "
            f"{most} au plus)"
        },
    )


def territory_cursor():
    """Where a page of territories starts: the `next_cursor` of the page before."""
    return Text(
        validate=length(1, 200),
        metadata={
            "description": "Le next_cursor de la page précédente, tel quel ; sans curseur, "
            "la première page"
        },
    )


def next_territory_cursor(**kwargs):
    return Text(
        allow_none=True,
        metadata={
            "description": "À passer en cursor pour lire la page suivante ; null sur la "
            "dernière page"
        },
        **kwargs,
    )


class TerritoryQuerySchema(Schema):
    level = choice(TERRITORY_LEVELS, load_default="commune")
    simplify = ma.fields.Float(
        validate=within(0, 0.1),
        allow_nan=False,
        metadata={"description": "Tolérance de simplification, en degrés"},
    )
    q = Text(
        validate=length(1, 100),
        metadata={
            "description": "Ne garde que les territoires dont le nom ou le code contient ce "
            "texte, majuscules et minuscules confondues"
        },
    )
    limit = territory_limit()
    cursor = territory_cursor()


class TerritoryPropertiesSchema(Schema):
    code = Text()
    name = Text()
    level = Text()
    population = ma.fields.Integer(allow_none=True)
    parent = Text(allow_none=True)


class FeatureSchema(Schema):
    type = Text()
    properties = ma.fields.Nested(TerritoryPropertiesSchema)
    geometry = ma.fields.Dict()


class FeatureCollectionSchema(Schema):
    type = Text()
    features = ma.fields.List(ma.fields.Nested(FeatureSchema))


class FeaturePageSchema(FeatureCollectionSchema):
    """A FeatureCollection holding one page of territories, and where the next one starts."""

    next_cursor = next_territory_cursor()


class ContactSchema(Schema):
    name = Text(allow_none=True)
    function = Text(allow_none=True)
    email = Text(allow_none=True)
    phone = Text(allow_none=True)


class FollowUpSchema(Schema):
    stage = Text(metadata={"description": "L'étape, déduite des données quand elles la disent"})
    recorded_stage = Text(metadata={"description": "La dernière étape notée par l'équipe"})
    reminders_opted_out = ma.fields.Boolean()
    first_report = ma.fields.Date(allow_none=True)
    last_report = ma.fields.Date(allow_none=True)
    periods_missed = ma.fields.Integer(
        metadata={"description": "Périodes attendues manquées d'affilée, les plus récentes"}
    )
    late = ma.fields.Boolean()
    silent = ma.fields.Boolean()


class StructureSchema(Schema):
    id = ma.fields.Integer()
    name = Text()
    kind = Text()
    commune = Text()
    deployment = Text(allow_none=True)
    onboarded_on = ma.fields.Date(allow_none=True)
    trained_on = ma.fields.Date(allow_none=True)
    active = ma.fields.Boolean()
    is_demo = ma.fields.Boolean()
    reporting_cadence = Text()
    contact = ma.fields.Nested(
        ContactSchema,
        allow_none=True,
        metadata={"description": "La personne à contacter (coordination seulement)"},
    )
    follow_up = ma.fields.Nested(
        FollowUpSchema,
        allow_none=True,
        metadata={"description": "Le suivi du partenaire (coordination seulement)"},
    )


class StageSchema(Schema):
    stage = choice(RECORDED_STAGES, required=True)
    effective_on = ma.fields.Date(validate=check_date)


class StageChangeSchema(Schema):
    stage = Text()
    label = Text()
    effective_on = ma.fields.Date()
    recorded_by = Text(allow_none=True)
    recorded_at = ma.fields.DateTime()


class NothingToReportSchema(Schema):
    period = Text(
        validate=length(1, 10),
        metadata={
            "description": "La période : « 2026-11 » (mensuelle) ou « 2026-Q4 » (trimestrielle) ;"
            " par défaut la dernière terminée encore non renseignée, sinon la période en cours"
        },
    )


class DeclarationSchema(Schema):
    structure_id = ma.fields.Integer()
    period = Text()
    period_start = ma.fields.Date()
    period_end = ma.fields.Date()
    declared_at = ma.fields.DateTime()


class StructureUpdateSchema(Schema):
    name = Text(validate=length(1, 200))
    kind = choice(STRUCTURE_KINDS)
    commune = Text(validate=length(1, 20), metadata={"description": "Code INSEE"})
    onboarded_on = ma.fields.Date(validate=check_date)
    trained_on = optional(ma.fields.Date(validate=check_date))
    active = ma.fields.Boolean()
    contact_name = optional(Text(validate=length(maximum=120)))
    contact_function = optional(Text(validate=length(maximum=120)))
    contact_email = optional(ma.fields.Email(validate=length(maximum=254)))
    contact_phone = optional(Text(validate=length(maximum=40)))
    reporting_cadence = choice(CADENCES)
    reminders_opted_out = ma.fields.Boolean()


class StructureCreateSchema(StructureUpdateSchema):
    stage = choice(
        ("prospect", "contacted", "met", "agreement"),
        metadata={
            "description": "prospect, contacted ou met : pas encore entrée ; par défaut"
            " agreement (convention signée, entrée à sa date d'entrée)"
        },
    )
    name = Text(required=True, validate=length(1, 200))
    kind = choice(STRUCTURE_KINDS, required=True)
    commune = Text(required=True, validate=length(1, 20))


class TrainingCreateSchema(Schema):
    held_on = ma.fields.Date(required=True, validate=check_date)
    structure_id = ma.fields.Integer(strict=True, validate=within(1, 2**31 - 1))
    territory = optional(Text(validate=length(1, 20)))
    kind = choice(TRAINING_KINDS, required=True)
    participants = ma.fields.Integer(strict=True, required=True, validate=within(1, 10_000))
    notes = optional(Text(validate=length(maximum=500)))


class TrainingSchema(Schema):
    id = ma.fields.Integer()
    held_on = ma.fields.Date()
    structure_id = ma.fields.Integer(allow_none=True)
    territory = Text(allow_none=True)
    kind = Text()
    participants = ma.fields.Integer()
    notes = Text(allow_none=True)


class MeSchema(Schema):
    id = ma.fields.Integer()
    email = Text()
    display_name = Text()
    role = Text()
    structure = ma.fields.Nested(StructureSchema, allow_none=True)
    deployments = ma.fields.List(Text())


class TokenCreateSchema(Schema):
    name = Text(load_default="", validate=length(maximum=100))
    days = ma.fields.Integer(
        validate=within(1, 730),
        metadata={"description": "365 par défaut ; jamais au-delà du jeton qui le demande"},
    )
    user_id = ma.fields.Integer(
        validate=within(1, 2**31 - 1),
        metadata={"description": "Le compte du jeton, s'il n'est pas le vôtre"},
    )


class TokenSchema(Schema):
    id = ma.fields.Integer()
    name = Text()
    prefix = Text()
    created_at = ma.fields.AwareDateTime()
    expires_at = ma.fields.AwareDateTime(allow_none=True)
    revoked_at = ma.fields.AwareDateTime(allow_none=True)
    last_used_at = ma.fields.AwareDateTime(allow_none=True)


class TokenCreatedSchema(TokenSchema):
    token = Text(metadata={"description": "Affiché une seule fois"})


# People ----------------------------------------------------------------------------------------


class UserSchema(Schema):
    id = ma.fields.Integer()
    email = Text()
    display_name = Text()
    role = Text()
    structure_id = ma.fields.Integer(allow_none=True)
    deployments = ma.fields.List(ma.fields.Integer(), metadata={"description": "Aucun : tous"})
    status = Text(metadata={"description": "active, pending (invitation en attente), inactive"})
    language = Text()
    created_at = ma.fields.AwareDateTime()
    last_login_at = ma.fields.AwareDateTime(allow_none=True)


class RoleFields(Schema):
    role = choice(ROLES)
    structure_id = optional(ma.fields.Integer(strict=True, validate=within(1, 2**31 - 1)))
    deployment_ids = ma.fields.List(
        ma.fields.Integer(strict=True, validate=within(1, 2**31 - 1)),
        validate=length(maximum=100),
        metadata={"description": "Coordination, institutions, évaluation ; aucun : tous"},
    )


class InvitationCreateSchema(RoleFields):
    email = ma.fields.Email(required=True, validate=length(maximum=254))
    role = choice(ROLES, required=True)
    display_name = Text(load_default="", validate=length(maximum=120))
    language = choice({"fr": "fr", "en": "en"}, load_default="fr")


class UserUpdateSchema(RoleFields):
    active = ma.fields.Boolean()


class InvitationSchema(Schema):
    user = ma.fields.Nested(UserSchema)
    expires_at = ma.fields.AwareDateTime()
    sent = ma.fields.Boolean(metadata={"description": "Le message est parti"})
    error = Text(allow_none=True, metadata={"description": "Pourquoi l'envoi a échoué"})
    link = Text(
        allow_none=True,
        metadata={
            "description": "Le lien, quand aucun serveur de messagerie n'est réglé ou "
            "que l'envoi a échoué ; à ne transmettre qu'à la personne"
        },
    )


# Deployments -----------------------------------------------------------------------------------


def check_start(value):
    if value < EARLIEST_DATE or value > dt.date.today() + dt.timedelta(days=366):
        raise ma.ValidationError(_("Date hors de la plage permise (2000 à dans un an)."))


class DeploymentSummarySchema(Schema):
    id = ma.fields.Integer()
    name = Text()
    started_on = ma.fields.Date()
    territories = ma.fields.Integer(metadata={"description": "Nombre de territoires couverts"})
    structures = ma.fields.Integer(metadata={"description": "Nombre de structures"})
    people = ma.fields.Integer(metadata={"description": "Nombre de comptes rattachés"})


class DeploymentTerritorySchema(Schema):
    code = Text()
    name = Text()
    level = Text()


class AttachedPersonSchema(Schema):
    id = ma.fields.Integer()
    email = Text()
    display_name = Text()
    role = Text()


class DeploymentSchema(Schema):
    id = ma.fields.Integer()
    name = Text()
    started_on = ma.fields.Date()
    territories = ma.fields.List(ma.fields.Nested(DeploymentTerritorySchema))
    structures = ma.fields.Integer(metadata={"description": "Nombre de structures"})
    people = ma.fields.List(
        ma.fields.Nested(AttachedPersonSchema),
        metadata={"description": "Les comptes rattachés : ils ne voient que leurs déploiements"},
    )


class DeploymentUpdateSchema(Schema):
    name = Text(validate=length(1, 200))
    started_on = ma.fields.Date(validate=check_start)
    territories = ma.fields.List(
        Text(validate=length(1, 20)),
        validate=length(1, 5000),
        metadata={"description": "Codes des territoires chargés ; remplace la liste entière"},
    )


class DeploymentCreateSchema(DeploymentUpdateSchema):
    name = Text(required=True, validate=length(1, 200))
    started_on = ma.fields.Date(
        validate=check_start, metadata={"description": "Aujourd'hui par défaut"}
    )
    territories = ma.fields.List(
        Text(validate=length(1, 20)),
        required=True,
        validate=length(1, 5000),
        metadata={"description": "Codes des territoires chargés"},
    )


class DeploymentPeopleSchema(Schema):
    user_ids = ma.fields.List(
        ma.fields.Integer(strict=True, validate=within(1, 2**31 - 1)),
        required=True,
        validate=length(1, 100),
        metadata={"description": "Comptes sans structure : coordination, institution, évaluation"},
    )


# Partner follow-up ------------------------------------------------------------------------------


class ActivityCreateSchema(Schema):
    kind = choice(ACTIVITY_KINDS, metadata={"description": "call par défaut"})
    held_on = ma.fields.Date(
        metadata={
            "description": "Aujourd'hui par défaut ; de 2000 à dans un an, jamais dans le futur "
            "pour une activité faite"
        }
    )
    status = choice(ACTIVITY_STATUSES, metadata={"description": "done par défaut"})
    participants = optional(
        Text(
            validate=length(maximum=500),
            metadata={"description": "Les professionnels présents ; jamais un ménage"},
        )
    )
    note = optional(Text(validate=length(maximum=2000)))
    next_step = optional(Text(validate=length(maximum=300)))
    next_step_due = optional(
        ma.fields.Date(metadata={"description": "Obligatoire avec une prochaine étape"})
    )
    next_step_owner_id = optional(
        ma.fields.Integer(
            strict=True,
            validate=within(1, 2**31 - 1),
            metadata={"description": "Un compte actif de la coordination ; aucun : toute l'équipe"},
        )
    )


class ActivityUpdateSchema(ActivityCreateSchema):
    kind = choice(ACTIVITY_KINDS)
    held_on = ma.fields.Date()
    status = choice(ACTIVITY_STATUSES)
    next_step_done = ma.fields.Boolean(
        metadata={"description": "true : prochaine étape faite ; false : à faire de nouveau"}
    )


class ActivitySchema(Schema):
    id = ma.fields.Integer()
    structure_id = ma.fields.Integer()
    kind = Text()
    held_on = ma.fields.Date()
    status = Text()
    participants = Text(allow_none=True)
    note = Text(allow_none=True)
    next_step = Text(allow_none=True)
    next_step_due = ma.fields.Date(allow_none=True)
    next_step_owner_id = ma.fields.Integer(allow_none=True)
    next_step_done_at = ma.fields.AwareDateTime(allow_none=True)
    created_at = ma.fields.AwareDateTime()
    updated_at = ma.fields.AwareDateTime()


class TodoSchema(Schema):
    activity = ma.fields.Nested(ActivitySchema)
    structure_name = Text()
    days_late = ma.fields.Integer(metadata={"description": "0 : à faire aujourd'hui"})
