"""What every document shows alike: records in, plain data for templates out (dicts,
lists, strings and numbers only, already in words): the practice, the people, labels
and numbers, and whether a patient lets their chart be shared. Each document's own
context is built in its module (`soap.py`, `physician_update.py`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medmassage.care import norms
from medmassage.care import outcomes as progress
from medmassage.chart import Chart, Record, StoreView

Context = dict[str, Any]


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
    """An ISO date-time for reading:
    '2026-03-05T16:05:00-05:00' -> '2026-03-05 16:05 (UTC-05:00)'."""
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


def may_share(patient: Record | None) -> bool:
    """False only when the patient record says no to sharing with providers."""
    consent = patient.data.get("consent") if patient else None
    return not (isinstance(consent, dict) and consent.get("share_with_providers") is False)


_JOINTS = {"tmj": "Jaw (TMJ)"}
UNIT_SIGN = {"percent": "%", "degrees": "°", "mm": "mm", "points": "points"}


def measure_label(goal: Mapping[str, Any]) -> str:
    """A goal's measure in words with its unit: 'Usual pain (0–10 NRS)', 'NDI (%)',
    'Jaw (TMJ) opening, midline (mm)' (which pain and which unit: CLINICAL.md §3)."""
    measure = goal["measure"]
    shown = UNIT_SIGN.get(progress.unit(goal), progress.unit(goal))
    if measure["kind"] == "pain":
        return f"{label(progress.pain_kind(goal))} pain (0–10 NRS)"
    if measure["kind"] == "range_of_motion":
        side = f", {measure['side']}" if measure.get("side") else ""
        movement = str(measure.get("movement", "")).replace("_", " ")
        joint = _JOINTS.get(str(measure.get("joint", "")), label(measure.get("joint", "joint")))
        return f"{joint} {movement}{side} ({shown})"
    if measure["kind"] == "outcome_measure":
        return f"{measure.get('instrument', 'score')} ({shown})"
    return str(measure.get("unit", "other measure"))


def normal_label(goal: Mapping[str, Any], table: str) -> str:
    """'0–60° (AAOS, Norkin & White)' for a degree goal of a listed joint, else ''."""
    measure = goal["measure"]
    if measure["kind"] != "range_of_motion" or progress.unit(goal) != "degrees":
        return ""
    shown = norms.normal_rom(measure.get("joint", ""), measure.get("movement", ""), table)
    return f"{shown} ({norms.reference(table)})" if shown else ""
