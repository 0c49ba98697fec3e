"""What a viewer other than the coordination may read of a count: the cell-key perturbation,
small counts hidden, and the calendar grid of periods (docs/privacy.md)."""

import datetime as dt
import random
from pathlib import Path

import pytest

from ohpunaises import privacy
from ohpunaises.indicators.table import Counts, Slots
from ohpunaises.privacy import (
    CELL_KEYS,
    MAX_PERTURBATION,
    Cell,
    Policy,
    derived,
    grid_periods,
    legend,
    on_the_grid,
    perturbation_table,
    perturbed,
    protect,
)

INSTITUTION = Policy(k=5, raw=False)
COORDINATION = Policy(k=5, raw=True)


def shown(cells):
    """Each cell as the reader sees it: its value, or "< 5"."""
    return {key: cell.display for key, cell in cells.items()}


def test_the_coordination_reads_raw_counts():
    counts = {"a": 1, "b": 2, "c": 40}
    cells = protect(counts, {"a": 7, "b": 8, "c": 9}, COORDINATION)
    assert shown(cells) == {"a": "1", "b": "2", "c": "40"}


def test_zero_stays_zero_and_no_other_count_reads_zero():
    assert all(perturbed(0, key) == 0 for key in range(CELL_KEYS))
    for count in range(1, 12):
        readings = {perturbed(count, key) for key in range(CELL_KEYS)}
        assert min(readings) >= 1
        assert max(abs(reading - count) for reading in readings) <= MAX_PERTURBATION


def test_a_cell_reads_the_same_whenever_its_records_are_the_same():
    records = [random.Random(seed).randrange(2**31 - 1) for seed in range(9)]
    first = protect({"a": 9}, {"a": sum(records)}, INSTITUTION)
    again = protect({"b": 9}, {"b": sum(reversed(records))}, INSTITUTION)
    assert first["a"] == again["b"]


def test_small_perturbed_counts_are_hidden_as_less_than_k():
    for count in (1, 2, 3):
        for key in range(0, CELL_KEYS, 7):
            cell = protect({"a": count}, {"a": key}, INSTITUTION)["a"]
            reading = perturbed(count, key)
            if reading < 5:
                assert cell.as_dict() == {"value": None, "suppressed": True, "display": "< 5"}
            else:  # rarely, a small count reads 5 or more, and shows
                assert (cell.value, cell.suppressed) == (reading, False)
    hidden_fives = [key for key in range(CELL_KEYS) if perturbed(5, key) < 5]
    assert hidden_fives  # 5 may read 3 or 4: whether a cell is hidden tells little
    assert protect({"a": 5}, {"a": hidden_fives[0]}, INSTITUTION)["a"].display == "< 5"


def test_the_published_table_is_the_one_documented():
    table = perturbation_table()
    assert list(table) == list(range(1, MAX_PERTURBATION + 2))
    assert all(sum(row.values()) == CELL_KEYS for row in table.values())
    large = table[MAX_PERTURBATION + 1]
    assert sum(change * slots for change, slots in large.items()) == 0  # no bias past 8
    assert all(large[change] == large[-change] for change in large)
    within_two = sum(slots for change, slots in large.items() if abs(change) <= 2)
    assert within_two / CELL_KEYS > 0.94
    page = (Path(__file__).resolve().parent.parent / "docs" / "privacy.md").read_text()
    for count, row in table.items():
        cells = " | ".join(str(row.get(change, "—")) for change in range(-8, 9))
        name = f"{count} and more" if count == MAX_PERTURBATION + 1 else str(count)
        assert f"| {name} | {cells} |" in page, count


def test_every_count_protected_at_once_reads_as_each_count_protected_alone():
    # protect() reads the perturbation table by slot for hundreds of thousands of counts at
    # once; perturbed_cell() is the definition, one count at a time.
    rng = random.Random(23)
    counts = {
        ("reports", n): rng.choice([0, 1, 2, 4, 5, 6, 9, 10, 17, rng.randint(0, 10**6)])
        for n in range(20_000)
    }
    keys = {key: rng.randint(0, 2**48) for key in counts}
    for k in (2, 5, 11):
        policy = privacy.Policy(k=k)
        alone = {key: privacy.perturbed_cell(c, keys[key], policy) for key, c in counts.items()}
        assert privacy.protect(counts, keys, policy) == alone


def test_counts_held_by_column_read_as_each_count_protected_by_key():
    # The figures of a level are protected as arrays (Counts.protect, privacy.protect_array);
    # privacy.protect over a dictionary keyed (family, *categories, territory) is the
    # definition. Generated counts over 3,000 territories and the whole, some never measured,
    # with people resting on dwellings resting on sessions.
    rng = random.Random(20261203)
    ids = [10 + 3 * n for n in range(3_000)]
    columns = [("sessions",), ("dwellings",), ("people",), ("quarter", "2025-Q1"), ("kind", "x")]
    # People trained are never measured here: they read 0, or "s" where sessions are hidden.
    follows = [
        (("people",), ("dwellings",)),
        (("dwellings",), ("sessions",)),
        (("trained",), ("sessions",)),
    ]
    counts, keys = {}, {}
    table = Counts(Slots(ids))
    territories = [None, *ids]
    for column in columns:
        for group in territories:
            if rng.random() < 0.2:
                continue  # never measured: reads as a zero
            count = rng.choice([0, 1, 2, 3, 4, 5, 6, 9, 12, rng.randint(0, 10**6)])
            key = rng.randint(0, 2**40)
            counts[(*column, group)], keys[(*column, group)] = count, key
            table.put(column, group, count, key)
    table.put(("sessions",), 999_999, 3, 3)  # outside the level: left out, never read
    for policy in (Policy(k=5, raw=True), Policy(k=2), Policy(k=5), Policy(k=11)):
        pairs = [((*a, g), (*b, g)) for a, b in follows for g in territories]
        expected = protect(counts, keys, policy, pairs)
        cells = table.protect(policy, follows)
        assert len(cells) == len(counts)
        hidden = 0
        for column in [*columns, ("trained",)]:
            for group in territories:
                found = cells.cell(column, group)
                wanted = expected.get((*column, group))
                if wanted is None:  # never measured: a zero
                    assert found is None or found == Cell(0, False, policy.k)
                else:
                    assert found == wanted, (column, group)
                    assert type(found.value) is type(wanted.value)
                    hidden += wanted.suppressed
        assert (hidden > 1000) is not policy.raw
        secrets = sum(cell.display == "s" for cell in expected.values())
        assert (secrets > 100) is not policy.raw


def test_perturbations_are_spread_over_the_keys():
    """Over cells of random records, each change comes about as often as the table says."""
    rng = random.Random(20261202)
    seen = {change: 0 for change in range(-8, 9)}
    for _ in range(20_000):
        key = sum(rng.randrange(2**31 - 1) for _ in range(rng.randint(3, 30)))
        seen[perturbed(20, key) - 20] += 1
    for change, slots in perturbation_table()[9].items():
        assert abs(seen[change] / 20_000 - slots / CELL_KEYS) < 0.02, change


def test_a_count_resting_on_a_hidden_count_is_hidden_too():
    counts, keys = {"people": 12, "dwellings": 2}, {"people": 4, "dwellings": 4}
    cells = protect(counts, keys, INSTITUTION, follows=[("people", "dwellings")])
    assert shown(cells) == {"people": "s", "dwellings": "< 5"}


def test_a_share_is_hidden_when_its_numerator_or_denominator_is():
    visible, hidden = Cell(12, False, 5), Cell(None, True, 5)
    assert derived(40.0, INSTITUTION, visible, visible).as_dict() == {
        "value": 40.0,
        "suppressed": False,
        "display": "40",
    }
    # "< 5" would read as "less than 5 %".
    assert derived(40.0, INSTITUTION, hidden, visible).display == "s"
    assert derived(40.0, INSTITUTION, visible, hidden).value is None


def test_a_value_that_cannot_be_computed_is_shown_as_a_dash():
    assert Cell(None, False, 5).display == "—"


def test_dates_are_given_as_iso_text():
    assert Cell(dt.date(2025, 3, 1), False, 5).as_dict()["value"] == "2025-03-01"


def test_numbers_are_written_the_french_way(app_context):
    assert Cell(1234.5, False, 5).display == "1\u202f234,5"


@pytest.mark.parametrize(
    ("role", "raw"),
    [
        ("coordinator", True),
        ("institution", False),
        ("agent", False),
        ("partner_admin", False),
        ("evaluator", False),
        (None, False),
    ],
)
def test_only_the_coordination_reads_raw_figures(app_context, role, raw):
    policy = Policy.for_role(role)
    assert policy == Policy(k=5, raw=raw)


def test_k_is_the_configured_threshold(app, app_context):
    app.config["SUPPRESSION_K"] = 10
    try:
        policy = Policy.for_role("institution")
    finally:
        app.config["SUPPRESSION_K"] = 5
    key = next(key for key in range(CELL_KEYS) if perturbed(9, key) == 9)
    assert protect({"a": 9}, {"a": key}, policy)["a"].display == "< 10"


def test_the_legend_explains_both_marks(app_context):
    assert legend(5) == (
        "Effectifs protégés : chacun est décalé d'un petit écart aléatoire, toujours le même "
        "(2 au plus dans 19 cas sur 20, 8 au plus). < 5 : effectif de 1 à 4. s : secret "
        "statistique, valeur masquée parce qu'elle repose sur un effectif masqué."
    )


@pytest.mark.parametrize(
    ("start", "end", "allowed"),
    [
        (None, None, True),
        ("2025-03-01", "2025-03-31", True),
        ("2024-02-01", "2024-02-29", True),
        ("2025-04-01", "2025-06-30", True),
        ("2025-01-01", "2025-12-31", True),
        ("2025-02-01", "2025-04-30", False),  # three months, not a quarter
        ("2025-01-01", "2025-01-08", False),  # a week
        ("2023-01-01", "2025-01-08", False),  # the review's differencing
        ("2025-01-02", "2025-01-31", False),
        ("2025-01-01", None, False),
        (None, "2025-12-31", False),
        ("2025-12-01", "2025-01-31", False),
    ],
)
def test_protected_periods_follow_the_calendar(start, end, allowed):
    day = dt.date.fromisoformat
    assert on_the_grid(start and day(start), end and day(end)) is allowed


def test_the_grid_lists_years_quarters_and_months_newest_first():
    periods = grid_periods(dt.date(2025, 11, 20), dt.date(2026, 1, 10))
    assert [(start.isoformat(), end.isoformat()) for start, end in periods] == [
        ("2026-01-01", "2026-12-31"),
        ("2026-01-01", "2026-03-31"),
        ("2026-01-01", "2026-01-31"),
        ("2025-01-01", "2025-12-31"),
        ("2025-10-01", "2025-12-31"),
        ("2025-12-01", "2025-12-31"),
        ("2025-11-01", "2025-11-30"),
    ]
    assert all(on_the_grid(start, end) for start, end in periods)


def test_the_perturbation_never_depends_on_anything_but_the_count_and_the_key():
    assert privacy.perturbed(7, 3) == privacy.perturbed(7, 3 + CELL_KEYS)
