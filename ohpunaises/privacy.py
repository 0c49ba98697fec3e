"""Small-count suppression: what a viewer other than the coordination may read of an aggregate.

Every surface (maps, tables, the API, exports) goes through `protect` or `protect_table`: a
count from 1 to K-1 is shown as "< K", and wherever a total is shown with its parts a second
cell is hidden so that no hidden cell can be recomputed by subtraction. That second cell, and
any share, rate or mean resting on a hidden count, is shown as "s" (statistical secrecy): it
is not small, and "< K" would tell something false.
"""

import datetime as dt
import hashlib
import hmac
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from babel import numbers
from flask import current_app
from flask_babel import get_locale
from flask_babel import gettext as _

from .permissions import allows

DEFAULT_K = 5
NOT_AVAILABLE = "—"
SECRET = "s"
SMALL = "small"  # the reason a count from 1 to K-1 is hidden

Key = Hashable


def legend(k: int) -> str:
    """The note to print under any table that may hold hidden cells."""
    return _(
        "< %(k)d : effectif de 1 à %(last)d. s : secret statistique, valeur masquée pour "
        "qu'un petit effectif ne puisse pas être recalculé.",
        k=k,
        last=k - 1,
    )


def reads_raw(role: str | None) -> bool:
    """Whether this role reads small counts as they are (the permission `figures.raw`)."""
    return allows(role, "figures.raw")


@dataclass(frozen=True)
class Policy:
    """The threshold K, and whether the viewer reads raw values (the coordination)."""

    k: int = DEFAULT_K
    raw: bool = False

    @classmethod
    def for_role(cls, role: str | None, k: int | None = None) -> "Policy":
        """The policy for a viewer of this role; K from the app config unless given."""
        if k is None:
            k = current_app.config.get("SUPPRESSION_K", DEFAULT_K)
        return cls(k=k, raw=reads_raw(role))

    def is_small(self, count: int) -> bool:
        """True for a count this viewer may not read (zero is never hidden)."""
        return not self.raw and 0 < count < self.k


@dataclass(frozen=True)
class Cell:
    """One figure as a viewer may read it: its value, or None when hidden.

    A hidden small count reads "< K"; any other hidden figure reads "s".
    """

    value: object = None
    suppressed: bool = False
    k: int | None = None
    reason: str | None = None

    @property
    def display(self) -> str:
        if self.suppressed:
            return f"< {self.k}" if self.reason == SMALL else SECRET
        return format_value(self.value)

    def as_dict(self) -> dict:
        """The cell for JSON: value, suppressed flag and the text to show."""
        value = self.value.isoformat() if isinstance(self.value, dt.date) else self.value
        return {"value": value, "suppressed": self.suppressed, "display": self.display}


@dataclass(frozen=True)
class Line:
    """Cells that add up: `parts` make `total` (with a remainder the parts do not show).

    `additive` is False when the parts overlap (a report with several actions), so the
    total is not their sum; such a line is still protected, conservatively.
    """

    parts: tuple[Key, ...]
    total: Key
    additive: bool = True


def format_value(value) -> str:
    """A figure as text for the current locale."""
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return numbers.format_decimal(value, locale=get_locale() or "fr")
    return str(value)


def protect(
    counts: Mapping[Key, int],
    lines: Iterable[Line],
    policy: Policy,
    follows: Iterable[tuple[Key, Key]] = (),
) -> dict[Key, Cell]:
    """Every count as a cell, small ones hidden and complements hidden along every line.

    `follows` pairs a count with the count it rests on (people with their dwellings): the
    first is hidden whenever the second is.
    """
    hidden = hidden_keys(counts, lines, policy, follows)
    return {key: _cell(count, key in hidden, policy) for key, count in counts.items()}


def _cell(count: int, hidden: bool, policy: Policy) -> Cell:
    if not hidden:
        return Cell(count, False, policy.k)
    return Cell(None, True, policy.k, SMALL if policy.is_small(count) else None)


def protect_table(
    parts: Mapping[Key, int], total: int, policy: Policy, additive: bool = True
) -> tuple[dict[Key, Cell], Cell]:
    """A list of cells with its total: the parts and the total as the viewer may read them."""
    counts = {("part", key): count for key, count in parts.items()}
    counts["total"] = total
    line = Line(tuple(counts)[:-1], "total", additive)
    cells = protect(counts, [line], policy)
    return {key: cells["part", key] for key in parts}, cells["total"]


def derived(value, policy: Policy, *bases: Cell) -> Cell:
    """A share, rate, mean or median: hidden (as "s") whenever a count it rests on is hidden."""
    if any(base.suppressed for base in bases):
        return Cell(None, True, policy.k)
    return Cell(value, False, policy.k)


def hidden_keys(
    counts: Mapping[Key, int], lines: Iterable[Line], policy: Policy, follows=()
) -> set[Key]:
    """The keys to hide: small counts, then complements until no line betrays a hidden cell.

    This is the usual greedy heuristic of cell suppression, line by line, not an audit of
    every combination of lines.
    """
    if policy.raw:
        return set()
    hidden = {key for key, count in counts.items() if policy.is_small(count)}
    lines = [line for line in lines if line.parts and line.total in counts]
    follows = [(key, basis) for key, basis in follows if key in counts]
    # Hiding a complement may expose another line, so repeat until nothing changes; each
    # round hides one more cell or stops, hence it ends.
    changed = True
    while changed:
        extra = {key for key, basis in follows if basis in hidden and key not in hidden}
        for line in lines:
            complement = _complement(line, counts, hidden | extra, policy.k)
            if complement is not None:
                extra.add(complement)
        hidden |= extra
        changed = bool(extra)
    return hidden


def _complement(line: Line, counts, hidden: set, k: int):
    """The cell to hide on this line, or None when no hidden cell can be recomputed."""
    parts = [key for key in line.parts if key in counts]
    unknown = [key for key in (*parts, line.total) if key in hidden]
    if not line.additive:
        # Overlapping parts cannot be subtracted; still, never show all but one of them.
        exposed = line.total not in hidden and len(unknown) == 1
    else:
        # What the total holds beyond the parts shown is itself a cell a reader can compute.
        remainder = counts[line.total] - sum(counts[key] for key in parts)
        if remainder > 0:
            unknown.append(None)
        exposed = len(unknown) == 1 and not (unknown == [None] and remainder >= k)
    if not exposed:
        return None
    smallest = _smallest_visible(parts, counts, hidden)
    return smallest if smallest is not None else _visible_total(line, counts, hidden)


def _smallest_visible(parts, counts, hidden):
    candidates = [key for key in parts if key not in hidden and counts[key] > 0]
    return min(candidates, key=lambda key: (counts[key], repr(key)), default=None)


def _visible_total(line, counts, hidden):
    if line.total in hidden or counts[line.total] == 0:
        return None
    return line.total


# Pseudonyms, rounding and retention (exports for evaluation) ---------------------------------

PSEUDONYM_LENGTH = 20  # hex characters: 80 bits, no collision in any realistic export
HMAC_BLOCK = 64  # bytes, for SHA-256
GRID_DEGREES = 0.01  # about 1.1 km of latitude and 0.8 km of longitude around Lyon
AGE_UNITS = {"y": "years", "m": "months", "d": "days"}


def derived_key(label: str) -> bytes:
    """A key for one use, from OHPUNAISES_PSEUDONYM_KEY or else SECRET_KEY."""
    key = current_app.config.get("PSEUDONYM_KEY") or current_app.config["SECRET_KEY"]
    return hmac.new(key.encode(), label.encode(), hashlib.sha256).digest()


def pseudonym_key(purpose: str) -> bytes:
    """A key for one kind of pseudonym in the evaluators' exports."""
    return derived_key(f"pseudonym:{purpose}")


def pseudonymiser(purpose: str):
    """A function giving the keyed pseudonym of a value: stable for one key, opaque without it."""
    key = pseudonym_key(purpose)

    def pseudonym(value) -> str:
        digest = hmac.new(key, str(value).encode(), hashlib.sha256).hexdigest()
        return digest[:PSEUDONYM_LENGTH]

    return pseudonym


def sql_pseudonymiser(purpose: str):
    """The same pseudonym as `pseudonymiser`, computed by PostgreSQL: HMAC-SHA256 written out
    with its built-in `sha256`, so that an export needs no extension and no Python per row."""
    key = pseudonym_key(purpose).ljust(HMAC_BLOCK, b"\0")  # 32 bytes: never hashed first
    inner = sa.literal(bytes(byte ^ 0x36 for byte in key), sa.LargeBinary)
    outer = sa.literal(bytes(byte ^ 0x5C for byte in key), sa.LargeBinary)

    def pseudonym(value):
        message = sa.func.convert_to(sa.cast(value, sa.Text), "UTF8")
        digest = sa.func.sha256(outer.concat(sa.func.sha256(inner.concat(message))))
        return sa.func.substr(sa.func.encode(digest, "hex"), 1, PSEUDONYM_LENGTH)

    return pseudonym


def round_to_grid(degrees: float | None, step: float = GRID_DEGREES) -> float | None:
    """A latitude or longitude moved to the nearest node of a grid of `step` degrees."""
    if degrees is None:
        return None
    return round(round(degrees / step) * step, grid_places(step))


def sql_round_to_grid(degrees, step: float = GRID_DEGREES):
    """`round_to_grid` in SQL: the same ties to even (float8 `round`), the same nodes."""
    node = sa.cast(sa.func.round(degrees / step), sa.Numeric) * Decimal(str(step))
    return sa.func.round(node, grid_places(step))


def grid_places(step: float = GRID_DEGREES) -> int:
    """The decimal places a node of the grid is written with (2 for 0.01°)."""
    return max(0, -Decimal(str(step)).as_tuple().exponent)


def month_of(day: dt.date | None) -> str | None:
    """A date shown to the month only (YYYY-MM)."""
    return None if day is None else f"{day.year:04d}-{day.month:02d}"


def parse_age(text: str) -> tuple[int, str]:
    """An age such as "5y", "18m" or "90d" as (number, unit); ValueError otherwise."""
    text = text.strip().lower()
    if len(text) < 2 or text[-1] not in AGE_UNITS or not text[:-1].isdigit():
        raise ValueError(text)
    return int(text[:-1]), text[-1]


def cutoff_date(age: str, today: dt.date | None = None) -> dt.date:
    """The day before which a record is older than `age` ("5y", "6m", "30d")."""
    number, unit = parse_age(age)
    today = today or dt.date.today()
    if unit == "d":
        return today - dt.timedelta(days=number)
    months = today.year * 12 + today.month - 1 - (number * 12 if unit == "y" else number)
    year, month = divmod(months, 12)
    day = min(today.day, _month_length(year, month + 1))
    return dt.date(year, month + 1, day)


def _month_length(year: int, month: int) -> int:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day
