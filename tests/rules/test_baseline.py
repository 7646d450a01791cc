"""clinical/baseline-mismatch (rules/baseline.py) on tiny inline charts: a goal's typed
baseline against what the plan's assessment recorded, in the goal's unit, each beside the
exact findings it must give; and the demo clinic, whose baselines all agree."""

from __future__ import annotations

import textwrap
from pathlib import Path

from charts import ASSESSMENT, BASE, PLAN, base, findings, problems, write_store
from conftest import DEMO
from conftest import TODAY as DEMO_TODAY

RULE = "clinical/baseline-mismatch"
G1 = (RULE, PLAN, "$.goals[0].baseline")


def assessed(*lines: str) -> dict[str, str | None]:
    """BASE's assessment with `lines` (YAML at the top level) added at its end."""
    return {ASSESSMENT: textwrap.dedent(BASE[ASSESSMENT]) + "\n".join(lines) + "\n"}


def goal(measure: list[str], baseline: float) -> dict[str, str | None]:
    """BASE's plan with goal g1 measuring `measure` (lines under `measure:`) from `baseline`."""
    text = textwrap.dedent(BASE[PLAN])
    old = "    measure:\n      kind: pain\n      unit: NRS 0-10\n    baseline: 6\n"
    assert old in text
    new = "    measure:\n" + "".join(f"      {m}\n" for m in measure)
    return {PLAN: text.replace(old, f"{new}    baseline: {baseline:g}\n", 1)}


def test_the_base_baseline_agrees_with_its_assessment(tmp_path: Path) -> None:
    assert findings(tmp_path) == set()


def test_a_pain_baseline_other_than_the_current_pain_recorded(tmp_path: Path) -> None:
    changes = base(PLAN, "baseline: 6", "baseline: 5")
    assert findings(tmp_path, changes) == {G1}


def test_a_pain_goal_is_compared_with_the_pain_it_names(tmp_path: Path) -> None:
    usual = ["kind: pain", "pain: usual", "unit: NRS 0-10"]
    pains = base(ASSESSMENT, "  current: 6\n", "  current: 6\n  usual: 4\n")
    assert findings(tmp_path / "same", {**pains, **goal(usual, 4)}) == set()
    assert findings(tmp_path / "current", {**pains, **goal(usual, 6)}) == {G1}
    # An assessment that did not record the usual pain gives nothing to compare with.
    assert findings(tmp_path / "absent", goal(usual, 3)) == set()


ROM = [
    "- joint: lumbar_spine",
    "  movement: flexion",
    "  side: midline",
    "  degrees: 40",
]
LUMBAR = ["kind: range_of_motion", "joint: lumbar_spine", "movement: flexion", "side: midline"]


def test_a_range_of_motion_baseline_in_its_unit(tmp_path: Path) -> None:
    recorded = assessed("range_of_motion:", *(f"  {line}" for line in ROM))
    assert findings(tmp_path / "same", {**recorded, **goal(LUMBAR, 40)}) == set()
    assert findings(tmp_path / "other", {**recorded, **goal(LUMBAR, 45)}) == {G1}
    # A goal in mm is not compared with a measurement in degrees, only with one in mm.
    in_mm = [*LUMBAR, "unit: mm"]
    assert findings(tmp_path / "mm", {**recorded, **goal(in_mm, 45)}) == set()
    recorded_mm = assessed("range_of_motion:", *(f"  {line}" for line in ROM), "    unit: mm")
    assert findings(tmp_path / "mm-same", {**recorded_mm, **goal(in_mm, 40)}) == set()
    assert findings(tmp_path / "mm-other", {**recorded_mm, **goal(in_mm, 45)}) == {G1}


def ndi(score: float, unit: str | None = None) -> dict[str, str | None]:
    """BASE's assessment with an NDI score, in `unit` if given (else NDI's own, points)."""
    lines = ["outcome_measures:", "  - instrument: NDI", f"    score: {score:g}"]
    return assessed(*lines, *([f"    unit: {unit}"] if unit else []))


NDI_PERCENT = ["kind: outcome_measure", "instrument: NDI", "unit: percent"]
NDI_POINTS = ["kind: outcome_measure", "instrument: NDI"]


def test_an_outcome_baseline_is_compared_in_the_goals_unit(tmp_path: Path) -> None:
    # CLINICAL.md §3: NDI total 0-50, or x 2 as a percent; 21 points is 42 %.
    assert findings(tmp_path / "pct-pts", {**ndi(21), **goal(NDI_PERCENT, 42)}) == set()
    assert findings(tmp_path / "pts-pct", {**ndi(42, "percent"), **goal(NDI_POINTS, 21)}) == set()
    assert findings(tmp_path / "same", {**ndi(42, "percent"), **goal(NDI_PERCENT, 42)}) == set()
    # The p-0003 confusion: 42 typed as points where 42 % (21 points) was recorded.
    assert findings(tmp_path / "wrong", {**ndi(42, "percent"), **goal(NDI_POINTS, 42)}) == {G1}
    assert findings(tmp_path / "off", {**ndi(24), **goal(NDI_PERCENT, 42)}) == {G1}


def test_a_baseline_rounded_to_its_decimals_agrees(tmp_path: Path) -> None:
    odi = ["kind: outcome_measure", "instrument: ODI", "unit: percent"]

    def recorded(score: float) -> dict[str, str | None]:
        return assessed("outcome_measures:", "  - instrument: ODI", f"    score: {score:g}")

    assert findings(tmp_path / "down", {**recorded(38.4), **goal(odi, 38)}) == set()
    assert findings(tmp_path / "up", {**recorded(38.6), **goal(odi, 38)}) == {G1}
    assert findings(tmp_path / "exact", {**recorded(38.6), **goal(odi, 38.6)}) == set()


def test_other_instruments_and_kinds_are_not_compared(tmp_path: Path) -> None:
    # The assessment scored a different instrument; an `other` goal has nothing recorded.
    odi = goal(["kind: outcome_measure", "instrument: ODI"], 30)
    assert findings(tmp_path / "odi", {**ndi(21), **odi}) == set()
    assert findings(tmp_path / "other", goal(["kind: other", "unit: minutes"], 20)) == set()


def test_the_message_names_goal_assessment_and_units_only(tmp_path: Path) -> None:
    root = write_store(tmp_path / "store", {**ndi(21), **goal(NDI_PERCENT, 40)})
    (found,) = [p for p in problems(root) if p["rule"] == RULE]
    assert found["severity"] == "warning"
    message = found["message"]
    assert "goal g1" in message and "assessment 2026-10-02" in message
    assert "in percent" in message and "recorded in points" in message
    for figure in ("40", "42", "21"):
        assert figure not in message.replace("2026-10-02", "")


def test_the_demo_clinic_has_no_baseline_mismatch() -> None:
    found = [p for p in problems(DEMO, DEMO_TODAY) if p["rule"] == RULE]
    assert found == []


def test_a_pain_baseline_off_its_scale_is_left_to_pain_range(tmp_path: Path) -> None:
    changes = base(PLAN, "baseline: 6", "baseline: 12")
    assert findings(tmp_path, changes) == {("clinical/pain-range", PLAN, "$.goals[0].baseline")}
