"""The visit half of a patient's FHIR R4 bundle (SPEC §10): an Encounter per visit (each
session, assessment and attendance record), a Procedure per treatment line, what was
measured (fhir_observations.py), and the documents and signatures (fhir_documents.py).

The bundle builder (fhir.py) calls `visit_resources` once per patient and adds the
resources it returns, in that order, after its own. Every resource is a plain JSON-able
dict with an `id` from fhir_ids.py; the administrative resources it refers to (Patient,
Practitioner, Organization, ServiceRequest, Condition, CarePlan, Goal) are named through
fhir_ids.py too, so references resolve once both halves are in the bundle. Only records
that passed their schema are exported; the output depends on nothing but the records.

The store records dates without a time zone (medmassage.yaml has no time-zone setting),
and FHIR requires a UTC offset once a time of day is given; an Encounter's period is
therefore its day, and the visit's length is its `length`."""

from __future__ import annotations

from typing import Any

from medmassage.care import billing, episode
from medmassage.chart import Chart, Record, StoreView
from medmassage.export import fhir_ids
from medmassage.export.fhir_documents import documents_of, provenance
from medmassage.export.fhir_observations import measured
from medmassage.export.fhir_terms import (
    ACT_CODE,
    CPT,
    PARTICIPATION,
    Visit,
    body_site,
    coding,
    identifier,
    quantity,
    ref,
    term,
    text_concept,
)

Resource = dict[str, Any]

# Visit records in the order a day's records are listed: the assessment before the
# treatment it led to, a visit that did not happen last.
VISIT_KINDS = ("assessment", "session", "attendance")

_ASSESSMENT_WORDS = {
    "initial": "Initial assessment",
    "reassessment": "Re-assessment",
    "discharge": "Discharge assessment",
}
_ATTENDANCE_WORDS = {"cancelled": "Cancelled visit", "no_show": "Missed visit (no-show)"}


def visit_resources(view: StoreView, chart: Chart, patient_id: str) -> list[Resource]:
    """Every visit resource of one patient's chart, in a fixed order: each visit record by
    date (Encounter, Procedures, Observations and QuestionnaireResponses, its
    DocumentReference and the Provenance of its signature), then each addendum and each
    sent document (DocumentReference, Provenance)."""
    return [r for _, found in resources_by_record(view, chart, patient_id) for r in found]


def resources_by_record(
    view: StoreView, chart: Chart, patient_id: str
) -> list[tuple[Record, list[Resource]]]:
    """`visit_resources` grouped by the record each resource comes from."""
    visits = [r for kind in VISIT_KINDS for r in chart.sorted(kind)]
    visits.sort(key=lambda r: (str(r.data["date"]), VISIT_KINDS.index(r.kind), r.id))
    grouped = [(r, _visit(view, chart, Visit(patient_id, r))) for r in visits]
    addenda = [a for a in chart.of("addendum").values() if a.valid]
    addenda.sort(key=lambda r: (str(r.data["written_at"]), r.id))
    for record in [*addenda, *chart.sorted("update")]:
        visit = Visit(patient_id, record)
        grouped.append((record, _signed(visit, documents_of(view, chart, visit))))
    return grouped


def _visit(view: StoreView, chart: Chart, visit: Visit) -> list[Resource]:
    """The resources of one session, assessment or attendance record."""
    found = [encounter(view, chart, visit)]
    if visit.kind == "attendance":
        return found
    plan = episode.plan_of(view, chart, visit.record) if visit.kind == "session" else None
    if visit.kind == "session":
        found += procedures(view, visit, plan)
    found += measured(visit, plan)
    found += documents_of(view, chart, visit)
    return _signed(visit, found)


def _signed(visit: Visit, found: list[Resource]) -> list[Resource]:
    """`found` followed by the Provenance of the record's signature, if it is signed."""
    signature = visit.data.get("signature")
    if not isinstance(signature, dict):
        return found
    return [*found, provenance(visit, signature, found)]


def _referral(view: StoreView, chart: Chart, visit: Visit) -> Record | None:
    """The referral a visit is under: a session's through its plan, an assessment's own."""
    if visit.kind == "session":
        plan = episode.plan_of(view, chart, visit.record)
        return episode.referral_of(view, chart, plan) if plan is not None else None
    if visit.kind == "assessment" and "referral" in visit.data:
        return view.get("referral", visit.data["referral"], visit.patient)
    return None


def encounter(view: StoreView, chart: Chart, visit: Visit) -> Resource:
    """The Encounter of one visit record: ambulatory (v3-ActCode AMB), on the visit's day,
    with the therapist; finished for a session or an assessment, cancelled for a visit that
    did not happen (R4 Encounter has no no-show status: a no-show is `cancelled`, told apart
    from a cancellation by its type). Under a referral, it is based on the ServiceRequest
    and its reasons are the referral's Conditions."""
    data = visit.data
    done = visit.kind != "attendance"
    participant: dict[str, Any] = {"individual": ref(fhir_ids.therapist, str(data["therapist"]))}
    if done:
        primary = coding(PARTICIPATION, "PPRF", "primary performer")
        participant = {"type": [{"coding": [primary]}], **participant}
    found: Resource = {
        "resourceType": "Encounter",
        "id": fhir_ids.resource_id("Encounter", visit.patient, visit.kind, visit.record.id),
        "identifier": identifier(visit.record),
        "status": "finished" if done else "cancelled",
        "class": coding(ACT_CODE, "AMB", "ambulatory"),
        "type": _encounter_type(visit),
        "subject": ref(fhir_ids.patient, visit.patient),
        "participant": [participant],
        "period": {"start": visit.day, "end": visit.day},
        "serviceProvider": ref(fhir_ids.clinic),
    }
    if visit.kind == "session":
        found["length"] = quantity(data["duration_minutes"], "minutes")
    if visit.kind == "assessment":
        found["reasonCode"] = [text_concept(str(data["chief_complaint"]))]
    referral = _referral(view, chart, visit)
    if referral is not None:
        found["basedOn"] = [ref(fhir_ids.referral, visit.patient, referral.id)]
        codes = [str(d["code"]) for d in referral.data.get("diagnoses", [])]
        reasons = [ref(fhir_ids.condition, visit.patient, referral.id, c) for c in codes]
        if reasons:
            found["reasonReference"] = reasons
    return found


def _encounter_type(visit: Visit) -> list[dict[str, Any]]:
    """What kind of visit it was: a treatment visit, an assessment by its kind, or a visit
    that did not happen (cancelled or no-show, and who called it off)."""
    data = visit.data
    if visit.kind == "session":
        return [text_concept("Medical massage treatment visit")]
    if visit.kind == "assessment":
        kind = str(data["kind"])
        return [term("assessment_kind", kind, _ASSESSMENT_WORDS.get(kind))]
    status, by = str(data["status"]), str(data["by"])
    return [
        term("attendance", status, _ATTENDANCE_WORDS.get(status)),
        term("called_off_by", by, f"Called off by the {by}"),
    ]


def procedures(view: StoreView, visit: Visit, plan: Record | None) -> list[Resource]:
    """A Procedure per treatment line of a session, in the note's order."""
    settings = billing.billing_settings(view.setting("billing"))
    lines = visit.data["treatment"]
    return [procedure(visit, n, line, plan, settings) for n, line in enumerate(lines, 1)]


def procedure(
    visit: Visit,
    number: int,
    line: dict[str, Any],
    plan: Record | None,
    settings: billing.BillingSettings,
) -> Resource:
    """One technique given: the store's technique term, and the CPT code the store bills it
    under (CLINICAL.md §2, the store's table) when there is one; a body site per region,
    the side in its text; minutes and pressure as notes (R4 Procedure has no element for a
    duration or a pressure); based on the CarePlan the visit carries out."""
    technique = str(line["technique"])
    code = term("technique", technique)
    cpt = settings.codes.get(technique, billing.NOT_BILLED)
    if cpt != billing.NOT_BILLED:
        code["coding"].append(coding(CPT, cpt, billing.describe(cpt) or None))
    notes = [{"text": f"Minutes: {line['minutes']}"}]
    if "pressure" in line:
        notes.append({"text": f"Pressure: {str(line['pressure']).replace('_', ' ')}"})
    therapist = ref(fhir_ids.therapist, str(visit.data["therapist"]))
    found: Resource = {
        "resourceType": "Procedure",
        "id": fhir_ids.resource_id("Procedure", visit.patient, visit.record.id, str(number)),
    }
    if plan is not None:
        found["basedOn"] = [ref(fhir_ids.care_plan, visit.patient, plan.id)]
    found |= {
        "status": "completed",
        "code": code,
        "subject": ref(fhir_ids.patient, visit.patient),
        "encounter": visit.encounter(),
        "performedDateTime": visit.day,
        "performer": [{"actor": therapist, "onBehalfOf": ref(fhir_ids.clinic)}],
        "bodySite": [body_site(str(region), str(line["side"])) for region in line["regions"]],
        "note": notes,
    }
    return found
