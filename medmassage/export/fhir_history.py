"""What the patient record says a provider must know before touching the patient, in FHIR
(SPEC §10, §3: allergies "oils, lotions and latex included", contraindications): each
allergy an AllergyIntolerance, each contraindication a Flag, each medication a
MedicationStatement. They are the patient's own account, taken at intake: recorded as
active, never as verified. Each is keyed by its place in its list (1, 2, ...)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from medmassage.chart import Record
from medmassage.export import fhir_ids as ids
from medmassage.export.fhir_people import Resource

_ALLERGY_STATUS = "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical"
_FLAG_CATEGORY = "http://terminology.hl7.org/CodeSystem/flag-category"


def _key(kind: str, patient_id: str, number: int) -> str:
    return ids.resource_id(kind, patient_id, str(number))


def allergy(patient_id: str, number: int, item: Mapping[str, Any]) -> Resource:
    """One allergy: the substance, and the reaction with its severity when recorded
    (a reaction needs a manifestation, so a severity alone is not written)."""
    found: Resource = {
        "resourceType": "AllergyIntolerance",
        "id": _key("AllergyIntolerance", patient_id, number),
        # ait-1: the clinical status is given; verificationStatus is left out on purpose.
        "clinicalStatus": {"coding": [{"system": _ALLERGY_STATUS, "code": "active"}]},
        "code": {"text": item["substance"]},
        "patient": ids.patient(patient_id),
    }
    if ids.words(item.get("reaction")):  # the manifestation a reaction must have
        reaction: dict[str, Any] = {"manifestation": [{"text": item["reaction"]}]}
        if item.get("severity"):
            reaction["severity"] = item["severity"]  # mild | moderate | severe, as in FHIR
        found["reaction"] = [reaction]
    return found


def precaution_text(item: Mapping[str, Any]) -> str:
    """A contraindication in words: the condition, the regions to avoid, the notes (a Flag
    has no element for the last two)."""
    parts = [ids.words(item["condition"])]
    if item.get("regions"):
        parts.append("regions: " + ", ".join(r.replace("_", " ") for r in item["regions"]))
    parts.append(ids.words(item.get("notes")))
    return " — ".join(part for part in parts if part) or "Not described in the record"


def flag(patient_id: str, number: int, item: Mapping[str, Any]) -> Resource:
    """One contraindication to massage as a clinical Flag: absolute (no massage), local
    (avoid the regions) or relative (massage with modifications), in its category's text."""
    return {
        "resourceType": "Flag",
        "id": _key("Flag", patient_id, number),
        "status": "active",
        "category": [
            {
                "coding": [{"system": _FLAG_CATEGORY, "code": "clinical"}],
                "text": f"{item['kind']} contraindication to massage",
            }
        ],
        "code": {"text": precaution_text(item)},
        "subject": ids.patient(patient_id),
    }


def medication(patient_id: str, number: int, item: Mapping[str, Any]) -> Resource:
    """One medication the patient takes: its name, the dose in words, what it is for."""
    found: Resource = {
        "resourceType": "MedicationStatement",
        "id": _key("MedicationStatement", patient_id, number),
        "status": "active",
        # MedicationStatement.medication[x] is 1..1, and a record may leave the name blank.
        "medicationCodeableConcept": {"text": ids.words(item["name"]) or "Not named in the record"},
        "subject": ids.patient(patient_id),
    }
    if item.get("purpose"):
        found["reasonCode"] = [{"text": item["purpose"]}]
    if item.get("dose"):
        found["dosage"] = [{"text": item["dose"]}]
    return found


def history(record: Record) -> list[Resource]:
    """Allergies, then contraindications, then medications, each in the record's order."""
    data, pid = record.data, record.id
    made = [allergy(pid, n, a) for n, a in enumerate(data.get("allergies", []), 1)]
    made += [flag(pid, n, p) for n, p in enumerate(data.get("precautions", []), 1)]
    made += [medication(pid, n, m) for n, m in enumerate(data.get("medications", []), 1)]
    return made
