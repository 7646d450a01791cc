"""The physician update's measures (CLINICAL.md §1, progress report; §3): each plan
goal judged from every measurement up to the period end, the pain before and after
each visit of the period, the outcome scores with their MCID, and the charts of pain
and scores. The letter around them is built in `physician_update.py`."""

from __future__ import annotations

from medmassage.care import episode, norms
from medmassage.care import outcomes as progress
from medmassage.care.episode import Course
from medmassage.chart import Record
from medmassage.documents.common import UNIT_SIGN, Context, measure_label, normal_label, num
from medmassage.documents.svg import Series, line_chart


def _worded(goal_id: str, visits: list[Record]) -> str | None:
    for session in reversed(visits):
        for entry in session.data.get("assessment", {}).get("goals", []):
            if entry["goal"] == goal_id:
                return str(entry["progress"])
    return None


def goal_progress(c: Course) -> list[progress.GoalProgress]:
    """Each plan goal judged from every measurement up to the period end."""
    if c.plan is None:
        return []
    sessions, assessments = [s.data for s in c.visits], [a.data for a in c.assessments]
    baseline = next(
        (a.data["date"] for a in c.assessments if a.id == c.plan.data["assessment"]),
        c.plan.data["date"],
    )
    return [
        progress.assess_goal(
            goal,
            progress.goal_series(goal, sessions, assessments),
            _worded(goal["id"], c.visits),
            baseline,
        )
        for goal in c.plan.data["goals"]
    ]


def goal_row(g: progress.GoalProgress, table: str) -> Context:
    goal = g.goal
    change = g.change
    return {
        "id": goal["id"],
        "description": goal["description"],
        "term": goal["term"],
        "due": goal["due"],
        "measure": measure_label(goal),
        "unit": progress.unit(goal),
        "baseline": num(goal["baseline"]),
        "target": num(goal["target"]),
        "latest": num(g.latest.value) if g.latest else "—",
        "latest_date": g.latest.date if g.latest else "",
        "change": "—" if change is None else (f"{change:+g}" if change else "0"),
        "status": g.status,
        "meaningful": g.meaningful,
        "judgement": g.judgement,
        "normal": normal_label(goal, table),
    }


def pain_rows(c: Course) -> list[Context]:
    return [
        {
            "date": s.data["date"],
            "before": s.data["subjective"]["pain"],
            "after": num(s.data.get("response", {}).get("pain")),
            "unsigned": not episode.is_signed(s),
        }
        for s in c.period
    ]


Scores = dict[str, tuple[str, list[progress.Point]]]


def outcomes(c: Course) -> Scores:
    goals = c.plan.data["goals"] if c.plan else []
    return progress.outcome_scores(
        goals, [s.data for s in c.visits], [a.data for a in c.assessments]
    )


def _with_unit(value: float, in_unit: str) -> str:
    return f"{num(value)} %" if in_unit == "percent" else num(value)


def outcome_rows(outcomes: Scores) -> list[Context]:
    rows = []
    for name, (in_unit, points) in outcomes.items():
        known = norms.instrument(name)
        limit, basis = progress.mcid(name, in_unit)
        rows.append(
            {
                "instrument": name,
                "name": known.name if known else name,
                "unit": UNIT_SIGN.get(in_unit, in_unit),
                "scores": ", ".join(f"{_with_unit(p.value, in_unit)} ({p.date})" for p in points),
                "mcid": basis.removeprefix("MCID ") if limit is not None else "not established",
                "better": ("lower" if known.lower_is_better else "higher") if known else "",
            }
        )
    return rows


def charts(c: Course, outcomes: Scores) -> Context:
    before = [(s.data["date"], float(s.data["subjective"]["pain"])) for s in c.visits]
    after = [
        (s.data["date"], float(s.data["response"]["pain"]))
        for s in c.visits
        if "pain" in s.data.get("response", {})
    ]
    pain = line_chart(
        "Current pain per visit (0–10)",
        [Series("before treatment", before), Series("after treatment", after)],
        0,
        10,
        "NRS",
    )
    scores = []
    for name, (in_unit, points) in outcomes.items():
        known = norms.instrument(name)
        values = [(p.date, p.value) for p in points]
        if known is not None and in_unit in known.units:
            low, high = known.units[in_unit]  # NDI kept in percent: 0–100, not 0–50
        else:
            low, high = 0.0, max(v for _, v in values)
        better = "lower" if not known or known.lower_is_better else "higher"
        scores.append(
            line_chart(
                f"{name} score ({better} is better)",
                [Series(name, values)],
                low,
                high,
                "%" if in_unit == "percent" else "score",
            )
        )
    return {"pain": pain, "outcomes": scores}
