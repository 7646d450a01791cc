"""The progress report: one per re-assessment (an assessment that is not the initial one),
set beside the initial assessment of its referral: pain (each kind), range of motion with
its normal range and the table it comes from, palpation, function and outcome scores, each
change judged in the measure's own unit (MBPM §220.3D; CLINICAL.md §1 and §3). Every verdict
comes from `care.outcomes`; this module only puts the figures side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from medmassage.care import episode, norms
from medmassage.care import outcomes as progress
from medmassage.care.episode import Course, course
from medmassage.chart import Chart, Record, StoreView
from medmassage.documents import physician_update, update_measures
from medmassage.documents.common import (
    UNIT_SIGN,
    Context,
    label,
    measure_label,
    normal_label,
    num,
    patient,
    practice,
    therapist,
)
from medmassage.documents.shape import Choice, Document, Facts, Period, Target
from medmassage.store import Entry, record_rel

INITIAL_ONLY = "no progress report, an initial assessment has nothing to compare with"
Data = Mapping[str, Any]


def initial_of(chart: Chart, assessment: Record) -> Record | None:
    """The initial assessment a re-assessment is compared with: the latest initial one of
    the same referral on or before it (None: there is none)."""
    referral = assessment.data.get("referral")
    found = [
        a
        for a in chart.sorted("assessment")
        if a.data["kind"] == "initial"
        and a.data["date"] <= assessment.data["date"]
        and a.id != assessment.id
        and (referral is None or a.data.get("referral", referral) == referral)
    ]
    return found[-1] if found else None


def _verdict(
    measure: Data, before: float | None, after: float | None, days: tuple[str, str]
) -> Context:
    """Initial and re-assessment values of one measure, the change and care's verdict on it
    (`outcomes.assess_goal` on the pair: the threshold of the measure's own unit)."""
    if before is None or after is None:
        return {
            "before": num(before),
            "after": num(after),
            "change": "—",
            "verdict": "not compared",
        }
    goal = {"id": "", "measure": dict(measure), "baseline": before, "target": before}
    judged = progress.assess_goal(goal, [progress.Point(days[1], after)], None, days[0])
    change = judged.change
    return {
        "before": num(before),
        "after": num(after),
        "change": "—" if change is None else (f"{change:+g}" if change else "0"),
        "verdict": judged.judgement,
    }


def _pain(first: Data, second: Data, days: tuple[str, str]) -> list[Context]:
    rows = []
    for kind in progress.PAIN_KINDS:
        before, after = first.get("pain", {}).get(kind), second.get("pain", {}).get(kind)
        if before is None and after is None:
            continue
        measure = {"kind": "pain", "pain": kind}
        rows.append(
            {
                "measure": measure_label({"measure": measure}),
                **_verdict(measure, before, after, days),
            }
        )
    return rows


def _rom_key(entry: Data) -> tuple[str, str, str, str]:
    unit = "mm" if norms.is_millimetres(str(entry.get("unit", ""))) else "degrees"
    return (entry["joint"], entry["movement"], entry["side"], unit)


def _rom(first: Data, second: Data, days: tuple[str, str], table: str) -> list[Context]:
    before = {_rom_key(e): e for e in first.get("range_of_motion", [])}
    after = {_rom_key(e): e for e in second.get("range_of_motion", [])}
    rows = []
    for key in [*before, *(k for k in after if k not in before)]:
        joint, movement, side, unit = key
        measure = {"kind": "range_of_motion", "joint": joint, "movement": movement}
        measure.update(side=side, unit=unit)
        goal = {"measure": measure}
        old, new = before.get(key, {}), after.get(key, {})
        painful = [when for when, e in (("initial", old), ("now", new)) if e.get("painful")]
        rows.append(
            {
                "measure": measure_label(goal),
                "normal": (unit == "degrees" and norms.normal_rom(joint, movement, table))
                or "not listed",
                "painful": " and ".join(painful),
                **_verdict(measure, old.get("degrees"), new.get("degrees"), days),
            }
        )
    return rows


def palpation(data: Data) -> list[Context]:
    """An assessment's palpation findings in words."""
    return [
        {
            "where": e.get("muscle") or label(e["region"]),
            "side": e["side"],
            "finding": e["finding"].replace("_", " "),
            "notes": e.get("notes", ""),
        }
        for e in data.get("palpation", [])
    ]


def _outcomes(
    plan: Record | None, first: Data, second: Data, days: tuple[str, str]
) -> list[Context]:
    goals = plan.data["goals"] if plan else []
    rows = []
    for name, (in_unit, points) in progress.outcome_scores(goals, [], [first, second]).items():
        by_day = {p.date: p.value for p in points}
        limit, basis = progress.mcid(name, in_unit)
        known = norms.instrument(name)
        measure = {"kind": "outcome_measure", "instrument": name, "unit": in_unit}
        rows.append(
            {
                "instrument": name,
                "name": known.name if known else name,
                "unit": UNIT_SIGN.get(in_unit, in_unit),
                "mcid": basis.removeprefix("MCID ") if limit is not None else "not established",
                "better": ("lower" if known.lower_is_better else "higher") if known else "",
                **_verdict(measure, by_day.get(days[0]), by_day.get(days[1]), days),
            }
        )
    return rows


def goal_rows(c: Course, table: str) -> list[Context]:
    """Each plan goal of the course judged by care (`update_measures.goal_progress`):
    term, due date, baseline, latest (marked unsigned when from an unsigned note), target."""
    unsigned = episode.unsigned_days(c)
    rows = []
    for g in update_measures.goal_progress(c):
        goal = g.goal
        rows.append(
            {
                "id": goal["id"],
                "description": goal["description"],
                "term": goal["term"],
                "due": goal["due"],
                "measure": measure_label(goal),
                "normal": normal_label(goal, table),
                "baseline": num(goal["baseline"]),
                "target": num(goal["target"]),
                "latest": num(g.latest.value) if g.latest else "—",
                "latest_date": g.latest.date if g.latest else "",
                "unsigned": bool(g.latest and g.latest.date in unsigned),
                "status": g.status,
                "judgement": g.judgement,
            }
        )
    return rows


def _side(record: Record | None) -> Context:
    data = record.data if record else {}
    return {
        "id": record.id if record else "",
        "date": data.get("date", ""),
        "kind": label(data.get("kind", "")),
        "complaint": data.get("chief_complaint", ""),
        "function": data.get("function", ""),
        "palpation": palpation(data),
        "notes": data.get("notes", ""),
    }


def comparison(
    view: StoreView, first: Record | None, second: Record, plan: Record | None
) -> Context:
    """The measures of two assessments side by side, each change judged in its own unit."""
    table = str(view.setting("norms", default=norms.DEFAULT_TABLE) or norms.DEFAULT_TABLE)
    old: Data = first.data if first else {}
    days = (str(old.get("date", "")), str(second.data["date"]))
    return {
        "initial": _side(first),
        "current": _side(second),
        "pain": _pain(old, second.data, days),
        "rom": _rom(old, second.data, days, table),
        "outcomes": _outcomes(plan, old, second.data, days),
        "norms": norms.reference(table),
    }


def header(view: StoreView, chart: Chart, c: Course) -> Context:
    """Practice, patient, referring provider and the referral's diagnoses and visits."""
    data = c.referral.data
    provider = view.get("provider", data["provider"])
    who = provider.data if provider else {"name": data["provider"], "credentials": ""}
    return {
        "practice": practice(view),
        "patient": patient(chart),
        "provider": {"name": who["name"], "credentials": who["credentials"]},
        "referral": {
            "id": c.referral.id,
            "date": data["date"],
            "diagnoses": [
                {"code": d["code"], "description": d["description"]} for d in data["diagnoses"]
            ],
            "visits_authorized": data["visits_authorized"],
            "visits_used": len(c.visits),
        },
    }


def report_context(view: StoreView, chart: Chart, assessment: Record) -> Context:
    """Everything a progress report shows, for one schema-valid re-assessment."""
    c = course(view, chart, None, assessment.data["date"])
    first = initial_of(chart, assessment)
    table = str(view.setting("norms", default=norms.DEFAULT_TABLE) or norms.DEFAULT_TABLE)
    return {
        **header(view, chart, c),
        "report": {"id": assessment.id, "date": assessment.data["date"]},
        "comparison": comparison(view, first, assessment, c.plan),
        "goals": goal_rows(c, table),
        "therapist": therapist(view, assessment.data["therapist"]),
    }


# -- the document's shape (see documents.shape) -------------------------------------------


def read_facts(view: StoreView, chart: Chart, target: Target) -> Facts:
    """The assessment's kind (an initial one gets no report) and date (--since/--until)."""
    record = chart.of("assessment").get(target.session)
    kind = record.data.get("kind") if record else None
    day = record.data.get("date") if record else None
    return {
        "kind": kind if isinstance(kind, str) else None,
        "date": day if isinstance(day, str) else None,
    }


def select(facts: Facts, named: bool, period: Period) -> Choice:
    """Re-assessments within --since/--until; an initial assessment named gets the notice,
    one found by --all is left out quietly."""
    if facts.get("kind") == "initial":
        return "withhold" if named else "skip"
    day = facts.get("date")
    outside = isinstance(day, str) and (
        (period.since is not None and day < period.since)
        or (period.until is not None and day > period.until)
    )
    return "skip" if outside and not named else "render"


def holds(
    view: StoreView, chart: Chart, target: Target, folder: Sequence[Entry], period: Period
) -> set[str]:
    """What a physician update up to the re-assessment draws on, and the assessment itself
    with its therapist."""
    record = chart.of("assessment").get(target.session)
    day = record.data.get("date") if record and record.valid else None
    until = Period(until=day) if isinstance(day, str) else period
    files = physician_update.holds(view, chart, target, folder, until)
    files.add(record_rel("assessment", target.session, target.patient))
    if record is not None and record.valid:
        files.add(record_rel("therapist", record.data["therapist"]))
    return files


def build(view: StoreView, chart: Chart, target: Target, period: Period) -> tuple[str, Context]:
    """The report of one re-assessment, named by the assessment id."""
    return target.session, report_context(view, chart, chart.of("assessment")[target.session])


DOCUMENT = Document(
    name="progress-report",
    title="progress report",
    per="assessment",
    sources=(*physician_update.SOURCES, "provider", "therapist"),
    facts=("kind", "date"),
    read_facts=read_facts,
    select=select,
    holds=holds,
    reads=physician_update.READS,
    build=build,
    notice=INITIAL_ONLY,
)
