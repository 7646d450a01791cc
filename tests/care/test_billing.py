"""The 8-minute rule (CLINICAL.md §2): its worked examples under both unit rules, properties
over any minutes, and the demo store's billed notes recomputed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from medmassage.care.billing import (
    DEFAULT_CODES,
    BillingSettings,
    Line,
    billed_units,
    billing_lines,
    billing_settings,
    minutes_by_code,
    units_cms,
    units_for_minutes,
    units_per_code,
)

RECORDS = Path(__file__).resolve().parents[2] / "records"
CODES = ("97110", "97112", "97124", "97140")
minutes_maps = st.dictionaries(st.sampled_from(CODES), st.integers(1, 120), max_size=4)


def session(*items: tuple[str, int]) -> dict[str, Any]:
    """A visit's treatment: (technique, minutes) entries."""
    return {"treatment": [{"technique": t, "minutes": m} for t, m in items]}


# The total-minutes table of CLINICAL.md §2: 8–22 → 1, 23–37 → 2, ... 83–97 → 6.
@pytest.mark.parametrize(
    ("low", "high", "units"),
    [(0, 7, 0), (8, 22, 1), (23, 37, 2), (38, 52, 3), (53, 67, 4), (68, 82, 5), (83, 97, 6)],
)
def test_the_unit_table(low: int, high: int, units: int) -> None:
    assert {units_for_minutes(m) for m in range(low, high + 1)} == {units}


def test_worked_example_one_code() -> None:
    """47 min of 97140 → 97140 × 3 (both rules: one code)."""
    assert units_cms({"97140": 47}) == {"97140": 3}
    assert units_per_code({"97140": 47}) == {"97140": 3}


def test_worked_example_remainder_goes_to_the_smaller_code() -> None:
    """8 min of 97124 + 45 of 97140 = 53 min → 4 units: 97140 × 3, 97124 × 1."""
    minutes = {"97124": 8, "97140": 45}
    assert units_cms(minutes) == {"97140": 3, "97124": 1}
    assert units_per_code(minutes) == {"97140": 3, "97124": 1}


def test_worked_example_larger_remainder_wins() -> None:
    """8 + 40 = 48 min → 3 units, all 97140 (its 10-minute remainder beats 8); per code,
    97124's 8 minutes bill a unit of their own."""
    minutes = {"97124": 8, "97140": 40}
    assert units_cms(minutes) == {"97140": 3}
    assert units_per_code(minutes) == {"97124": 1, "97140": 3}


def test_per_code_drops_a_code_under_eight_minutes() -> None:
    assert units_per_code({"97124": 7, "97140": 7}) == {}
    assert units_cms({"97124": 7, "97140": 8}) == {"97140": 1}


def test_techniques_map_to_their_default_codes_and_the_store_overrides() -> None:
    visit = session(("swedish", 8), ("myofascial_release", 20), ("stretching", 10))
    assert minutes_by_code(visit, DEFAULT_CODES) == {"97124": 8, "97140": 30}
    taught = billing_settings(
        {
            "codes": [
                {"technique": "stretching", "code": "97110"},
                {"technique": "swedish", "code": "none"},
            ]
        }
    )
    assert minutes_by_code(visit, taught.codes) == {"97140": 20, "97110": 10}
    assert billing_lines(visit, taught) == [Line("97110", 10, 1), Line("97140", 20, 1)]


def test_untimed_and_unmapped_techniques_carry_no_timed_minutes() -> None:
    visit = session(("hydrotherapy", 10), ("craniosacral", 10))
    table = {"hydrotherapy": DEFAULT_CODES["hydrotherapy"]}
    assert minutes_by_code(visit, table) == {}


def test_lines_keep_a_code_with_minutes_but_no_unit() -> None:
    lines = billing_lines(session(("swedish", 8), ("deep_tissue", 40)), BillingSettings())
    assert lines == [Line("97124", 8, 0), Line("97140", 40, 3)]


@given(minutes_maps)
def test_cms_units_follow_the_total(minutes: dict[str, int]) -> None:
    units = units_cms(minutes)
    assert sum(units.values()) == units_for_minutes(sum(minutes.values()))
    for code, count in units.items():
        # one per full 15 minutes, at most one more from the remainder
        assert minutes[code] // 15 <= count <= minutes[code] // 15 + 1


@given(minutes_maps)
def test_per_code_units_follow_each_code(minutes: dict[str, int]) -> None:
    units = units_per_code(minutes)
    assert set(units) == {code for code, spent in minutes.items() if spent >= 8}
    for code, count in units.items():
        assert (count - 1) * 15 + 8 <= minutes[code] <= count * 15 + 7


@given(minutes_maps)
def test_neither_rule_bills_more_than_the_minutes_support(minutes: dict[str, int]) -> None:
    total = sum(minutes.values())
    assert 15 * sum(units_cms(minutes).values()) <= total + 7
    per_code = units_per_code(minutes)
    assert 15 * sum(per_code.values()) <= total + 7 * len(per_code)


def demo_billed() -> list[tuple[str, dict[str, Any]]]:
    """Every demo note that carries billing codes, with its data."""
    notes = []
    for path in sorted(RECORDS.glob("patients/*/sessions/*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        if (data.get("billing") or {}).get("codes"):
            notes.append((f"{path.parts[-3]}/{data['id']}", data))
    return notes


def demo_settings(units: str) -> BillingSettings:
    settings = yaml.safe_load((RECORDS / "medmassage.yaml").read_text(encoding="utf-8"))
    return billing_settings({**settings.get("billing", {}), "units": units})


def disagreements(units: str) -> dict[str, dict[str, tuple[int, int]]]:
    """Per note, the codes whose billed units differ from computed: (billed, computed)."""
    settings = demo_settings(units)
    found = {}
    for name, data in demo_billed():
        billed = billed_units(data["billing"]["codes"])
        computed = {line.code: line.units for line in billing_lines(data, settings)}
        differ = {
            code: (billed.get(code, 0), computed.get(code, 0))
            for code in set(billed) | set(computed)
            if billed.get(code, 0) != computed.get(code, 0)
        }
        if differ:
            found[name] = differ
    return found


def test_the_demo_bills_by_the_cms_rule() -> None:
    assert len(demo_billed()) == 42
    assert disagreements("cms") == {}


def test_per_code_the_demo_overbills_one_note_and_underbills_seven() -> None:
    found = disagreements("per_code")
    over = {(n, c) for n, d in found.items() for c, (b, u) in d.items() if b > u}
    under = {(n, c) for n, d in found.items() for c, (b, u) in d.items() if b < u}
    assert over == {("p-0003/2026-10-30", "97124")}
    assert len(under) == 7
