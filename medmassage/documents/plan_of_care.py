"""The plan of care: one per treatment plan, for the physician to certify (MBPM
§220.1.2-220.1.3; CLINICAL.md §1): diagnoses, measurable goals by term with due dates,
techniques and regions, minutes per visit, frequency x duration, home program,
re-assessment interval and the certification block. A technique or region the referral
does not list is flagged as needing the physician's agreement (the check of
`rules.episode.check_plan_within_referral`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from medmassage.care import norms
from medmassage.chart import Chart, Record, StoreView
from medmassage.documents.common import (
    Context,
    address_lines,
    label,
    measure_label,
    normal_label,
    num,
    patient,
    practice,
    therapist,
)
from medmassage.documents.shape import Choice, Document, Facts, Period, Target
from medmassage.rules.episode import check_plan_within_referral
from medmassage.store import SETTINGS_FILE, Entry, record_rel


def outside_referral(view: StoreView, plan: Record) -> dict[str, set[int]]:
    """The positions of the plan's techniques and regions its referral does not list
    (by field), as the rule finds them."""
    found: dict[str, set[int]] = {"techniques": set(), "regions": set()}
    for finding in check_plan_within_referral(view, [plan]):
        field, index = finding.path[0], finding.path[1]
        if isinstance(field, str) and isinstance(index, int):
            found.setdefault(field, set()).add(index)
    return found


def _items(plan: Record, field: str, flagged: set[int]) -> list[Context]:
    return [
        {"name": label(item), "outside": i in flagged} for i, item in enumerate(plan.data[field])
    ]


def _goals(plan: Record, table: str, term: str) -> list[Context]:
    return [
        {
            "id": g["id"],
            "description": g["description"],
            "measure": measure_label(g),
            "normal": normal_label(g, table),
            "baseline": num(g["baseline"]),
            "target": num(g["target"]),
            "due": g["due"],
        }
        for g in plan.data["goals"]
        if g["term"] == term
    ]


def _provider(view: StoreView, provider_id: str) -> Context:
    record = view.get("provider", provider_id)
    data: dict[str, Any] = record.data if record else {"name": provider_id, "credentials": ""}
    return {
        "id": provider_id,
        "name": data["name"],
        "credentials": data["credentials"],
        "npi": data.get("npi", ""),
        "organization": data.get("organization", ""),
        "fax": data.get("fax", ""),
        "address": address_lines(data.get("address")),
    }


def _certification(view: StoreView, plan: Record) -> Context:
    signed = plan.data.get("certification")
    if not signed:
        return {"certified": False, "by": "", "date": "", "received": ""}
    who = _provider(view, signed["by"])
    return {
        "certified": True,
        "by": f"{who['name']}, {who['credentials']}".rstrip(", "),
        "date": signed["date"],
        "received": signed.get("received", ""),
    }


def plan_context(view: StoreView, chart: Chart, plan: Record) -> Context:
    """Everything a plan of care shows, for one schema-valid plan."""
    data = plan.data
    referral = view.get("referral", data["referral"], chart.patient_id)
    ref = referral.data if referral else {}
    flagged = outside_referral(view, plan)
    table = str(view.setting("norms", default=norms.DEFAULT_TABLE) or norms.DEFAULT_TABLE)
    per_week = data["sessions_per_week"]
    techniques = _items(plan, "techniques", flagged["techniques"])
    regions = _items(plan, "regions", flagged["regions"])
    return {
        "practice": practice(view),
        "patient": patient(chart),
        "therapist": therapist(view, data["therapist"]),
        "provider": _provider(view, ref.get("provider", "")),
        "plan": {
            "id": plan.id,
            "date": data["date"],
            "status": label(data["status"]),
            "assessment": data["assessment"],
            "minutes": data["session_minutes"],
            "per_week": num(per_week),
            "weeks": data["weeks"],
            "visits": data["visits"],
            "frequency": f"{num(per_week)} visit{'' if per_week == 1 else 's'} a week for "
            f"{data['weeks']} weeks ({data['visits']} visits)",
            "reassess_every": data.get("reassess_every", ""),
            "notes": data.get("notes", ""),
        },
        "referral": {
            "id": referral.id if referral else data["referral"],
            "date": ref.get("date", ""),
            "precautions": list(ref.get("precautions", [])),
        },
        "diagnoses": [
            {"code": d["code"], "description": d["description"]} for d in ref.get("diagnoses", [])
        ],
        "long_goals": _goals(plan, table, "long"),
        "short_goals": _goals(plan, table, "short"),
        "techniques": techniques,
        "regions": regions,
        "outside": [i["name"] for i in [*techniques, *regions] if i["outside"]],
        "home_care": list(data.get("home_care", [])),
        "certification": _certification(view, plan),
        "norms": norms.reference(table),
    }


# -- the document's shape (see documents.shape) -------------------------------------------


def read_facts(view: StoreView, chart: Chart, target: Target) -> Facts:
    """The plan's date, which --since/--until select on."""
    record = chart.of("plan").get(target.session)
    day = record.data.get("date") if record else None
    return {"date": day if isinstance(day, str) else None}


def select(facts: Facts, named: bool, period: Period) -> Choice:
    """Plans written within --since/--until (an undated one is kept: its errors are shown)."""
    day = facts.get("date")
    if not isinstance(day, str) or named:
        return "render"
    return "render" if period.holds(day) else "skip"


def holds(
    view: StoreView, chart: Chart, target: Target, folder: Sequence[Entry], period: Period
) -> set[str]:
    """The plan, the patient, the settings and (when the plan is valid) its referral, the
    referring and certifying providers and the plan's therapist."""
    files = {
        record_rel("plan", target.session, target.patient),
        record_rel("patient", target.patient),
        SETTINGS_FILE,
    }
    plan = chart.of("plan").get(target.session)
    if plan is None or not plan.valid:
        return files
    files.add(record_rel("referral", plan.data["referral"], target.patient))
    files.add(record_rel("therapist", plan.data["therapist"]))
    referral = view.get("referral", plan.data["referral"], target.patient)
    if referral is not None:
        files.add(record_rel("provider", referral.data["provider"]))
    certified = plan.data.get("certification")
    if certified:
        files.add(record_rel("provider", certified["by"]))
    return files


def build(view: StoreView, chart: Chart, target: Target, period: Period) -> tuple[str, Context]:
    """The plan of care of one schema-valid plan, named by the plan id."""
    return target.session, plan_context(view, chart, chart.of("plan")[target.session])


DOCUMENT = Document(
    name="plan-of-care",
    title="plan of care",
    per="plan",
    sources=("settings", "patient", "plan", "referral", "provider", "therapist"),
    facts=("date",),
    read_facts=read_facts,
    select=select,
    holds=holds,
    reads=("referral",),  # a new one may come to be the plan's
    build=build,
)
