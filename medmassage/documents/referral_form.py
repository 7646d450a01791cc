"""The referral form: the page a physician completes to refer a patient for medical
massage, or to renew a referral (CLINICAL.md §1, plan of care: diagnoses; type,
frequency and duration; precautions; the update cadence; the physician's signature).
One per patient, prefilled from the patient's current referral and the plan in effect
(what the practice proposes); every field keeps a line to confirm or change it. A
patient with no referral gets the form with blank lines: that is the blank form."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from medmassage.care import episode
from medmassage.chart import Chart, Record, StoreView
from medmassage.documents.common import Context, label, patient, practice, words
from medmassage.documents.shape import Choice, Document, Facts, Period, Target
from medmassage.store import SETTINGS_FILE, Entry, record_rel


def _proposal(referral: Record | None, plan: Record | None) -> Context:
    """What the practice proposes: the plan in effect, else the referral as written."""
    ref: Mapping[str, Any] = referral.data if referral else {}
    source: Mapping[str, Any] = plan.data if plan else {}
    per_week = source.get("sessions_per_week", ref.get("frequency_per_week", ""))
    weeks = source.get("weeks", ref.get("duration_weeks", ""))
    updates = ref.get("updates") or {}
    return {
        "per_week": per_week,
        "weeks": weeks,
        "visits": source.get("visits", ref.get("visits_authorized", "")),
        "minutes": source.get("session_minutes", ""),
        "techniques": [label(t) for t in source.get("techniques", ref.get("techniques", []))],
        "regions": words(list(source.get("regions", ref.get("regions", [])))),
        "update_weeks": updates.get("every_weeks", ""),
        "update_via": str(updates.get("via", "")).replace("_", " "),
    }


def _precautions(chart: Chart, referral: Record | None) -> list[str]:
    """The referral's precautions, then the patient's (condition and what to do)."""
    written = referral.data.get("precautions", []) if referral else []
    found = [" ".join(str(p).split()) for p in written]
    assert chart.patient is not None
    for entry in chart.patient.data.get("precautions") or []:
        what = entry.get("condition") or entry.get("description") or ""
        found.append(" ".join(str(what).split()))
    allergies = [a["substance"] for a in chart.patient.data.get("allergies") or []]
    if allergies:
        found.append("Allergies: " + ", ".join(allergies))
    return [p for p in found if p]


def form_context(view: StoreView, chart: Chart) -> Context:
    """Everything the form shows for one patient (blank lines where nothing is known)."""
    referral = episode.current_referral(view, chart)
    plan = episode.active_plan(view, chart, referral, [], "9999-12-31") if referral else None
    provider = view.get("provider", referral.data["provider"]) if referral else None
    doctor: Mapping[str, Any] = provider.data if provider else {}
    return {
        "practice": practice(view),
        "patient": patient(chart),
        "referral": referral.id if referral else "",
        "diagnoses": [
            {"code": d["code"], "description": d.get("description", "")}
            for d in (referral.data["diagnoses"] if referral else [])
        ],
        "proposal": _proposal(referral, plan),
        "precautions": _precautions(chart, referral),
        "doctor": {
            "name": doctor.get("name", ""),
            "credentials": doctor.get("credentials", ""),
            "npi": doctor.get("npi", ""),
            "phone": doctor.get("phone", ""),
            "fax": doctor.get("fax", ""),
        },
    }


# -- the document's shape (see documents.shape) -------------------------------------------


def read_facts(view: StoreView, chart: Chart, target: Target) -> Facts:
    """The patient's status (--all chooses by it)."""
    status = chart.patient.data.get("status") if chart.patient else None
    return {"status": status if isinstance(status, str) else None}


def select(facts: Facts, named: bool, period: Period) -> Choice:
    """Every patient asked for."""
    return "render"


def holds(
    view: StoreView, chart: Chart, target: Target, folder: Sequence[Entry], period: Period
) -> set[str]:
    """The settings, the patient, its referrals, plans and visits, and the provider."""
    wanted = ("referral", "plan", "session")
    files = {SETTINGS_FILE, record_rel("patient", target.patient)}
    files.update(e.rel for e in folder if e.kind in wanted)
    if chart.patient is not None and chart.patient.valid:
        referral = episode.current_referral(view, chart)
        if referral is not None:
            files.add(record_rel("provider", referral.data["provider"]))
    return files


def build(view: StoreView, chart: Chart, target: Target, period: Period) -> tuple[str, Context]:
    """The form for one patient, named 'referral' in the output name."""
    return "referral", form_context(view, chart)


DOCUMENT = Document(
    name="referral-form",
    title="referral form",
    per="patient",
    sources=("settings", "patient", "referral", "plan", "session", "provider"),
    facts=("status",),
    read_facts=read_facts,
    select=select,
    holds=holds,
    reads=("referral", "plan", "session"),  # any may change the current referral
    build=build,
)
