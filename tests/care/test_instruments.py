"""Scored questionnaires (CLINICAL.md §3): each instrument scored from item answers, with the
expected score worked out here from the rule CLINICAL.md states (not by the code under test),
the missing-item rules, and a property: any valid answers score within the range."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from medmassage.care import instruments, norms
from medmassage.care.instruments import INSTRUMENTS, score
from medmassage.rules.outcomes import agrees

RECORDS = Path(__file__).resolve().parents[2] / "records"

ODI = [2, 1, 3, 2, 4, 2, 1, 2, 1, 1]
NDI = [3, 2, 2, 3, 2, 2, 2, 2, 1, 2]
LEFS = [3, 2, 4, 1, 0, 2, 3, 3, 4, 2, 1, 1, 2, 3, 4, 0, 2, 2, 3, 1]
QUICKDASH = [2, 3, 1, 4, 5, 2, 2, 3, 1, 1, 2]
SPADI = [7, 6, 8, 5, 9, 4, 6, 7, 5, 3, 6, 8, 5]
HIT6 = [10, 11, 8, 13, 6, 10]
FIQR = [6, 7, 6, 5, 7, 6, 6, 6, 6, 6, 6, 7, 8, 6, 7, 5, 6, 7, 6, 6, 6]


def test_each_instrument_scored_by_its_rule() -> None:
    assert score("ODI", ODI).value == pytest.approx(sum(ODI) / 50 * 100)
    assert score("NDI", NDI).value == sum(NDI)
    assert score("NDI", NDI, "percent").value == pytest.approx(sum(NDI) * 2)
    assert score("PSFS", [4, 7, 3]).value == pytest.approx(14 / 3)
    assert score("LEFS", LEFS).value == sum(LEFS)
    assert score("QuickDASH", QUICKDASH).value == pytest.approx((sum(QUICKDASH) / 11 - 1) * 25)
    assert score("SPADI", SPADI).value == pytest.approx(sum(SPADI) / 130 * 100)
    assert score("HIT-6", HIT6).value == sum(HIT6)
    function, overall, symptoms = FIQR[:9], FIQR[9:11], FIQR[11:]
    expected = sum(function) / 3 + sum(overall) + sum(symptoms) / 2
    assert score("FIQR", FIQR).value == pytest.approx(expected)


def test_odi_and_ndi_allow_one_skipped_item_scored_on_the_answered_ones() -> None:
    one_skipped = [None, *ODI[1:]]
    assert score("ODI", one_skipped).value == pytest.approx(sum(ODI[1:]) / (5 * 9) * 100)
    assert score("NDI", [None, *NDI[1:]]).value == pytest.approx(sum(NDI[1:]) / (5 * 9) * 50)
    two_skipped = [None, None, *ODI[2:]]
    assert score("ODI", two_skipped).value is None
    assert score("NDI", [None, None, *NDI[2:]]).value is None


def test_quickdash_needs_ten_of_eleven() -> None:
    ten = [None, *QUICKDASH[1:]]
    assert score("QuickDASH", ten).value == pytest.approx((sum(QUICKDASH[1:]) / 10 - 1) * 25)
    assert score("QuickDASH", [None, None, *QUICKDASH[2:]]).value is None


def test_psfs_needs_three_to_five_activities() -> None:
    assert score("PSFS", [4, 7]).value is None
    assert score("PSFS", [4, 7, 3, 5, 6, 2]).value is None
    assert score("PSFS", [4, 7, 3, 5, 6]).value == pytest.approx(25 / 5)


@pytest.mark.parametrize("key", ["LEFS", "SPADI", "HIT-6", "FIQR"])
def test_instruments_without_an_allowance_need_every_item(key: str) -> None:
    answers = {"LEFS": LEFS, "SPADI": SPADI, "HIT-6": HIT6, "FIQR": FIQR}[key]
    assert score(key, [None, *answers[1:]]).value is None
    assert score(key, answers[1:]).value is None


def test_norms_reads_the_one_instrument_table() -> None:
    assert norms.INSTRUMENTS is INSTRUMENTS
    for key, row in INSTRUMENTS.items():
        assert norms.instrument(key) is row
        assert row.unit in ("points", "percent") and row.low < row.high


@st.composite
def valid_answers(draw: st.DrawFn) -> tuple[str, list[float | None]]:
    """Any answers an instrument's rule accepts: item values drawn from the allowed ones,
    with up to as many skipped as its missing-item rule allows."""
    key = draw(st.sampled_from(sorted(instruments.SCORERS)))
    row = INSTRUMENTS[key]
    count = row.items or draw(st.integers(3, 5))
    values = draw(st.lists(st.sampled_from(row.item_values), min_size=count, max_size=count))
    answers: list[float | None] = list(values)
    skips = draw(st.integers(0, count - max(row.min_answered, 1))) if row.items else 0
    for index in draw(st.permutations(range(count)))[:skips]:
        answers[index] = None
    return key, answers


@settings(max_examples=300)
@given(valid_answers())
def test_any_valid_answers_score_within_range(drawn: tuple[str, list[float | None]]) -> None:
    key, answers = drawn
    row = INSTRUMENTS[key]
    for unit, (low, high) in row.units.items():
        value = score(key, answers, unit).value
        assert value is not None
        assert low - 1e-9 <= value <= high + 1e-9


def test_demo_item_answers_reproduce_their_totals() -> None:
    seen = 0
    for path in sorted(RECORDS.glob("patients/*/assessments/*.yaml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")).get("outcome_measures", []):
            if "items" not in entry:
                continue
            seen += 1
            scored = score(entry["instrument"], entry["items"], entry.get("unit"))
            assert scored.value is not None and agrees(entry["score"], scored.value), path
    assert seen >= 2


def test_a_typed_total_agrees_to_the_decimals_it_was_typed_with() -> None:
    assert agrees(62.3, 62.0 + 1 / 3)
    assert agrees(38, 38.4) and not agrees(38, 38.6)
    assert not agrees(62.3, 62.4)
