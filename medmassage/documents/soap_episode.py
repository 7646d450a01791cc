"""The SOAP note's episode around the visit (CLINICAL.md §1): the referral in effect with
its diagnoses, referring provider and the visit's number under it, the precautions,
contraindications and allergies reviewed, the consent on file and the payer's claim
data. The note's own sections are built in `soap.py`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medmassage.care import episode
from medmassage.chart import Chart, Record, StoreView
from medmassage.documents.common import Context, label, words

PRECAUTION_KINDS = {
    "absolute": "contraindication, no massage",
    "local": "local contraindication",
    "relative": "precaution",
}
INJURY_KINDS = {"auto_pip": "Auto / PIP", "workers_comp": "Workers' compensation"}


def referral_in_effect(
    view: StoreView, chart: Chart, session: Record, referral: Record | None
) -> Context:
    """The referral in effect (that of the visit's plan): its diagnoses, the referring
    provider and the visit's number under it ("visit 5 of 8", care/episode.py)."""
    if referral is None:
        return {"found": False, "id": "", "diagnoses": [], "provider": {}, "visit": ""}
    record = view.get("provider", referral.data["provider"])
    who: Mapping[str, Any] = record.data if record else {}
    numbered = episode.visit_numbers(view, chart).get(session.id)
    number = numbered[1] if numbered and numbered[0].id == referral.id else 0
    return {
        "found": True,
        "id": referral.id,
        "diagnoses": [
            {"code": d["code"], "description": d.get("description", "")}
            for d in referral.data["diagnoses"]
        ],
        "provider": {
            "name": who.get("name", referral.data["provider"]),
            "credentials": who.get("credentials", ""),
            "npi": who.get("npi", "") or "not on file",
        },
        "visit": f"visit {number} of {referral.data['visits_authorized']}" if number else "",
    }


def safety(person: Mapping[str, Any], referral: Record | None) -> Context:
    """Precautions and contraindications (the patient's and the referral's) and allergies,
    as reviewed at the visit."""
    own = [
        f"{p['condition']} ({PRECAUTION_KINDS.get(p['kind'], p['kind'])}"
        f"{': ' + words(p['regions']) if p.get('regions') else ''})"
        f"{': ' + p['notes'] if p.get('notes') else ''}"
        for p in person.get("precautions") or []
    ]
    allergies = [
        f"{a['substance']}{': ' + a['reaction'] if a.get('reaction') else ''}"
        f"{' (' + a['severity'] + ')' if a.get('severity') else ''}"
        for a in person.get("allergies") or []
    ]
    ordered = list(referral.data.get("precautions") or []) if referral else []
    return {"precautions": own, "referral": ordered, "allergies": allergies}


def consent_on_file(person: Mapping[str, Any], data: Mapping[str, Any]) -> Context:
    """Consent on file: to treatment, a guardian's, and the intraoral consent when the
    visit uses intraoral work (a technique or region so named; signed by that day)."""
    given, day = person.get("consent") or {}, str(data["date"])
    guardian = given.get("guardian")
    named = [t["technique"] for t in data["treatment"]] + [
        r for t in data["treatment"] for r in t["regions"]
    ]
    signed = sorted(
        str(c["date"])
        for c in given.get("techniques") or []
        if c["kind"] == "intraoral" and str(c["date"]) <= day
    )
    intraoral = (
        (f"signed {signed[0]}" if signed else "NOT ON FILE")
        if any("intraoral" in name for name in named)
        else ""
    )
    return {
        "treatment": f"signed {given['treatment']}" if given.get("treatment") else "NOT ON FILE",
        "guardian": guardian
        and f"{guardian['name']} ({guardian['relationship']}), signed {guardian['date']}",
        "intraoral": intraoral,
    }


def claim_data(person: Mapping[str, Any]) -> Context | None:
    """The payer's claim data when the visit is billed on a claim (auto/PIP, workers'
    comp: the patient's insurance has a claim number); else None."""
    cover = person.get("insurance") or {}
    if not cover.get("claim_number"):
        return None
    keys = ("payer", "member_id", "claim_number", "date_of_injury", "adjuster")
    found = {key: str(cover.get(key, "")) for key in keys}
    return dict(found, kind=INJURY_KINDS.get(cover["kind"], label(cover["kind"])))
