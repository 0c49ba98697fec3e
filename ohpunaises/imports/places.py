"""A commune as partners write it: an INSEE code, a postcode, a name with or without its
accents ("Venissieux", "ST PRIEST", "Lyon 3e"), resolved among the loaded territories."""

import csv
import re
from importlib import resources

import sqlalchemy as sa
from flask_babel import gettext as _

from ..extensions import db
from ..models import Territory
from .fields import CellError, normalised

CODE = re.compile(r"^(\d[\dAB]\d{3})$")
ARRONDISSEMENT = re.compile(r"^(.*) (\d+)(?:er|e|eme) arrondissement$")
ABBREVIATIONS = {"st": "saint", "ste": "sainte"}
POSTCODES_FILE = ("population-metropole-lyon.csv", "code_insee", "codes_postaux")


class PlaceIndex:
    """The loaded communes and arrondissements by code, by name and by postcode."""

    def __init__(self, territories: list[tuple[str, str, str, str | None]], postcodes: dict):
        self.codes = {code for code, _name, _level, _parent in territories}
        self.parents = {code: parent for code, _name, _level, parent in territories}
        self.names: dict[str, list[tuple[str, str]]] = {}
        for code, name, _level, _parent in territories:
            for key in name_keys(name):
                self.names.setdefault(key, []).append((code, name))
        self.postcodes = {
            postcode: {code for code in codes if code in self.codes}
            for postcode, codes in postcodes.items()
        }

    @classmethod
    def loaded(cls) -> "PlaceIndex":
        rows = db.session.execute(
            sa.select(Territory.code, Territory.name, Territory.level, Territory.parent_id).where(
                Territory.level.in_(("commune", "arrondissement"))
            )
        ).all()
        by_id = dict(
            db.session.execute(
                sa.select(Territory.id, Territory.code).where(Territory.level == "commune")
            ).all()
        )
        territories = [(code, name, level, by_id.get(parent)) for code, name, level, parent in rows]
        return cls(territories, bundled_postcodes())

    def resolve(self, commune: str | None, postcode: str | None) -> str:
        """The INSEE code of the commune (or arrondissement) a line names."""
        if commune is not None and CODE.match(commune):
            return commune
        candidates = self._by_postcode(postcode) if postcode is not None else None
        if commune is None:
            return self._only(candidates, postcode)
        named = {code for code, _name in self.names.get(key(commune), [])}
        if not named:
            raise CellError(_("Commune introuvable : « %(name)s ».", name=commune))
        if candidates:
            named = (named & candidates) or named
        if len(named) > 1:
            raise CellError(
                _(
                    "Nom de commune ambigu : « %(name)s » ; précisez le code INSEE parmi "
                    "%(candidates)s.",
                    name=commune,
                    candidates=self._listed(named),
                )
            )
        return named.pop()

    def _by_postcode(self, postcode: str) -> set[str]:
        codes = set(self.postcodes.get(postcode.strip(), ()))
        # "69003" is Lyon and its 3rd arrondissement: the finest wins.
        return {code for code in codes if code not in {self.parents.get(c) for c in codes}}

    def _only(self, codes: set[str], postcode: str) -> str:
        if not codes:
            raise CellError(
                _("Code postal inconnu du programme : %(postcode)s.", postcode=postcode)
            )
        if len(codes) > 1:
            raise CellError(
                _(
                    "Code postal commun à %(candidates)s : indiquez aussi la commune.",
                    candidates=self._listed(codes),
                )
            )
        return next(iter(codes))

    def _listed(self, codes) -> str:
        names = {code: name for entries in self.names.values() for code, name in entries}
        return ", ".join(f"{names.get(code, code)} ({code})" for code in sorted(codes))


def key(name: str) -> str:
    words = normalised(name).split()
    return " ".join(ABBREVIATIONS.get(word, word) for word in words)


def name_keys(name: str) -> set[str]:
    """The ways a territory's name is written: "Lyon 3e Arrondissement" is also "Lyon 3e",
    "Lyon 3", "Lyon 03" and "Lyon 3eme"."""
    keys = {key(name)}
    found = ARRONDISSEMENT.match(key(name))
    if found:
        city, number = found.group(1), int(found.group(2))
        suffix = "er" if number == 1 else "e"
        for written in (f"{number}{suffix}", str(number), f"{number:02d}", f"{number}eme"):
            keys |= {f"{city} {written}", f"{city} {written} arrondissement"}
    return keys


def bundled_postcodes() -> dict[str, list[str]]:
    """Postcode → INSEE codes, from the population file shipped with the application."""
    filename, code_column, postcodes_column = POSTCODES_FILE
    text = resources.files("ohpunaises").joinpath("data", filename).read_text("utf-8")
    found: dict[str, list[str]] = {}
    for row in csv.DictReader(text.splitlines()):
        for postcode in row[postcodes_column].split():
            found.setdefault(postcode, []).append(row[code_column])
    return found
