"""The SOAP note: one per visit (session), with the addenda written about it since. Its
sections are built here; the episode around the visit (referral, visit number, safety,
consent, claim data) in `soap_episode.py`."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from medmassage.care import billing, episode, norms
from medmassage.chart import Chart, Record, StoreView
from medmassage.documents import soap_episode
from medmassage.documents.common import (
    Context,
    label,
    num,
    patient,
    practice,
    therapist,
    when,
    words,
)
from medmassage.documents.shape import Choice, Document, Facts, Period, Target
from medmassage.store import SETTINGS_FILE, Entry, record_rel

PAIN_WORDS = "0–10 NRS"
HOME_CARE = {
    "full": "did all of it",
    "partial": "did some of it",
    "none": "did none of it",
    "not_assigned": "none assigned",
}


def _rom(entries: list[Mapping[str, Any]], table: str) -> list[Context]:
    """Range-of-motion rows, each with the normal range of the store's table (care/norms)."""
    return [
        {
            "joint": label(e["joint"]),
            "movement": e["movement"].replace("_", " "),
            "side": e["side"],
            "degrees": num(e["degrees"]),
            "normal": norms.normal_rom(e["joint"], e["movement"], table) or "not listed",
            "painful": "painful" if e.get("painful") else "",
            "notes": e.get("notes", ""),
        }
        for e in entries
    ]


def _table(view: StoreView) -> str:
    """The store's table of normal ranges (`norms:` in medmassage.yaml, default AAOS)."""
    return str(view.setting("norms", default=norms.DEFAULT_TABLE) or norms.DEFAULT_TABLE)


def _palpation(entries: list[Mapping[str, Any]]) -> list[Context]:
    return [
        {
            "where": e.get("muscle") or e["region"].replace("_", " "),
            "region": e["region"].replace("_", " "),
            "side": e["side"],
            "finding": e["finding"].replace("_", " "),
            "notes": e.get("notes", ""),
        }
        for e in entries
    ]


def _treatment(items: list[Mapping[str, Any]]) -> list[Context]:
    return [
        {
            "technique": label(t["technique"]),
            "regions": words(t["regions"]),
            "side": t["side"],
            "minutes": t["minutes"],
            "pressure": t.get("pressure", "").replace("_", " ") or "—",
        }
        for t in items
    ]


def _goals(session: Mapping[str, Any], plan: Record | None) -> list[Context]:
    defined = {g["id"]: g for g in plan.data["goals"]} if plan else {}
    rows = []
    for entry in session.get("assessment", {}).get("goals", []):
        goal = defined.get(entry["goal"], {})
        unit = goal.get("measure", {}).get("unit", "")
        rows.append(
            {
                "id": entry["goal"],
                "description": goal.get("description", ""),
                "progress": entry["progress"].replace("_", " "),
                "value": num(entry.get("value")) if "value" in entry else "",
                "target": num(goal.get("target")) if goal else "",
                "unit": unit,
                "note": entry.get("note", ""),
            }
        )
    return rows


def _signature(view: StoreView, data: Mapping[str, Any]) -> Context:
    signed = data.get("signature")
    if not signed:
        return {"signed": False, "by": "", "credentials": "", "at": "", "sha256": ""}
    who = therapist(view, signed["by"])
    return {
        "signed": True,
        "by": who["name"],
        "credentials": who["credentials"],
        "at": when(signed["at"]),
        "sha256": signed["sha256"],
    }


def addenda(view: StoreView, chart: Chart, session_id: str) -> list[Record]:
    """The valid addenda that refer to a session, oldest first."""
    found = [
        r for r in chart.of("addendum").values() if r.valid and r.data["refers_to"] == session_id
    ]
    return sorted(found, key=lambda r: (r.data["written_at"], r.id))


def _addendum(view: StoreView, record: Record) -> Context:
    data = record.data
    return {
        "id": record.id,
        "kind": label(data["kind"]),
        "written_at": when(data["written_at"]),
        "author": therapist(view, data["author"])["name"],
        "reason": data["reason"],
        "text": data["text"],
        "signed": bool(data.get("signature")),
    }


# Read whole: every addendum (any may come to refer to the visit), and every visit with
# its plan and referral (the visit's number counts the visits before it under its referral).
READS = ("patient", "session", "plan", "referral", "addendum")
SOURCES = ("settings", "patient", "session", "plan", "referral", "provider", "therapist")
METHOD_WORDS = {"cms": "CMS 8-minute rule", "per_code": "8-minute rule per code"}


def _billing_line(code: str, units: int, minutes: int | None, modifier: str = "") -> Context:
    """One billing line: code, units, minutes of that code at the visit (None: untimed)."""
    spent = "untimed" if minutes is None else f"{minutes} min"
    spent += "" if units or minutes is None else ", no unit"
    billed = f" × {units}" if units else ""
    return {
        "code": code,
        "units": units,
        "modifier": modifier,
        "minutes": minutes,
        "label": f"{code}{f'-{modifier}' if modifier else ''}{billed} ({spent})",
    }


def _billing(view: StoreView, data: Mapping[str, Any]) -> Context:
    """The note's billing lines with the minutes of each code (CLINICAL.md §2), then any
    code with timed minutes the note does not bill (no unit); when the note bills
    nothing, the lines computed from its treatment, marked computed."""
    settings = billing.billing_settings(view.setting("billing"))
    computed = billing.billing_lines(data, settings)
    minutes = {line.code: line.minutes for line in computed}
    codes = (data.get("billing") or {}).get("codes") or []
    lines = [
        _billing_line(
            c["code"],
            c["units"],
            minutes.get(c["code"], 0) if billing.is_timed(c["code"]) else None,
            c.get("modifier", ""),
        )
        for c in codes
    ]
    billed = {c["code"] for c in codes}
    # every code with timed minutes is shown: one the note does not bill, with no unit
    lines += [
        _billing_line(line.code, line.units if not codes else 0, line.minutes)
        for line in computed
        if line.code not in billed
    ]
    return {
        "lines": lines,
        "computed": not codes,
        "method": METHOD_WORDS.get(settings.units, settings.units),
        "timed_minutes": sum(line.minutes for line in computed),
    }


def _subjective(subjective: Mapping[str, Any]) -> Context:
    """S: what the patient reports, pain before treatment and home care done."""
    done = subjective.get("home_care_done", "")
    return {
        "report": subjective["report"],
        "pain": subjective["pain"],
        "since_last": subjective.get("since_last", ""),
        "home_care": HOME_CARE.get(done, "not recorded"),
    }


def _objective(view: StoreView, objective: Mapping[str, Any]) -> Context:
    """O: the therapist's findings, range of motion against the norms, palpation."""
    return {
        "findings": objective.get("findings", ""),
        "rom": _rom(objective.get("range_of_motion", []), _table(view)),
        "norms": norms.reference(_table(view)),
        "palpation": _palpation(objective.get("palpation", [])),
    }


def _response(data: Mapping[str, Any]) -> Context:
    """The response to treatment: pain before and after, feedback, adverse events."""
    response = data.get("response", {})
    return {
        "pain_before": data["subjective"]["pain"],
        "pain_after": num(response.get("pain")),
        "feedback": response.get("feedback", ""),
        "adverse": response.get("adverse", "") or "none recorded",
    }


def soap_context(view: StoreView, chart: Chart, session: Record) -> Context:
    """Everything a SOAP note shows, for one schema-valid session."""
    data = session.data
    plan = episode.plan_of(view, chart, session)
    referral = episode.referral_of(view, chart, plan) if plan is not None else None
    assert chart.patient is not None
    person = chart.patient.data
    next_steps = data.get("plan", {})
    return {
        "practice": practice(view),
        "patient": patient(chart),
        "therapist": therapist(view, data["therapist"]),
        "session": {
            "id": session.id,
            "date": data["date"],
            "time": data.get("time", ""),
            "duration": data["duration_minutes"],
            "plan": data["treatment_plan"],
            "late": bool(data.get("late")),
        },
        "referral": soap_episode.referral_in_effect(view, chart, session, referral),
        "safety": soap_episode.safety(person, referral),
        "consent": soap_episode.consent_on_file(person, data),
        "claim": soap_episode.claim_data(person),
        "subjective": _subjective(data["subjective"]),
        "objective": _objective(view, data.get("objective", {})),
        "treatment": _treatment(data["treatment"]),
        "treatment_minutes": sum(t["minutes"] for t in data["treatment"]),
        "response": _response(data),
        "assessment": {
            "summary": data.get("assessment", {}).get("summary", ""),
            "goals": _goals(data, plan),
        },
        "plan": {
            "next_visit": next_steps.get("next_visit", ""),
            "home_care": list(next_steps.get("home_care", [])),
            "notes": next_steps.get("notes", ""),
        },
        "billing": _billing(view, data),
        "signature": _signature(view, data),
        "addenda": [_addendum(view, r) for r in addenda(view, chart, session.id)],
        "pain_scale": PAIN_WORDS,
    }


# -- the document's shape (see documents.shape) -------------------------------------------


def read_facts(view: StoreView, chart: Chart, target: Target) -> Facts:
    """The visit's date, which --since/--until select on."""
    session = chart.of("session").get(target.session)
    day = session.data.get("date") if session else None
    return {"date": day if isinstance(day, str) else None}


def select(facts: Facts, named: bool, period: Period) -> Choice:
    """Notes of visits within --since/--until; an undated one is kept, so that its
    errors are reported."""
    day = facts.get("date")
    if not isinstance(day, str):
        return "render"
    return "render" if period.holds(day) else "skip"


def holds(
    view: StoreView, chart: Chart, target: Target, folder: Sequence[Entry], period: Period
) -> set[str]:
    """The visit, the patient, the settings, and (when the visit is valid) its plan, the
    referral in effect and its provider, its therapists and the addenda about it with
    their authors."""
    patient_id = target.patient
    files = {
        record_rel("session", target.session, patient_id),
        record_rel("patient", patient_id),
        SETTINGS_FILE,
    }
    session = chart.of("session").get(target.session)
    if session is not None and session.valid:
        files.add(record_rel("plan", session.data["treatment_plan"], patient_id))
        plan = episode.plan_of(view, chart, session)
        if plan is not None:
            files.add(record_rel("referral", plan.data["referral"], patient_id))
            referral = episode.referral_of(view, chart, plan)
            if referral is not None:
                files.add(record_rel("provider", referral.data["provider"]))
        files.update(
            _therapist_file(session.data["therapist"]),
            _therapist_file(session.data.get("signature", {}).get("by")),
        )
        for record in addenda(view, chart, target.session):
            files.update((record.rel, *_therapist_file(record.data["author"])))
    return files


def _therapist_file(therapist_id: object) -> Iterable[str]:
    return [record_rel("therapist", therapist_id)] if isinstance(therapist_id, str) else []


def build(view: StoreView, chart: Chart, target: Target, period: Period) -> tuple[str, Context]:
    """The note of one schema-valid visit, named by the session id."""
    return target.session, soap_context(view, chart, chart.of("session")[target.session])


DOCUMENT = Document(
    name="soap",
    title="SOAP note",
    per="session",
    sources=(*SOURCES, "addendum"),
    facts=("date",),
    read_facts=read_facts,
    select=select,
    holds=holds,
    reads=READS,
    build=build,
)
