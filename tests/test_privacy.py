"""Small-count suppression: what a viewer other than the coordination may read."""

import datetime as dt

import pytest

from ohpunaises.privacy import Cell, Line, Policy, derived, legend, protect, protect_table

INSTITUTION = Policy(k=5, raw=False)
COORDINATION = Policy(k=5, raw=True)


def shown(cells):
    """Each cell as the reader sees it: its value, or "< 5"."""
    return {key: cell.display for key, cell in cells.items()}


def test_counts_from_one_to_k_minus_one_are_shown_as_less_than_k():
    for count in (1, 2, 3, 4):
        cells, total = protect_table({"a": count}, count, INSTITUTION)
        assert cells["a"].as_dict() == {"value": None, "suppressed": True, "display": "< 5"}
        assert total.suppressed


def test_zero_and_k_are_shown():
    cells, total = protect_table({"a": 0, "b": 5}, 5, INSTITUTION)
    assert shown(cells) == {"a": "0", "b": "5"}
    assert total.as_dict() == {"value": 5, "suppressed": False, "display": "5"}


def test_the_coordination_reads_raw_counts():
    cells, total = protect_table({"a": 1, "b": 2, "c": 40}, 43, COORDINATION)
    assert shown(cells) == {"a": "1", "b": "2", "c": "40"}
    assert total.value == 43


def test_a_single_hidden_part_takes_the_smallest_other_part_with_it():
    # 3 alone hidden, 62 - 40 - 19 would give it back: 19, the smallest other part, goes too,
    # shown as secret rather than as a small count.
    cells, total = protect_table({"a": 40, "b": 3, "c": 19, "d": 0}, 62, INSTITUTION)
    assert shown(cells) == {"a": "40", "b": "< 5", "c": "s", "d": "0"}
    assert cells["c"].as_dict() == {"value": None, "suppressed": True, "display": "s"}
    assert total.display == "62"


def test_two_hidden_parts_need_no_complement():
    cells, _ = protect_table({"a": 40, "b": 3, "c": 2}, 45, INSTITUTION)
    assert shown(cells) == {"a": "40", "b": "< 5", "c": "< 5"}


def test_a_part_that_alone_makes_a_small_total_hides_the_total():
    cells, total = protect_table({"a": 3, "b": 0}, 3, INSTITUTION)
    assert shown(cells) == {"a": "< 5", "b": "0"}
    assert total.suppressed


def test_a_small_remainder_of_the_total_counts_as_a_hidden_part():
    # Reports outside every QPV (48 - 30 - 15 = 3) are not shown but can be computed.
    cells, total = protect_table({"qpv a": 30, "qpv b": 15}, 48, INSTITUTION)
    assert shown(cells) == {"qpv a": "30", "qpv b": "s"}
    assert total.display == "48"


def test_a_large_remainder_protects_a_single_hidden_part():
    # 100 - 40 = 60 is the hidden 2 plus 58 reports shown nowhere: neither can be told.
    cells, _ = protect_table({"a": 40, "b": 2}, 100, INSTITUTION)
    assert shown(cells) == {"a": "40", "b": "< 5"}


def test_overlapping_parts_never_leave_one_hidden_part_alone():
    # A report has several actions: the parts do not add up, yet a lone hidden one is joined.
    cells, _ = protect_table(
        {"diagnosis": 20, "freezing": 2, "heat": 9}, 25, INSTITUTION, additive=False
    )
    assert shown(cells) == {"diagnosis": "20", "freezing": "< 5", "heat": "s"}


def test_a_complement_hidden_in_one_line_is_protected_in_the_crossing_line():
    # Two communes by two kinds of structure, with their totals:
    #              landlord  association  total
    #   commune A      10          2        12
    #   commune B       7          9        16
    #   whole          17         11        28
    counts = {
        ("A", "landlord"): 10,
        ("A", "association"): 2,
        ("B", "landlord"): 7,
        ("B", "association"): 9,
        ("A", None): 12,
        ("B", None): 16,
        (None, "landlord"): 17,
        (None, "association"): 11,
        (None, None): 28,
    }
    lines = [
        Line((("A", "landlord"), ("A", "association")), ("A", None)),
        Line((("B", "landlord"), ("B", "association")), ("B", None)),
        Line((("A", "landlord"), ("B", "landlord")), (None, "landlord")),
        Line((("A", "association"), ("B", "association")), (None, "association")),
        Line((("A", None), ("B", None)), (None, None)),
    ]
    cells = protect(counts, lines, INSTITUTION)
    # 2 is hidden; row A then hides 10 (else 12 - 10); column "landlord" hides 7 (else
    # 17 - 7 gives 10 back); column "association" hides 9 (else 11 - 9 gives 2 back).
    assert shown(cells) == {
        ("A", "landlord"): "s",
        ("A", "association"): "< 5",
        ("B", "landlord"): "s",
        ("B", "association"): "s",
        ("A", None): "12",
        ("B", None): "16",
        (None, "landlord"): "17",
        (None, "association"): "11",
        (None, None): "28",
    }


def test_a_count_resting_on_a_hidden_count_is_hidden_too():
    counts = {"people": 12, "dwellings": 3}
    cells = protect(counts, [], INSTITUTION, follows=[("people", "dwellings")])
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
def test_only_the_coordination_reads_unsuppressed_figures(app_context, role, raw):
    policy = Policy.for_role(role)
    assert policy == Policy(k=5, raw=raw)


def test_k_is_the_configured_threshold(app, app_context):
    app.config["SUPPRESSION_K"] = 10
    try:
        cells, _ = protect_table({"a": 9, "b": 30}, 39, Policy.for_role("institution"))
    finally:
        app.config["SUPPRESSION_K"] = 5
    assert shown(cells) == {"a": "< 10", "b": "s"}


def test_the_legend_explains_both_marks(app_context):
    assert legend(5) == (
        "< 5 : effectif de 1 à 4. s : secret statistique, valeur masquée pour qu'un petit "
        "effectif ne puisse pas être recalculé."
    )
