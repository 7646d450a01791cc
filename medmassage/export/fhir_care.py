"""The episode of care in FHIR (SPEC §10): a referral becomes a ServiceRequest and one
Condition per ICD-10-CM code (CLINICAL.md §5), a treatment plan a CarePlan and one Goal
per goal. Core elements only, no extension (a validator rejects an extension it has no
definition for): the two values R4 has no element for are said in words in the resource's
note (R4 ServiceRequest.note, Goal.note: "any other notes and comments"), the referral's
length in weeks and a goal's baseline; a goal also addresses the Observation its baseline
was measured by, when the bundle holds it (R4 Goal.addresses: "health record elements that
are intended to be addressed by the goal", an Observation among them)."""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from medmassage.care import episode, outcomes
from medmassage.chart import Chart, Record, StoreView
from medmassage.export import fhir_ids as ids
from medmassage.export.fhir_people import MASSAGE_THERAPIST, Resource
from medmassage.export.fhir_terms import label, vocabulary
from medmassage.rules.outcomes import agrees

ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"  # CLINICAL.md §5
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
RECORD_SYSTEM = "urn:medmassage:record"
PAIN_NRS = "72514-3"  # LOINC: pain severity 0-10 verbal numeric rating (CLINICAL.md §5)
_TERMINOLOGY = "http://terminology.hl7.org/CodeSystem/"
DURATION_NOTE = "Duration asked for: {} weeks"  # ServiceRequest.note: the referral's weeks
BASELINE_NOTE = "Baseline: {}"  # Goal.note: the goal's starting value and unit

# A plan's status as CarePlan.status, its activities' status and its goals' lifecycle.
CAREPLAN_STATUS = {
    "active": "active",
    "on_hold": "on-hold",
    "completed": "completed",
    "discontinued": "revoked",
}
ACTIVITY_STATUS = {
    "active": "in-progress",
    "on_hold": "on-hold",
    "completed": "completed",
    "discontinued": "cancelled",
}
GOAL_STATUS = {
    "active": "active",
    "on_hold": "on-hold",
    "completed": "completed",
    "discontinued": "cancelled",
}
# Units people write on goals, as UCUM codes (others are kept as written, without a code).
_UCUM = {"degrees": "deg", "percent": "%", "mm": "mm", "points": "{score}", "minutes": "min"}


def concept(kind: str, word: str, text: str | None = None) -> dict[str, Any]:
    """A word of the store's vocabulary (technique, region...) as a CodeableConcept."""
    coding = {"system": vocabulary(kind), "code": word, "display": label(word)}
    return {"coding": [coding], "text": text or label(word)}


def record_identifier(record: Record, part: str = "") -> list[dict[str, str]]:
    """The record a resource comes from as a business identifier: its path in the store
    (with `#part` for a part of it, a plan's goal), as the visit half names records."""
    return [{"system": RECORD_SYSTEM, "value": record.rel + (f"#{part}" if part else "")}]


# The largest FHIR integer (and positiveInt): Timing.repeat.frequency is one.
_MAX_INT = 2**31 - 1


def per_week(value: float) -> dict[str, Any]:
    """`value` visits a week as Timing.repeat, exactly as the record writes it (frequency
    is a whole number in FHIR: 1.5 a week is 3 every 2 weeks, 1.3 is 13 every 10 weeks,
    0.05 is 1 every 20 weeks). A rate no FHIR integer can hold is left out (no frequency
    of 0, which R4 forbids, nor a rate other than the record's)."""
    ratio = Fraction(str(value)).limit_denominator(_MAX_INT)
    if not 0 < ratio.numerator <= _MAX_INT or ratio != Fraction(str(value)):
        return {}
    return {"frequency": ratio.numerator, "period": ratio.denominator, "periodUnit": "wk"}


def weeks(value: int) -> dict[str, Any]:
    """A number of weeks as a FHIR Duration (UCUM `wk`)."""
    return {"value": value, "unit": "wk", "system": UCUM, "code": "wk"}


def _status(code: str, system: str) -> dict[str, Any]:
    return {"coding": [{"system": _TERMINOLOGY + system, "code": code}]}


def conditions(chart: Chart, referral: Record) -> list[Resource]:
    """One Condition per diagnosis of the referral: its ICD-10-CM code and description,
    asserted by the referring provider on the referral's date. Active and confirmed (the
    provider diagnosed it; the store does not say when it resolves)."""
    pid, data = chart.patient_id, referral.data
    return [
        {
            "resourceType": "Condition",
            "id": ids.resource_id("Condition", pid, referral.id, diagnosis["code"]),
            "clinicalStatus": _status("active", "condition-clinical"),
            "verificationStatus": _status("confirmed", "condition-ver-status"),
            "category": [_status("encounter-diagnosis", "condition-category")],
            "code": {
                "coding": [{"system": ICD10CM, "code": diagnosis["code"]}],
                "text": diagnosis["description"],
            },
            "subject": ids.patient(pid),
            "recordedDate": data["date"],
            "asserter": ids.provider(data["provider"]),
        }
        for diagnosis in data["diagnoses"]
    ]


def _condition_refs(chart: Chart, referral: Mapping[str, Any], referral_id: str) -> list[Any]:
    return [ids.condition(chart.patient_id, referral_id, d["code"]) for d in referral["diagnoses"]]


def service_request(view: StoreView, chart: Chart, referral: Record) -> Resource:
    """The referral as a ServiceRequest from its provider to the clinic: frequency as
    occurrenceTiming.repeat, bounded by the referral's date and `valid_until`; the visits
    authorized as quantityQuantity; the diagnoses as reasonReference; the weeks of care asked
    for in words as the first note (the bounds, a choice of one, hold the dates). Completed
    once every authorized visit is used, else active (expiry is the bounds' end)."""
    pid, data = chart.patient_id, referral.data
    used = len(episode.visits_under(view, chart, referral))
    repeat = {
        "boundsPeriod": {"start": data["date"], "end": data["valid_until"]},
        **per_week(data["frequency_per_week"]),
    }
    notes = [
        DURATION_NOTE.format(data["duration_weeks"]),
        *data.get("precautions", []),
        *([data["notes"]] if data.get("notes") else []),
    ]
    found: Resource = {
        "resourceType": "ServiceRequest",
        "id": ids.resource_id("ServiceRequest", pid, referral.id),
        "identifier": record_identifier(referral),
        "status": "completed" if used >= data["visits_authorized"] else "active",
        "intent": "order",
        "category": [{"text": data["kind"]}],
        "code": {"text": "Medical massage therapy"},
        "orderDetail": [concept("technique", t) for t in data.get("techniques", [])],
        "quantityQuantity": {"value": data["visits_authorized"], "unit": "visits"},
        "subject": ids.patient(pid),
        "occurrenceTiming": {"repeat": repeat},
        "authoredOn": data["date"],
        "requester": ids.provider(data["provider"]),
        "performerType": {"coding": [MASSAGE_THERAPIST]},
        "performer": [ids.clinic()],
        "reasonReference": _condition_refs(chart, data, referral.id),
        "bodySite": [concept("region", r) for r in data.get("regions", [])],
        "note": [{"text": text} for text in notes],
    }
    return {key: value for key, value in found.items() if value not in ([], None)}


def care_plan(chart: Chart, plan: Record, present: set[str]) -> Resource:
    """The plan as a CarePlan by its therapist: the referral (and the assessment's
    Encounter, when the bundle has it) as supportingInfo — R4's basedOn may only name
    another CarePlan —, the diagnoses it addresses, its goals, and its activities: the
    sessions (how often, how long, how many), each technique, each home-care item."""
    pid, data = chart.patient_id, plan.data
    supporting = [ids.referral(pid, data["referral"])]
    assessment = ids.encounter(pid, "assessment", data["assessment"])
    if assessment["reference"] in present:
        supporting.append(assessment)
    referral = chart.of("referral").get(data["referral"])
    addresses = _condition_refs(chart, referral.data, referral.id) if referral else []
    certified = data.get("certification", {}).get("by")
    found: Resource = {
        "resourceType": "CarePlan",
        "id": ids.resource_id("CarePlan", pid, plan.id),
        "identifier": record_identifier(plan),
        "status": CAREPLAN_STATUS[data["status"]],
        "intent": "plan",
        "title": "Medical massage plan of care",
        "subject": ids.patient(pid),
        "period": {"start": data["date"]},
        "created": data["date"],
        "author": ids.therapist(data["therapist"]),
        "contributor": [ids.provider(certified)] if certified else [],
        "supportingInfo": supporting,
        "addresses": addresses,
        "goal": [ids.goal(pid, plan.id, g["id"]) for g in data["goals"]],
        "activity": _activities(chart, plan, addresses),
        "note": [{"text": data["notes"]}] if data.get("notes") else [],
    }
    return {key: value for key, value in found.items() if value != []}


def _activities(chart: Chart, plan: Record, reasons: list[Any]) -> list[dict[str, Any]]:
    """The sessions (with their timing), then one activity per technique and per
    home-care item, all in the plan's status."""
    data = plan.data
    status = ACTIVITY_STATUS[data["status"]]
    repeat = {
        "boundsDuration": weeks(data["weeks"]),
        "count": data["visits"],
        "duration": data["session_minutes"],
        "durationUnit": "min",
        **per_week(data["sessions_per_week"]),
    }
    sessions: dict[str, Any] = {
        "code": {"text": "Medical massage sessions"},
        "status": status,
        "goal": [ids.goal(chart.patient_id, plan.id, g["id"]) for g in data["goals"]],
        "scheduledTiming": {"repeat": repeat},
        "performer": [ids.therapist(data["therapist"])],
    }
    if reasons:
        sessions["reasonReference"] = reasons
    activities = [{"detail": sessions}]
    activities += [
        {"detail": {"code": concept("technique", t), "status": status}} for t in data["techniques"]
    ]
    activities += [
        {"detail": {"code": {"text": "Home care"}, "status": status, "description": item}}
        for item in data.get("home_care", [])
    ]
    return activities


def measure(goal: Mapping[str, Any]) -> dict[str, Any]:
    """What a goal measures as a CodeableConcept, in words, coded as the visit half codes
    the Observations that measure it: pain in LOINC, a movement or an instrument in the
    store's vocabulary."""
    spec = goal["measure"]
    kind = spec["kind"]
    if kind == "pain":
        text = f"Pain ({outcomes.pain_kind(goal)}), NRS 0-10"
        return {"coding": [{"system": LOINC, "code": PAIN_NRS}], "text": text}
    if kind == "range_of_motion":
        words = " ".join(str(spec[k]).replace("_", " ") for k in ("joint", "movement") if k in spec)
        side = f", {str(spec['side']).replace('_', ' ')}" if spec.get("side") else ""
        text = f"Range of motion: {words}{side}"
        return concept("movement", spec["movement"], text) if "movement" in spec else {"text": text}
    if kind == "outcome_measure" and spec.get("instrument"):
        return concept("instrument", spec["instrument"], f"Outcome measure: {spec['instrument']}")
    return {"text": "Other measure"}


def quantity(value: float, goal: Mapping[str, Any]) -> dict[str, Any]:
    """A value in the goal's unit (as written on the goal; UCUM-coded when it has a code)."""
    written = str(goal["measure"].get("unit", "")) or outcomes.unit(goal)
    found: dict[str, Any] = {"value": value, "unit": written}
    code = _UCUM.get(written) or _UCUM.get(outcomes.unit(goal))
    if code:
        found.update(system=UCUM, code=code)
    return found


# The goal measures an assessment records as a list: (its field, its Observations' slot).
_FIGURES = {
    "range_of_motion": ("range_of_motion", "rom"),
    "outcome_measure": ("outcome_measures", "outcome"),
}


def _figures(goal: Mapping[str, Any], assessment: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The assessment's figures that may be the goal's measure, in record order: (the slot
    its Observation is named by, as fhir_observations.py names them; the figure alone as an
    assessment)."""
    kind, day = goal["measure"]["kind"], {"date": str(assessment.get("date", ""))}
    if kind == "pain":
        which, given = outcomes.pain_kind(goal), assessment.get("pain", {})
        return [(f"pain-{which}", {**day, "pain": {which: given[which]}})] if which in given else []
    field, slot = _FIGURES.get(kind, ("", ""))
    entries = assessment.get(field, []) if field else []
    return [(f"{slot}-{n}", {**day, field: [entry]}) for n, entry in enumerate(entries, 1)]


def baseline_observation(
    chart: Chart, plan: Record, goal: Mapping[str, Any], present: set[str]
) -> list[dict[str, Any]]:
    """The Observation the goal's baseline was measured by, as a reference: the plan
    assessment's figure of the goal's measure (read as progress reports and the baseline
    rule read it, care.outcomes.goal_series: the pain the goal names, the range of motion in
    its unit, the questionnaire score in its unit) when its value is the typed baseline and
    the bundle holds the visits; else none (a baseline typed from elsewhere is said only in
    the note)."""
    assessment = chart.of("assessment").get(plan.data["assessment"])
    if assessment is None:
        return []
    for slot, alone in _figures(goal, assessment.data):
        points = outcomes.goal_series(goal, (), (alone,))
        if points:  # the first figure of the measure, as the baseline rule reads it
            found = ids.observation(chart.patient_id, "assessment", assessment.id, slot)
            fits = agrees(float(goal["baseline"]), points[0].value)
            return [found] if fits and found["reference"] in present else []
    return []


def goals(chart: Chart, plan: Record, addresses: list[Any], present: set[str]) -> list[Resource]:
    """One Goal per goal of the plan: its description, the measure with the target value
    and due date, the plan's date as start, the baseline in words as the note (R4 Goal has
    no baseline element), and among what it addresses, beside the plan's diagnoses, the
    Observation that measured the baseline (`baseline_observation`)."""
    pid, data = chart.patient_id, plan.data
    found = []
    for goal in data["goals"]:
        baseline = quantity(goal["baseline"], goal)
        resource: Resource = {
            "resourceType": "Goal",
            "id": ids.resource_id("Goal", pid, plan.id, goal["id"]),
            "identifier": record_identifier(plan, goal["id"]),
            "lifecycleStatus": GOAL_STATUS[data["status"]],
            # Goal.description is 1..1: a goal whose description is blank is named by its id.
            "description": {"text": ids.words(goal["description"]) or f"Goal {goal['id']}"},
            "subject": ids.patient(pid),
            "startDate": data["date"],
            "target": [
                {
                    "measure": measure(goal),
                    "detailQuantity": quantity(goal["target"], goal),
                    "dueDate": goal["due"],
                }
            ],
            "expressedBy": ids.therapist(data["therapist"]),
            "addresses": [*addresses, *baseline_observation(chart, plan, goal, present)],
            "note": [
                {"text": BASELINE_NOTE.format(f"{baseline['value']} {baseline['unit']}".strip())}
            ],
        }
        found.append({key: value for key, value in resource.items() if value != []})
    return found


def plan_resources(chart: Chart, plan: Record, present: set[str]) -> list[Resource]:
    """A plan's CarePlan followed by its Goals."""
    found = care_plan(chart, plan, present)
    return [found, *goals(chart, plan, found.get("addresses", []), present)]


def referral_resources(view: StoreView, chart: Chart, referral: Record) -> list[Resource]:
    """A referral's Conditions followed by its ServiceRequest."""
    return [*conditions(chart, referral), service_request(view, chart, referral)]
