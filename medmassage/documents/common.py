"""Context builders: records in, plain data for templates out (dicts, lists, strings
and numbers only, already in words). Shared pieces (practice, people, labels) and
the SOAP note live here; the physician update is in `physician_update.py`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medmassage.care import norms
from medmassage.chart import Chart, Record, StoreView

Context = dict[str, Any]
PAIN_WORDS = "0–10 NRS"
HOME_CARE = {
    "full": "did all of it",
    "partial": "did some of it",
    "none": "did none of it",
    "not_assigned": "none assigned",
}


def label(word: str) -> str:
    """A vocabulary word as people write it: 'trigger_point_therapy' -> 'Trigger point therapy'."""
    text = word.replace("_", " ")
    return text[:1].upper() + text[1:]


def words(items: list[str]) -> str:
    """A list of vocabulary words in lower case: ['neck', 'upper_back'] -> 'neck, upper back'."""
    return ", ".join(item.replace("_", " ") for item in items)


def num(value: float | None) -> str:
    """A number without a useless '.0'; '—' when there is none."""
    if value is None:
        return "—"
    return f"{value:g}" if isinstance(value, float) else str(value)


def when(stamp: str) -> str:
    """An ISO date-time for reading: '2026-03-05T16:05:00-05:00' -> '2026-03-05 16:05 (UTC-05:00)'."""
    day, _, rest = stamp.partition("T")
    if not rest:
        return day
    clock, zone = rest[:5], rest[8:].lstrip(".0123456789")
    return f"{day} {clock} (UTC{zone if zone != 'Z' else ''})" if zone else f"{day} {clock}"


def address_lines(address: Mapping[str, Any] | None) -> list[str]:
    """A postal address as the lines of an envelope."""
    if not address:
        return []
    town = address["city"] + (f", {address['state']}" if address.get("state") else "")
    town += f" {address['postal_code']}" if address.get("postal_code") else ""
    return [address["street"], town] + ([address["country"]] if address.get("country") else [])


def practice(view: StoreView) -> Context:
    """The letterhead: the practice from medmassage.yaml."""
    data = view.setting("practice", default={}) or {}
    return {
        "name": data.get("name", ""),
        "address": address_lines(data.get("address")),
        "phone": data.get("phone", ""),
        "fax": data.get("fax", ""),
        "email": data.get("email", ""),
        "npi": data.get("npi", ""),
    }


def therapist(view: StoreView, therapist_id: str) -> Context:
    """Name, credentials and license of a therapist (for headers and signature blocks)."""
    record = view.get("therapist", therapist_id)
    data: dict[str, Any] = (
        record.data if record else {"name": therapist_id, "credentials": "", "license": {}}
    )
    licence = data.get("license", {})
    return {
        "id": therapist_id,
        "name": data["name"],
        "credentials": data["credentials"],
        "license": licence.get("number", ""),
        "jurisdiction": licence.get("jurisdiction", ""),
        "npi": data.get("npi", ""),
    }


def patient(chart: Chart) -> Context:
    """Who the document is about: name, date of birth and chart id."""
    assert chart.patient is not None
    data = chart.patient.data
    name = data["name"]
    return {
        "id": chart.patient_id,
        "name": f"{name['given']} {name['family']}",
        "preferred": name.get("preferred", ""),
        "date_of_birth": data["date_of_birth"],
        "status": label(data["status"]),
    }


def _rom(entries: list[Mapping[str, Any]]) -> list[Context]:
    return [
        {
            "joint": label(e["joint"]),
            "movement": e["movement"].replace("_", " "),
            "side": e["side"],
            "degrees": num(e["degrees"]),
            "normal": norms.normal_rom(e["joint"], e["movement"]) or "not listed",
            "painful": "painful" if e.get("painful") else "",
            "notes": e.get("notes", ""),
        }
        for e in entries
    ]


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


def soap_context(view: StoreView, chart: Chart, session: Record) -> Context:
    """Everything a SOAP note shows, for one schema-valid session."""
    data = session.data
    plan = view.get("plan", data["treatment_plan"], chart.patient_id)
    subjective, response = data["subjective"], data.get("response", {})
    objective, next_steps = data.get("objective", {}), data.get("plan", {})
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
        "subjective": {
            "report": subjective["report"],
            "pain": subjective["pain"],
            "since_last": subjective.get("since_last", ""),
            "home_care": HOME_CARE.get(subjective.get("home_care_done", ""), "not recorded"),
        },
        "objective": {
            "findings": objective.get("findings", ""),
            "rom": _rom(objective.get("range_of_motion", [])),
            "palpation": _palpation(objective.get("palpation", [])),
        },
        "treatment": _treatment(data["treatment"]),
        "treatment_minutes": sum(t["minutes"] for t in data["treatment"]),
        "response": {
            "pain_before": subjective["pain"],
            "pain_after": num(response.get("pain")),
            "feedback": response.get("feedback", ""),
            "adverse": response.get("adverse", "") or "none recorded",
        },
        "assessment": {
            "summary": data.get("assessment", {}).get("summary", ""),
            "goals": _goals(data, plan),
        },
        "plan": {
            "next_visit": next_steps.get("next_visit", ""),
            "home_care": list(next_steps.get("home_care", [])),
            "notes": next_steps.get("notes", ""),
        },
        "billing": [
            {
                "code": c["code"],
                "units": c["units"],
                "modifier": c.get("modifier", ""),
                "label": c["code"]
                + (f"-{c['modifier']}" if c.get("modifier") else "")
                + f" × {c['units']}",
            }
            for c in data.get("billing", {}).get("codes", [])
        ],
        "signature": _signature(view, data),
        "addenda": [_addendum(view, r) for r in addenda(view, chart, session.id)],
        "pain_scale": PAIN_WORDS,
    }
