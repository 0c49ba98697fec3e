"""The columns a partner's file may hold, each defined once, beside the export's.

A field that the evaluator export also writes takes its label, type and allowed values from
the export's column (`exports.COLUMNS`), so that the import template, the data dictionary and
the Table Schema cannot disagree. Headers are matched without accents, case or punctuation,
by identifier, by label or by one of the usual names partners give them.
"""

import re
import unicodedata
from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from ..exports import COLUMNS, Column
from ..vocabulary import VULNERABILITIES

EXPORT_COLUMNS = {column.name: column for column in COLUMNS}


class CellError(ValueError):
    """A cell that cannot be read; the message is for the person who wrote it."""


class UnknownWord(CellError):
    """A word of the file that no code of a field's list stands for, yet: a value mapping
    can say which one it means."""

    def __init__(self, message: str, field: str, word: str):
        super().__init__(message)
        self.field, self.word = field, word


@dataclass(frozen=True)
class ImportField:
    """One column of an import file and the report field it fills."""

    name: str  # the key of the report in POST /api/v1/reports, or a part of its place
    column: Column
    required: bool = False
    aliases: tuple[str, ...] = ()

    @property
    def label(self):
        return self.column.label

    @property
    def kind(self) -> str:
        return self.column.type

    @property
    def vocabulary(self) -> dict | None:
        return self.column.vocabulary

    def names(self) -> set[str]:
        """Every header that designates this field, normalised."""
        label = str(self.label)
        bare = re.sub(r"\([^)]*\)", " ", label)
        return {normalised(n) for n in (self.name, label, bare, *self.aliases)} - {""}


def _own(name: str, label, type_: str, note="", vocabulary=None) -> Column:
    """A column of the import only (the export writes no such column)."""
    return Column(name, label, type_, vocabulary, views=(), note=note)


FIELDS = (
    ImportField(
        "id",
        EXPORT_COLUMNS["report_id"],
        aliases=("identifiant", "uuid", "identifiant du signalement"),
    ),
    ImportField(
        "intervention_date",
        EXPORT_COLUMNS["intervention_date"],
        required=True,
        aliases=("date", "date intervention", "date de l intervention", "date de passage"),
    ),
    ImportField("latitude", EXPORT_COLUMNS["latitude"], aliases=("lat",)),
    ImportField("longitude", EXPORT_COLUMNS["longitude"], aliases=("lon", "lng", "long")),
    ImportField(
        "commune",
        _own(
            "commune",
            _l("Commune (code INSEE ou nom)"),
            "text",
            _l(
                "Code INSEE (69123, ou 69381 à 69389 pour les arrondissements de Lyon) ou nom, "
                "accents et majuscules indifférents."
            ),
        ),
        aliases=(
            "commune",
            "code insee",
            "insee",
            "code commune",
            "commune code insee",
            "nom de la commune",
            "nom commune",
            "ville",
            "arrondissement",
        ),
    ),
    ImportField(
        "postcode",
        _own("postcode", _l("Code postal"), "text", _l("Aide à choisir entre deux homonymes.")),
        aliases=("cp",),
    ),
    ImportField("housing", EXPORT_COLUMNS["housing"], required=True, aliases=("type de logement",)),
    ImportField("building_type", EXPORT_COLUMNS["building_type"], aliases=("habitat",)),
    ImportField(
        "household_size",
        EXPORT_COLUMNS["household_size"],
        aliases=("nombre de personnes", "personnes", "composition du menage"),
    ),
    *(
        ImportField(f"vulnerability_{name}", EXPORT_COLUMNS[f"vulnerability_{name}"])
        for name in VULNERABILITIES
    ),
    ImportField(
        "vulnerabilities",
        _own(
            "vulnerabilities",
            _l("Vulnérabilités"),
            "codes",
            _l("Liste séparée par « | » ou « ; », ou une colonne oui/non par vulnérabilité."),
            VULNERABILITIES,
        ),
        aliases=("vulnerabilite", "fragilites"),
    ),
    ImportField(
        "infestation_level",
        EXPORT_COLUMNS["infestation_level"],
        required=True,
        aliases=("niveau", "infestation", "niveau infestation"),
    ),
    ImportField("confirmation", EXPORT_COLUMNS["confirmation"]),
    ImportField(
        "actions",
        EXPORT_COLUMNS["actions"],
        required=True,
        aliases=("action", "actions realisees", "interventions", "prestations"),
    ),
    ImportField(
        "cost_total", EXPORT_COLUMNS["cost_total"], aliases=("cout", "cout total", "montant")
    ),
    ImportField("cost_payer", EXPORT_COLUMNS["cost_payer"], aliases=("payeur", "financeur")),
    ImportField(
        "cost_household",
        EXPORT_COLUMNS["cost_household"],
        aliases=("reste a charge", "part du menage"),
    ),
    ImportField("status", EXPORT_COLUMNS["status"], aliases=("etat",)),
    ImportField("resolved_on", EXPORT_COLUMNS["resolved_on"], aliases=("date resolution",)),
    ImportField(
        "dwelling_ref",
        _own(
            "dwelling_ref",
            _l("Référence du logement"),
            "text",
            _l(
                "Votre référence du logement (numéro de lot, d'appartement…) : jamais "
                "conservée, seule une empreinte l'est, pour relier les passages."
            ),
        ),
        aliases=("ref logement", "reference logement", "numero de logement", "logement ref"),
    ),
    ImportField(
        "notes",
        EXPORT_COLUMNS["notes"],
        aliases=("note", "commentaire", "commentaires", "remarques"),
    ),
)
BY_NAME = {field.name: field for field in FIELDS}


def normalised(text: str) -> str:
    """Lower case, without accents, punctuation or repeated spaces: "Date d'intervention" and
    "DATE D INTERVENTION" are the same header."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", bare.casefold()).split())


def _header_index() -> dict[str, str]:
    index: dict[str, str] = {}
    for field in FIELDS:
        for name in field.names():
            index.setdefault(name, field.name)
    return index


HEADERS = _header_index()


def field_for_header(header: str) -> str | None:
    """The field a header designates, or None."""
    return HEADERS.get(normalised(header))


def guess_mapping(headers: list[str]) -> dict[str, str]:
    """Each header of the file → the field it designates ("" when none), each field once."""
    mapping, taken = {}, set()
    for header in headers:
        field = field_for_header(header) if header else None
        mapping[header] = field if field and field not in taken else ""
        if field:
            taken.add(field)
    return mapping


def template_fields() -> tuple[ImportField, ...]:
    """The columns of the import template, in order (the combined vulnerabilities column
    stands for the five yes/no columns there)."""
    return tuple(f for f in FIELDS if not f.name.startswith("vulnerability_"))
