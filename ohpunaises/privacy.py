"""What a viewer other than the coordination may read of an aggregate (docs/privacy.md).

Every surface (maps, tables, the API, exports) goes through `protect`. For such a viewer each
count is perturbed by the cell-key method: the records a count is made of each hold a random
key, the count's cell key is their sum, and the key picks the perturbation from a published
table (within ±2 for 95 % of cells, ±8 at most). The same records always give the same figure;
a count and another differing by one record have unrelated perturbations. Zero stays zero; a
perturbed count from 1 to K-1 is shown "< K". A share, rate, mean or median resting on a
hidden count is shown "s" (statistical secrecy), as is a count that follows one (people,
with their dwellings). Periods for such viewers follow the calendar (`on_the_grid`).
"""

import bisect
import datetime as dt
import functools
import hashlib
import hmac
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
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
        "Effectifs protégés : chacun est décalé d'un petit écart aléatoire, toujours le même "
        "(2 au plus dans 19 cas sur 20, %(most)d au plus). < %(k)d : effectif de 1 à %(last)d. "
        "s : secret statistique, valeur masquée parce qu'elle repose sur un effectif masqué.",
        most=MAX_PERTURBATION,
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


def format_value(value) -> str:
    """A figure as text for the current locale."""
    if value is None:
        return NOT_AVAILABLE
    if isinstance(value, dt.date):
        return value.isoformat()
    if value == 0 and type(value) is int:
        return "0"  # most cells of a breakdown by commune: no locale to look up
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return _number(value, str(get_locale() or "fr"))
    return str(value)


@functools.lru_cache(maxsize=4096, typed=True)
def _number(value, locale: str) -> str:
    # Babel takes tens of microseconds a number: a table of 35,000 communes repeats its
    # values (small counts, rates to two decimals) many times over.
    return numbers.format_decimal(value, locale=locale)


def protect(
    counts: Mapping[Key, int],
    keys: Mapping[Key, int],
    policy: Policy,
    follows: Iterable[tuple[Key, Key]] = (),
) -> dict[Key, Cell]:
    """Every count as a cell the viewer may read: perturbed by its cell key (`keys`), and
    hidden when small. `follows` pairs a count with the count it rests on (people with
    their dwellings): the first is hidden ("s") whenever the second is."""
    if policy.raw:
        return {key: Cell(count, False, policy.k) for key, count in counts.items()}
    shown = perturbed_all(counts.values(), [keys[key] for key in counts], len(counts))
    # Cells are immutable: one per value shown, shared by every count that reads it.
    made = {value: _shown_cell(value, policy) for value in set(shown)}
    cells = dict(zip(counts.keys(), map(made.__getitem__, shown), strict=True))
    for key, basis in follows:
        if basis in cells and cells[basis].suppressed:
            cells[key] = Cell(None, True, policy.k)  # even a count never measured
    return cells


# In an array of counts as shown (`protect_array`), what stands for a hidden one.
HIDDEN_SMALL = -1  # "< K"
HIDDEN_SECRET = -2  # "s"


def protect_array(
    counts: Sequence[np.ndarray],
    slots: Sequence[np.ndarray],
    policy: Policy,
    follows: Iterable[tuple[int, int]] = (),
) -> list[np.ndarray]:
    """`protect` over arrays: rows of counts (one per family and category, over the
    territories), and their cell keys modulo CELL_KEYS. Returns the rows as shown, a hidden
    count as HIDDEN_SMALL or HIDDEN_SECRET (`shown_cell` reads them). `follows` pairs rows:
    the first is hidden ("s") wherever the second is, in the order given. A row at a time:
    no copy of the whole. tests/test_privacy.py compares it with `protect`."""
    if policy.raw:
        return list(counts)
    shown = []
    for values, keys in zip(counts, slots, strict=True):
        row = perturbed_array(values, keys)
        row[(row > 0) & (row < policy.k)] = HIDDEN_SMALL
        shown.append(row)
    for row, basis in follows:
        shown[row][shown[basis] < 0] = HIDDEN_SECRET
    return shown


def shown_cell(shown: int, policy: Policy) -> Cell:
    """The cell of a count as shown by `protect_array` (perturbed, or a hidden marker)."""
    if shown == HIDDEN_SMALL:
        return Cell(None, True, policy.k, SMALL)
    if shown == HIDDEN_SECRET:
        return Cell(None, True, policy.k)
    return _shown_cell(shown, policy)


def perturbed_cell(count: int, cell_key: int, policy: Policy) -> Cell:
    """One count as a protected reader sees it."""
    return _shown_cell(perturbed(count, cell_key), policy)


def _shown_cell(shown: int, policy: Policy) -> Cell:
    if policy.is_small(shown):
        return Cell(None, True, policy.k, SMALL)
    return Cell(shown, False, policy.k)


def derived(value, policy: Policy, *bases: Cell) -> Cell:
    """A share, rate, mean or median: hidden (as "s") whenever a count it rests on is hidden."""
    if any(base.suppressed for base in bases):
        return Cell(None, True, policy.k)
    return Cell(value, False, policy.k)


# The cell-key perturbation --------------------------------------------------------------------

CELL_KEYS = 65_536  # a cell key is the sum of its records' keys, modulo this
MAX_PERTURBATION = 8
# Out of CELL_KEYS keys, how many give each change to a count of MAX_PERTURBATION + 1 or
# more: a discrete Laplace shape, symmetric (mean 0), variance 1.46, within 1 for 84 % of
# cells and within 2 for 95 %, but as far as 8: a reader who wants certainty must allow for
# 8 either way, and no combination of cells pins a hidden one. Smaller counts move the keys
# that would bring them below 1 to no change: no non-zero count ever reads 0.
SPREAD = {
    -8: 5,
    -7: 14,
    -6: 42,
    -5: 128,
    -4: 388,
    -3: 1180,
    -2: 3584,
    -1: 10889,
    0: 33076,
    1: 10889,
    2: 3584,
    3: 1180,
    4: 388,
    5: 128,
    6: 42,
    7: 14,
    8: 5,
}


def _row(count: int) -> tuple[tuple[int, int], ...]:
    """(last key + 1, change) for each change of this count's row, keys in order of change."""
    spread = {change: slots for change, slots in SPREAD.items() if count + change >= 1}
    spread[0] += CELL_KEYS - sum(spread.values())
    ends, total = [], 0
    for change, slots in sorted(spread.items()):
        total += slots
        ends.append((total, change))
    return tuple(ends)


PERTURBATIONS = {count: _row(count) for count in range(1, MAX_PERTURBATION + 2)}
# The same table by slot: CHANGES[min(count, MAX_PERTURBATION + 1) - 1, key % CELL_KEYS].
CHANGES = np.array(
    [
        np.repeat(
            [change for _end, change in row],
            np.diff([0, *(end for end, _change in row)]),
        )
        for row in PERTURBATIONS.values()
    ],
    dtype=np.int8,
)


def perturbation_table() -> dict[int, dict[int, int]]:
    """For each row of the table (1 … MAX_PERTURBATION + 1 and more), how many keys give
    each change."""
    table = {}
    for count, row in PERTURBATIONS.items():
        starts = [0, *(end for end, _change in row[:-1])]
        pairs = zip(row, starts, strict=True)
        table[count] = {change: end - start for (end, change), start in pairs}
    return table


def perturbed_all(counts: Iterable[int], cell_keys: Iterable[int], size: int) -> list[int]:
    """`perturbed` for many counts at once, with their cell keys: what protecting every
    count of a country's communes costs (hundreds of thousands of them), one table lookup
    each. `perturbed` stays the definition (tests/test_privacy.py compares them)."""
    values = np.fromiter(counts, dtype=np.int64, count=size)
    slots = np.fromiter(cell_keys, dtype=np.int64, count=size) % CELL_KEYS
    return perturbed_array(values, slots).tolist()


def perturbed_array(counts: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """`perturbed` over an array of counts and one of their cell keys modulo CELL_KEYS
    (a new array, of the counts' type)."""
    changes = CHANGES[np.clip(counts, 1, MAX_PERTURBATION + 1) - 1, slots]
    return np.where(counts > 0, counts + changes, counts)


def perturbed(count: int, cell_key: int) -> int:
    """The count as protected readers read it: zero stays zero, others move by at most
    MAX_PERTURBATION and stay at 1 or above."""
    if count <= 0:
        return count
    row = PERTURBATIONS[min(count, MAX_PERTURBATION + 1)]
    slot = cell_key % CELL_KEYS
    return count + row[bisect.bisect_right(row, (slot, MAX_PERTURBATION + 1))][1]


# Periods on the calendar grid ------------------------------------------------------------------


def on_the_grid(start: dt.date | None, end: dt.date | None) -> bool:
    """Whether a period is one protected readers may ask for: the whole history (no dates),
    or exactly a calendar month, quarter or year."""
    if start is None and end is None:
        return True
    if start is None or end is None or start.day != 1 or start > end:
        return False
    for months in (1, 3, 12):
        if (start.month - 1) % months == 0 and end == _last_day(start, months):
            return True
    return False


def _last_day(start: dt.date, months: int) -> dt.date:
    index = start.year * 12 + start.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1) - dt.timedelta(days=1)


def grid_periods(first: dt.date, last: dt.date) -> list[tuple[dt.date, dt.date]]:
    """Every year, quarter and month from the one holding `first` to the one holding `last`,
    most recent first, years before their quarters before their months."""
    found = []
    for year in range(last.year, first.year - 1, -1):
        found.append((dt.date(year, 1, 1), dt.date(year, 12, 31)))
        for quarter in range(4, 0, -1):
            start = dt.date(year, 3 * quarter - 2, 1)
            if start <= last and _last_day(start, 3) >= first:
                found.append((start, _last_day(start, 3)))
        for month in range(12, 0, -1):
            start = dt.date(year, month, 1)
            if start <= last and _last_day(start, 1) >= first:
                found.append((start, _last_day(start, 1)))
    return found


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
