"""Measured figures held by column, over the territories of the level and the whole.

A count is named by its column, (family, *categories), and its territory (None for the
whole). Each column is an array with one slot per territory of the level and one for the
whole: a country's 35,000 communes times 116 columns cost 25 MB of counts and cell keys,
where a dictionary keyed by tuples cost hundreds of bytes a count and most of a worker's
memory. Protecting every count is then a few operations over whole arrays
(`privacy.protect_array`); `privacy.protect`, count by count, stays its definition.
"""

from collections.abc import Iterable

import numpy as np

from .. import privacy

Column = tuple  # (family, *categories)
COUNT = np.int32  # people reached in a territory: far below two billion
SLOT = np.uint16  # a cell key modulo privacy.CELL_KEYS


class Slots:
    """The slot of each territory of the level (by id, in order), and of the whole (None)."""

    __slots__ = ("_index", "size")

    def __init__(self, ids: Iterable[int]):
        self._index = {id_: position for position, id_ in enumerate(ids)}
        self._index[None] = len(self._index)
        self.size = len(self._index)

    def get(self, group) -> int | None:
        """The slot of a territory of the level or of the whole; None for any other."""
        return self._index.get(group)


class Counts:
    """Every count and its cell key (the sum of its records' keys, kept modulo
    `privacy.CELL_KEYS`: all the perturbation reads of it). A count never measured reads 0."""

    def __init__(self, slots: Slots):
        self.slots = slots
        self.columns: dict[Column, int] = {}
        self._counts: list[np.ndarray] = []
        self._keys: list[np.ndarray] = []
        self.measured = 0

    def put(self, column: Column, group, count: int, cell_key: int):
        """Keep one count; a territory outside the level's (never read) is left out."""
        slot = self.slots.get(group)
        if slot is None:
            return
        row = self.columns.get(column)
        if row is None:
            row = self.columns[column] = len(self._counts)
            self._counts.append(np.zeros(self.slots.size, COUNT))
            self._keys.append(np.zeros(self.slots.size, SLOT))
        self._counts[row][slot] = count
        self._keys[row][slot] = cell_key % privacy.CELL_KEYS
        self.measured += 1

    def get(self, column: Column, group) -> int:
        row, slot = self.columns.get(column), self.slots.get(group)
        if row is None or slot is None:
            return 0
        return int(self._counts[row][slot])

    def families(self, family: str) -> list[Column]:
        """The columns of one family (its categories found in the data)."""
        return [column for column in self.columns if column[0] == family]

    def protect(
        self, policy: privacy.Policy, follows: Iterable[tuple[Column, Column]] = ()
    ) -> "Protected":
        """Every count as this viewer may read it. `follows` pairs a column with the column
        it rests on (people with their dwellings): hidden wherever that one is."""
        columns, counts, keys = dict(self.columns), list(self._counts), list(self._keys)
        rows = []
        for column, basis in follows:
            if basis not in columns:
                continue  # never measured: zeros, never hidden
            if column not in columns:  # read as zeros, hidden where the basis is
                columns[column] = len(counts)
                counts.append(np.zeros(self.slots.size, COUNT))
                keys.append(np.zeros(self.slots.size, SLOT))
            rows.append((columns[column], columns[basis]))
        shown = privacy.protect_array(counts, keys, policy, rows)
        return Protected(columns, self.slots, shown, policy, self.measured)


class Protected:
    """The counts as one viewer reads them: cells made from an array of shown values,
    one `privacy.Cell` per distinct value, shared."""

    def __init__(self, columns: dict, slots: Slots, shown: list, policy, measured: int):
        self._columns, self._slots, self._shown, self._policy = columns, slots, shown, policy
        self._made: dict[int, privacy.Cell] = {}
        self.measured = measured

    def __len__(self) -> int:
        """How many counts were measured (and so protected)."""
        return self.measured

    def cell(self, column: Column, group) -> privacy.Cell | None:
        """The cell of a count; None for a count never measured (a zero, never hidden)."""
        row = self._columns.get(column)
        if row is None:
            return None
        value = int(self._shown[row][self._slots.get(group)])
        made = self._made.get(value)
        if made is None:
            made = self._made.setdefault(value, privacy.shown_cell(value, self._policy))
        return made


class Values:
    """Other figures (populations, medians, sums of cents, dates), by name and territory:
    one list per name, one slot per territory of the level and one for the whole."""

    def __init__(self, slots: Slots):
        self.slots = slots
        self._columns: dict[str, list] = {}

    def __setitem__(self, key: tuple, value):
        name, group = key
        slot = self.slots.get(group)
        if slot is None:
            return
        column = self._columns.get(name)
        if column is None:
            column = self._columns[name] = [None] * self.slots.size
        column[slot] = value

    def get(self, key: tuple):
        name, group = key
        column, slot = self._columns.get(name), self.slots.get(group)
        return None if column is None or slot is None else column[slot]
