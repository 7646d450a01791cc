"""Stable identities for the resources of a FHIR export (SPEC §10: "ids are stable across
runs"). Every resource of a bundle is named by a key made of the record it comes from, and
its id is a version-5 UUID of that key: the same chart gives the same ids on every run and
on every machine, and two stores never collide on a record id like `2026-03-14`. The bundle
entry's `fullUrl` is `urn:uuid:<id>` and every reference points at it, so references
resolve inside the bundle without a server.

Both halves of the export (the administrative resources in fhir.py, the visits in
fhir_visits.py) name resources only through the functions here."""

from __future__ import annotations

import uuid
from typing import Any

# Fixed once for medmassage; changing it would change every exported id.
NAMESPACE = uuid.UUID("7ab1d793-3956-4dab-bd08-f59109685229")


def resource_id(resource_type: str, *key: str) -> str:
    """The id of the `resource_type` resource named by `key` (record ids, in order)."""
    return str(uuid.uuid5(NAMESPACE, "/".join((resource_type, *key))))


def urn(resource_type: str, *key: str) -> str:
    """The `fullUrl` of that resource in its bundle."""
    return f"urn:uuid:{resource_id(resource_type, *key)}"


def reference(resource_type: str, *key: str, display: str | None = None) -> dict[str, Any]:
    """A FHIR Reference to that resource, resolved inside the bundle."""
    ref: dict[str, Any] = {"reference": urn(resource_type, *key), "type": resource_type}
    if display is not None:
        ref["display"] = display
    return ref


def entry(resource: dict[str, Any]) -> dict[str, Any]:
    """The bundle entry of a resource whose `id` came from `resource_id`, tidied."""
    return {"fullUrl": f"urn:uuid:{resource['id']}", "resource": tidy(resource)}


def tidy(node: Any) -> Any:
    """`node` as FHIR wants it (R4 JSON format §2.6.2): free text from the records trimmed
    (the store keeps a YAML block's final line break, and `notes: " "` is a valid record;
    FHIR strings should not start or end with white space and may not be all white space)
    and no element left empty, nor a list or object that held only empty elements."""
    if isinstance(node, str):
        return node.strip()
    if isinstance(node, list):
        return [item for item in map(tidy, node) if not _is_empty(item)]
    if isinstance(node, dict):
        found = {key: tidy(value) for key, value in node.items()}
        return {key: value for key, value in found.items() if not _is_empty(value)}
    return node


def _is_empty(value: Any) -> bool:
    return isinstance(value, str | list | dict) and not value


def words(value: Any) -> str | None:
    """Free text of a record as it goes into FHIR (trimmed), or None when it says nothing:
    for an element that may only be written with it."""
    text = str(value).strip() if value is not None else ""
    return text or None


# The keys, one per kind of resource, so that both halves name a resource the same way.


def patient(patient_id: str) -> dict[str, Any]:
    """Reference to the Patient of a chart."""
    return reference("Patient", patient_id)


def therapist(therapist_id: str) -> dict[str, Any]:
    """Reference to the Practitioner who is a therapist of the store."""
    return reference("Practitioner", "therapist", therapist_id)


def therapist_role(therapist_id: str) -> dict[str, Any]:
    """Reference to that therapist's PractitionerRole at the clinic."""
    return reference("PractitionerRole", "therapist", therapist_id)


def provider(provider_id: str) -> dict[str, Any]:
    """Reference to the Practitioner who is a provider (physician, PT...) of the store."""
    return reference("Practitioner", "provider", provider_id)


def clinic() -> dict[str, Any]:
    """Reference to the Organization of the clinic (medmassage.yaml)."""
    return reference("Organization", "clinic")


def referral(patient_id: str, referral_id: str) -> dict[str, Any]:
    """Reference to the ServiceRequest of a referral."""
    return reference("ServiceRequest", patient_id, referral_id)


def condition(patient_id: str, referral_id: str, code: str) -> dict[str, Any]:
    """Reference to the Condition of one diagnosis code of a referral."""
    return reference("Condition", patient_id, referral_id, code)


def care_plan(patient_id: str, plan_id: str) -> dict[str, Any]:
    """Reference to the CarePlan of a treatment plan."""
    return reference("CarePlan", patient_id, plan_id)


def goal(patient_id: str, plan_id: str, goal_id: str) -> dict[str, Any]:
    """Reference to the Goal of one goal of a plan."""
    return reference("Goal", patient_id, plan_id, goal_id)


def encounter(patient_id: str, kind: str, record_id: str) -> dict[str, Any]:
    """Reference to the Encounter of a visit: a session, an assessment or an attendance
    record (`kind` is the record kind)."""
    return reference("Encounter", patient_id, kind, record_id)


# The visit half's own kinds (fhir_visits.py and its helpers).


def procedure(patient_id: str, session_id: str, line: int) -> dict[str, Any]:
    """Reference to the Procedure of one treatment line (1-based) of a session."""
    return reference("Procedure", patient_id, session_id, str(line))


def observation(patient_id: str, kind: str, record_id: str, slot: str) -> dict[str, Any]:
    """Reference to one Observation of a visit record (`slot` names the measure within the
    record, e.g. pain-before, rom-1, outcome-2, goal-g1)."""
    return reference("Observation", patient_id, kind, record_id, slot)


def questionnaire_response(
    patient_id: str, kind: str, record_id: str, index: int
) -> dict[str, Any]:
    """Reference to the QuestionnaireResponse of one outcome measure (1-based) of a record."""
    return reference("QuestionnaireResponse", patient_id, kind, record_id, str(index))


def document_reference(patient_id: str, kind: str, record_id: str) -> dict[str, Any]:
    """Reference to the DocumentReference of a record: a note, an assessment, an addendum,
    or a sent document (its `updates/` log)."""
    return reference("DocumentReference", patient_id, kind, record_id)


def provenance(patient_id: str, kind: str, record_id: str) -> dict[str, Any]:
    """Reference to the Provenance of the signature on a record."""
    return reference("Provenance", patient_id, kind, record_id)


def reference_to(resource: dict[str, Any]) -> dict[str, Any]:
    """A Reference to a resource already built (its `id` from `resource_id`)."""
    return {"reference": f"urn:uuid:{resource['id']}", "type": resource["resourceType"]}


def communication(patient_id: str, record_id: str) -> dict[str, Any]:
    """Reference to the Communication of a document's sending (its `updates/` log)."""
    return reference("Communication", patient_id, "update", record_id)
