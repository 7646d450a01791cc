"""Measures judged in their own units (care/outcomes.py, care/norms.py; CLINICAL.md §3):
a questionnaire kept in percent, range of motion in degrees or millimetres, which pain a
pain goal tracks, scores recorded at visits, and the named table of normal range of motion.
Expected figures are read from the demo records or computed from the instrument table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from medmassage.care import norms, outcomes
from medmassage.yamlio import load_file

DEMO = Path(__file__).resolve().parents[2] / "records"


def _records(patient: str, kind: str) -> list[dict[str, Any]]:
    folder = DEMO / "patients" / patient / kind
    found = [load_file(path, str(path.relative_to(DEMO))) for path in sorted(folder.glob("*.yaml"))]
    return sorted(found, key=lambda r: str(r["date"]))


def _goal(patient: str, goal_id: str) -> dict[str, Any]:
    plan = _records(patient, "plans")[0]
    return next(g for g in plan["goals"] if g["id"] == goal_id)


def _goal_id(patient: str, kind: str, **measure: str) -> str:
    plan = _records(patient, "plans")[0]
    return next(
        g["id"]
        for g in plan["goals"]
        if g["measure"]["kind"] == kind
        and all(g["measure"].get(k) == v for k, v in measure.items())
    )


def _judged(patient: str, goal: dict[str, Any], until: str = "9999") -> outcomes.GoalProgress:
    sessions = [s for s in _records(patient, "sessions") if s["date"] <= until]
    assessments = [a for a in _records(patient, "assessments") if a["date"] <= until]
    plan = _records(patient, "plans")[0]
    series = outcomes.goal_series(goal, sessions, assessments)
    return outcomes.assess_goal(goal, series, None, str(plan["date"]))


def test_points_and_percent_convert_by_the_instruments_range() -> None:
    ndi = norms.instrument("NDI")
    assert ndi is not None
    low, high = ndi.units["points"]
    p_low, p_high = ndi.units["percent"]
    scale = (p_high - p_low) / (high - low)
    assert norms.in_unit("NDI", 21.0, "points", "percent") == pytest.approx(21.0 * scale)
    assert norms.in_unit("NDI", 42.0, "percent", "points") == pytest.approx(42.0 / scale)
    assert norms.change_in_unit("NDI", ndi.mcid or 0, "points", "percent") == pytest.approx(
        (ndi.mcid or 0) * scale
    )


def test_ndi_kept_in_percent_is_judged_in_percent() -> None:
    goal = _goal("p-0003", _goal_id("p-0003", "outcome_measure", instrument="NDI"))
    assert outcomes.unit(goal) == "percent"
    ndi = norms.instrument("NDI")
    assert ndi is not None and ndi.mcid is not None
    span = ndi.units["points"][1] - ndi.units["points"][0]
    mcid_percent = ndi.mcid / span * 100
    limit, basis = outcomes.threshold(goal)
    assert limit == pytest.approx(mcid_percent)
    assert "%" in basis
    scores = [
        float(e["score"])
        for a in _records("p-0003", "assessments")
        for e in a.get("outcome_measures", [])
        if e["instrument"] == "NDI"
    ]
    change = scores[-1] - float(goal["baseline"])
    assert abs(change) < mcid_percent  # the demo's NDI change falls short of the MCID
    judged = _judged("p-0003", goal)
    assert judged.change == pytest.approx(change)
    assert not judged.meaningful and "not clinically meaningful" in judged.judgement


def test_the_same_change_in_points_is_judged_alike() -> None:
    ndi = norms.instrument("NDI")
    assert ndi is not None and ndi.mcid is not None
    goal = {
        "id": "g1",
        "measure": {"kind": "outcome_measure", "instrument": "NDI", "unit": "points"},
        "baseline": 21,
        "target": 10,
    }
    assert outcomes.threshold(goal)[0] == ndi.mcid
    below = outcomes.assess_goal(goal, [outcomes.Point("2026-01-02", 21 - ndi.mcid + 1)], None)
    at = outcomes.assess_goal(goal, [outcomes.Point("2026-01-02", 21 - ndi.mcid)], None)
    assert not below.meaningful and at.meaningful


def test_a_score_typed_in_percent_is_read_in_the_goals_points() -> None:
    goal = {
        "id": "g1",
        "measure": {"kind": "outcome_measure", "instrument": "NDI", "unit": "points"},
        "baseline": 21,
        "target": 10,
    }
    assessment = {
        "date": "2026-01-02",
        "outcome_measures": [{"instrument": "NDI", "score": 30, "unit": "percent"}],
    }
    series = outcomes.goal_series(goal, [], [assessment])
    assert [p.value for p in series] == [norms.in_unit("NDI", 30, "percent", "points")]


def test_mouth_opening_in_mm_is_judged_by_the_linear_detectable_difference() -> None:
    goal = _goal("p-0005", _goal_id("p-0005", "range_of_motion", joint="tmj"))
    assert outcomes.unit(goal) == "mm"
    limit, basis = outcomes.threshold(goal)
    assert limit == norms.LINEAR_SDD_MM and "mm" in basis and "°" not in basis
    assert 6 <= norms.LINEAR_SDD_MM <= 9  # CLINICAL.md §3: 6–9 mm
    values = [
        float(e["value"])
        for s in _records("p-0005", "sessions")
        for e in s.get("assessment", {}).get("goals", [])
        if e["goal"] == goal["id"] and "value" in e
    ]
    judged = _judged("p-0005", goal)
    assert judged.latest is not None and judged.latest.value == values[-1]
    change = values[-1] - float(goal["baseline"])
    assert judged.meaningful == (change >= norms.LINEAR_SDD_MM)


def test_a_rom_entry_counts_only_for_a_goal_in_its_unit() -> None:
    measure = {"kind": "range_of_motion", "joint": "tmj", "movement": "opening"}
    in_mm = {"id": "g1", "measure": {**measure, "unit": "mm"}, "baseline": 28, "target": 40}
    in_degrees = {"id": "g1", "measure": measure, "baseline": 28, "target": 40}
    entry = {"joint": "tmj", "movement": "opening", "side": "midline", "degrees": 35, "unit": "mm"}
    assessment = {"date": "2026-01-02", "range_of_motion": [entry]}
    assert [p.value for p in outcomes.goal_series(in_mm, [], [assessment])] == [35.0]
    assert outcomes.goal_series(in_degrees, [], [assessment]) == []


def test_a_usual_pain_goal_takes_the_usual_pain_not_the_current() -> None:
    goal = _goal("p-0002", _goal_id("p-0002", "pain", pain="usual"))
    assert outcomes.pain_kind(goal) == "usual"
    last = _records("p-0002", "assessments")[-1]
    assert last["pain"]["usual"] != last["pain"]["current"]  # the record tells them apart
    judged = _judged("p-0002", goal, until=str(last["date"]))
    assert judged.latest is not None
    assert (judged.latest.date, judged.latest.value) == (last["date"], last["pain"]["usual"])


def test_a_session_pain_counts_only_for_a_current_pain_goal() -> None:
    session = {"date": "2026-01-02", "subjective": {"pain": 3}, "assessment": {"goals": []}}
    current = {"id": "g1", "measure": {"kind": "pain"}, "baseline": 6, "target": 2}
    usual = {"id": "g1", "measure": {"kind": "pain", "pain": "usual"}, "baseline": 6, "target": 2}
    assert [p.value for p in outcomes.goal_series(current, [session], [])] == [3.0]
    assert outcomes.goal_series(usual, [session], []) == []


def test_scores_recorded_at_visits_join_the_outcome_list() -> None:
    plan = _records("p-0005", "plans")[0]
    sessions, assessments = _records("p-0005", "sessions"), _records("p-0005", "assessments")
    goal = next(g for g in plan["goals"] if g["measure"]["kind"] == "outcome_measure")
    name = goal["measure"]["instrument"]
    expected = {
        str(a["date"]): float(e["score"])
        for a in assessments
        for e in a.get("outcome_measures", [])
        if e["instrument"] == name
    }
    expected.update(
        {
            str(s["date"]): float(e["value"])
            for s in sessions
            for e in s.get("assessment", {}).get("goals", [])
            if e["goal"] == goal["id"] and "value" in e
        }
    )
    _unit, points = outcomes.outcome_scores(plan["goals"], sessions, assessments)[name]
    assert {p.date: p.value for p in points} == expected
    assert len(expected) > 1  # the visit's score is there beside the assessment's


def test_normal_range_comes_from_one_named_table() -> None:
    aaos = norms.normal_top("cervical_spine", "rotation")
    ama = norms.normal_top("cervical_spine", "rotation", "ama")
    assert (aaos, ama) == (60, 80)  # CLINICAL.md §3: AAOS 60, AMA Guides 80
    assert norms.normal_top("knee", "flexion") == norms.normal_top("knee", "flexion", "ama")
    assert norms.reference() != norms.reference("ama") and "AAOS" in norms.reference()
    assert norms.normal_rom("tmj", "opening") == ""
