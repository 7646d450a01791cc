"""One patient: the chart at a glance (`show`) and measured progress over time (`progress`).

Everything clinical comes from care/: the referral, its visits and the plan in effect from
`care.episode.course`, each goal's series and verdict from `care.outcomes`; what is due
from `care.due`."""

from __future__ import annotations

from typing import Any

from medmassage.care import due, episode, norms
from medmassage.care import outcomes as progress
from medmassage.care.episode import Course
from medmassage.chart import Chart, Record, StoreView
from medmassage.errors import UsageError
from medmassage.query import Clinic, age, full_name
from medmassage.query.lists import patient_row, referral_status


def _course(view: StoreView, chart: Chart, today: str) -> Course | None:
    """The episode up to today (None: no valid referral yet)."""
    try:
        return episode.course(view, chart, None, today)
    except UsageError:
        return None


def _baseline_day(c: Course) -> str:
    """The day of the plan's baseline: its assessment's date, else the plan's."""
    assert c.plan is not None
    return next(
        (str(a.data["date"]) for a in c.assessments if a.id == c.plan.data["assessment"]),
        str(c.plan.data["date"]),
    )


def _worded(goal_id: str, visits: list[Record]) -> str | None:
    for session in reversed(visits):
        for entry in session.data.get("assessment", {}).get("goals", []):
            if entry["goal"] == goal_id and "progress" in entry:
                return str(entry["progress"])
    return None


def _goal(c: Course, goal: dict[str, Any], with_series: bool) -> dict[str, Any]:
    """A goal: baseline, latest, target, unit, status and the MCID verdict (and its series)."""
    sessions, assessments = [s.data for s in c.visits], [a.data for a in c.assessments]
    series = progress.goal_series(goal, sessions, assessments)
    day = _baseline_day(c)
    judged = progress.assess_goal(goal, series, _worded(goal["id"], c.visits), day)
    baseline = float(goal["baseline"])
    found: dict[str, Any] = {
        "goal": goal["id"],
        "description": goal.get("description"),
        "unit": progress.unit(goal),
        "baseline": baseline,
        "latest": judged.latest.value if judged.latest else None,
        "latest_date": judged.latest.date if judged.latest else None,
        "target": float(goal["target"]),
        "change": judged.change,
        "status": judged.status,
        "verdict": judged.judgement,
    }
    if with_series:
        unsigned = episode.unsigned_days(c)
        found["points"] = [{"date": day, "value": baseline, "change": 0.0, "unsigned": False}] + [
            {
                "date": p.date,
                "value": p.value,
                "change": p.value - baseline,
                "unsigned": p.date in unsigned,
            }
            for p in series
            if p.date > day
        ]
    return found


def due_items(view: StoreView, chart: Chart, today: str) -> list[dict[str, Any]]:
    """What is due for the patient, as `medmassage due` lists it (care.due): its own
    rules, order and `due.within_days` horizon."""
    items = due.chart_items(view, chart, today)
    return [
        i.as_dict() for i in due.within(due.order(items), today, due.setting(view, "within_days"))
    ]


def _who(chart: Chart, today: str) -> dict[str, Any]:
    data = chart.patient.data if chart.patient is not None else {}
    return {
        "patient": chart.patient_id,
        "name": full_name(data) if data else None,
        "age": age(str(data.get("date_of_birth", "")), today) if data else None,
        "sex": data.get("sex"),
        "status": data.get("status"),
    }


def _cautions(chart: Chart, c: Course | None) -> dict[str, Any]:
    data = chart.patient.data if chart.patient is not None else {}
    precautions = [
        {
            "condition": p["condition"],
            "kind": p["kind"],
            "regions": list(p.get("regions", [])),
            "source": "patient",
        }
        for p in data.get("precautions", [])
    ]
    if c is not None:
        precautions += [
            {"condition": str(text), "kind": None, "regions": [], "source": "referral"}
            for text in c.referral.data.get("precautions", [])
        ]
    allergies = [
        {
            "substance": a.get("substance"),
            "reaction": a.get("reaction"),
            "severity": a.get("severity"),
        }
        for a in data.get("allergies", [])
    ]
    return {"precautions": precautions, "allergies": allergies}


def _referral(view: StoreView, chart: Chart, c: Course, today: str) -> dict[str, Any]:
    r = c.referral
    used = len(episode.visits_under(view, chart, r))
    authorized = int(r.data["visits_authorized"])
    return {
        "id": r.id,
        "provider": r.data["provider"],
        "visits_used": used,
        "visits_authorized": authorized,
        "visits_left": max(authorized - used, 0),
        "valid_until": str(r.data.get("valid_until") or "") or None,
        "status": referral_status(view, chart, r, today),
    }


def show(clinic: Clinic, patient: str) -> dict[str, Any]:
    """The chart at a glance: who, precautions and allergies first, diagnoses, referral,
    the active plan's goals (baseline -> latest -> target), last and next visit, what is due."""
    view, chart = clinic.chart(clinic.patients(patient)[0])
    if chart.patient is None or not chart.patient.valid:
        raise UsageError(f"patient {patient!r}: the patient record does not pass validation")
    c = _course(view, chart, clinic.today)
    row = patient_row(view, chart, clinic.today)
    plan = c.plan if c is not None else None
    return {
        "who": _who(chart, clinic.today),
        **_cautions(chart, c),
        "diagnoses": [
            {"code": d["code"], "description": d.get("description")}
            for d in (c.referral.data.get("diagnoses", []) if c is not None else [])
        ],
        "referral": _referral(view, chart, c, clinic.today) if c is not None else None,
        "plan": None
        if plan is None or c is None
        else {
            "id": plan.id,
            "status": plan.data["status"],
            "therapist": plan.data["therapist"],
            "goals": [_goal(c, g, False) for g in plan.data.get("goals", [])],
        },
        "last_visit": row["date"],
        "next_visit": row["next"],
        "due": due_items(view, chart, clinic.today),
        "errors": clinic.errors.get(patient, 0),
    }


def _outcome(name: str, in_unit: str, points: list[progress.Point]) -> dict[str, Any]:
    """An outcome measure's scores over time, change from the first, and the MCID verdict."""
    first = points[0].value if points else 0.0
    change = points[-1].value - first if points else 0.0
    limit, basis = progress.mcid(name, in_unit)
    known = norms.instrument(name)
    if not change:
        verdict = "no change"
    elif limit is None or known is None:
        verdict = "not judged (no established MCID)"
    else:
        better = (change < 0) == known.lower_is_better
        word = "improvement" if better else "worsening"
        verdict = (
            f"clinically meaningful {word} (at least the {basis})"
            if abs(change) >= limit
            else f"not clinically meaningful (below the {basis})"
        )
    return {
        "instrument": name,
        "unit": in_unit,
        "points": [{"date": p.date, "value": p.value, "change": p.value - first} for p in points],
        "change": change,
        "verdict": verdict,
    }


def progress_of(clinic: Clinic, patient: str) -> dict[str, Any]:
    """Per goal of the plan in effect and per outcome measure: every value with its date,
    change from baseline and the MCID verdict in the measure's unit."""
    view, chart = clinic.chart(clinic.patients(patient)[0])
    c = _course(view, chart, clinic.today)
    goals = c.plan.data.get("goals", []) if c is not None and c.plan is not None else []
    scores = (
        progress.outcome_scores(goals, [s.data for s in c.visits], [a.data for a in c.assessments])
        if c is not None
        else {}
    )
    return {
        "patient": patient,
        "plan": c.plan.id if c is not None and c.plan is not None else None,
        "referral": c.referral.id if c is not None else None,
        "goals": [_goal(c, g, True) for g in goals] if c is not None else [],
        "outcomes": [_outcome(name, u, pts) for name, (u, pts) in scores.items()],
        "errors": clinic.errors.get(patient, 0),
    }
