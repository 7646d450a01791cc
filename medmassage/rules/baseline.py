"""The baseline rule (issue 13, "a typed baseline is never compared with the assessment it
came from"): each plan goal's typed `baseline` against the value the plan's own assessment
recorded for the goal's measure, compared in the goal's unit (CLINICAL.md §3).

The value is read by the same function progress reports use (`care.outcomes.goal_series`,
which takes the pain the goal names, the range of motion in its unit, and a questionnaire
score moved between points and percent by `care.norms.in_unit`). Messages name the goal,
the assessment and the units, never the chart's values or free text."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from medmassage.care import instruments, norms, outcomes
from medmassage.chart import Record, StoreView
from medmassage.errors import Finding
from medmassage.rules.outcomes import agrees


def _recorded_unit(goal: Mapping[str, Any], assessment: Mapping[str, Any]) -> str:
    """The unit the assessment wrote its figure in: a questionnaire's own `unit` (else the
    instrument's), otherwise the goal's (pain points; range of motion matched by unit)."""
    measure = goal["measure"]
    wanted = outcomes.unit(goal)
    if measure["kind"] != "outcome_measure":
        return wanted
    known = norms.instrument(str(measure.get("instrument", "")))
    for entry in assessment.get("outcome_measures", []):
        if entry["instrument"] == measure.get("instrument"):
            written = entry.get("unit")
            if written:
                return str(written)
            return known.unit if known is not None else wanted
    return wanted


def _mismatch(plan: Record, index: int, goal: Mapping[str, Any], assessment: Record) -> Finding:
    wanted = outcomes.unit(goal)
    recorded = _recorded_unit(goal, assessment.data)
    compared = f"in {wanted}" if recorded == wanted else f"in {wanted}; recorded in {recorded}"
    message = (
        f"goal {goal['id']}'s baseline (in {wanted}) differs from the value assessment "
        f"{assessment.id} recorded for its measure ({compared}); correct the baseline or the "
        "assessment"
    )
    return Finding(
        plan.rel, ("goals", index, "baseline"), "clinical/baseline-mismatch", "warning", message
    )


def _off_scale(goal: Mapping[str, Any]) -> bool:
    """A pain baseline off the NRS 0-10 scale: clinical/pain-range's error, not compared."""
    nrs = instruments.instrument("NRS")
    if goal["measure"]["kind"] != "pain" or nrs is None:
        return False
    return not nrs.low <= float(goal["baseline"]) <= nrs.high


def check_baselines(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """clinical/baseline-mismatch: a goal's typed baseline that is not the value the plan's
    assessment recorded for that measure, in the goal's unit (an NDI baseline of 42 percent
    agrees with 21 points recorded). A baseline agrees with the value rounded to the decimals
    it was typed with (38 with 38.4, not 38.6). A measure the assessment did not record is
    not compared, nor a pain baseline off its scale (clinical/pain-range reports it)."""
    for plan in records:
        if not plan.valid or plan.kind != "plan":
            continue
        assessment = view.get("assessment", plan.data["assessment"], plan.entry.patient)
        if assessment is None or not assessment.valid:
            continue
        for index, goal in enumerate(plan.data["goals"]):
            if _off_scale(goal):
                continue
            points = outcomes.goal_series(goal, (), (assessment.data,))
            if not points:
                continue
            if not agrees(float(goal["baseline"]), points[-1].value):
                yield _mismatch(plan, index, goal, assessment)
