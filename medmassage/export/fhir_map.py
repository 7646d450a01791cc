"""Where each field of the administrative records goes in the FHIR export (SPEC §10): one
row per record field, naming the FHIR element path that holds its value (a small FHIRPath:
`.where(element='value')` picks among repeats), or saying honestly that it has no home in
this export and why. The README's table under "FHIR R4" is this table (`markdown_rows`),
and the tests find each demo record's values at these paths of the exported bundles.

`how` says how the value is found there: `=` as it is, `words` named within the text,
`codes` through `CODES`, `ref:<kind>` as the reference to the record it names."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from medmassage.export.fhir_care import CAREPLAN_STATUS, ICD10CM
from medmassage.export.fhir_people import NPI, TAX_ID


class Mapped(NamedTuple):
    """One record field and its FHIR home ("" when it has none)."""

    kind: str  # the record kind (settings: medmassage.yaml)
    field: str  # the field's path in the record; `[]` steps into each item of a list
    fhir: str = ""  # Resource.element path, or "" when the field is not exported
    how: str = "="
    note: str = ""


_RECORD = "system='urn:medmassage:record'"
_ID = "identifier.where(system='urn:medmassage:{}').value"  # a store id, by its kind
_PHONE, _FAX, _EMAIL = ("where(system='phone')", "where(system='fax')", "where(system='email')")
_ADDRESS = (
    ("street", "line"),
    ("city", "city"),
    ("state", "state"),
    ("postal_code", "postalCode"),
    ("country", "country"),
)


def _address(kind: str, field: str, resource: str) -> list[Mapped]:
    return [Mapped(kind, f"{field}.{key}", f"{resource}.address.{to}") for key, to in _ADDRESS]


def _contact(kind: str, prefix: str, resource: str, systems: tuple[str, ...]) -> list[Mapped]:
    steps = {"phone": _PHONE, "fax": _FAX, "email": _EMAIL}
    return [Mapped(kind, f"{prefix}{s}", f"{resource}.telecom.{steps[s]}.value") for s in systems]


_NOT_EXPORTED = "not exported"
_MEDICATION = "MedicationStatement"
_MEMBER = "Patient.identifier.where(type.coding.code='MB')"

PATIENT = [
    Mapped("patient", "id", f"Patient.{_ID.format('patient')}"),
    Mapped("patient", "name.given", "Patient.name.where(use='official').given"),
    Mapped("patient", "name.family", "Patient.name.where(use='official').family"),
    Mapped("patient", "name.preferred", "Patient.name.where(use='nickname').given"),
    Mapped("patient", "date_of_birth", "Patient.birthDate"),
    Mapped("patient", "sex", "Patient.gender", note="the same codes"),
    *_contact("patient", "contact.", "Patient", ("phone", "email")),
    *_address("patient", "contact.address", "Patient"),
    Mapped("patient", "emergency_contact.name", "Patient.contact.name.text"),
    Mapped("patient", "emergency_contact.relationship", "Patient.contact.relationship.text",
           note="beside the v2-0131 code C, emergency contact"),
    Mapped("patient", "emergency_contact.phone", "Patient.contact.telecom.value"),
    Mapped("patient", "intake_date", note="no R4 Patient element (an EpisodeOfCare would hold it)"),
    Mapped("patient", "status", note="the episode's state, not Patient.active (the record in use)"),
    Mapped("patient", "primary_provider", "Patient.generalPractitioner.reference", "ref:provider"),
    Mapped("patient", "medical_history", note="free-text history; the referral's coded "
           "diagnoses are the Conditions"),
    Mapped("patient", "medications[].name", f"{_MEDICATION}.medicationCodeableConcept.text",
           note="one MedicationStatement each, active"),
    Mapped("patient", "medications[].dose", f"{_MEDICATION}.dosage.text"),
    Mapped("patient", "medications[].purpose", f"{_MEDICATION}.reasonCode.text"),
    Mapped("patient", "allergies[].substance", "AllergyIntolerance.code.text",
           note="one AllergyIntolerance each, active, not verified"),
    Mapped("patient", "allergies[].reaction", "AllergyIntolerance.reaction.manifestation.text"),
    Mapped("patient", "allergies[].severity", "AllergyIntolerance.reaction.severity",
           note="the same codes; written with a reaction"),
    Mapped("patient", "precautions[].condition", "Flag.code.text", "words",
           "one clinical Flag each, active"),
    Mapped("patient", "precautions[].kind", "Flag.category.text", "words"),
    Mapped("patient", "precautions[].regions[]", "Flag.code.text", "words",
           "a Flag has no body site"),
    Mapped("patient", "precautions[].notes", "Flag.code.text", "words", "a Flag has no note"),
    Mapped("patient", "consent", note="would be a Consent"),
    Mapped("patient", "insurance.member_id", f"{_MEMBER}.value", note="v2-0203 MB"),
    Mapped("patient", "insurance.payer", f"{_MEMBER}.assigner.display"),
    *(
        Mapped("patient", f"insurance.{key}", note="would be a Coverage")
        for key in ("kind", "group", "claim_number", "date_of_injury", "adjuster")
    ),
    Mapped("patient", "notes", note="free text about the person"),
]  # fmt: skip

_NPI = f"identifier.where(system='{NPI}').value"
_QUALIFICATION = "Practitioner.qualification"

THERAPIST = [
    Mapped("therapist", "id", f"Practitioner.{_ID.format('therapist')}"),
    Mapped("therapist", "name", "Practitioner.name.text"),
    Mapped("therapist", "credentials", f"{_QUALIFICATION}.code.text"),
    Mapped("therapist", "license.number", f"{_QUALIFICATION}.identifier.value"),
    Mapped("therapist", "license.jurisdiction", f"{_QUALIFICATION}.issuer.display"),
    Mapped("therapist", "license.expires", f"{_QUALIFICATION}.period.end"),
    Mapped("therapist", "npi", f"Practitioner.{_NPI}"),
    *_contact("therapist", "", "Practitioner", ("phone", "email")),
    Mapped("therapist", "active", "Practitioner.active", note="and PractitionerRole.active"),
]  # fmt: skip

PROVIDER = [
    Mapped("provider", "id", f"Practitioner.{_ID.format('provider')}"),
    Mapped("provider", "name", "Practitioner.name.text"),
    Mapped("provider", "credentials", f"{_QUALIFICATION}.code.text"),
    Mapped("provider", "specialty", "PractitionerRole.specialty.text"),
    Mapped("provider", "organization", "PractitionerRole.organization.display"),
    *_contact("provider", "", "Practitioner", ("phone", "fax", "email")),
    Mapped("provider", "npi", f"Practitioner.{_NPI}"),
    *_address("provider", "address", "Practitioner"),
]  # fmt: skip

_TOOL = "how the store works, not about the patient"
SETTINGS = [
    Mapped("settings", "practice.name", "Organization.name"),
    *_address("settings", "practice.address", "Organization"),
    *_contact("settings", "practice.", "Organization", ("phone", "fax", "email")),
    Mapped("settings", "practice.npi", f"Organization.{_NPI}"),
    Mapped("settings", "billing.tax_id", f"Organization.identifier.where(system='{TAX_ID}').value"),
    *(
        Mapped("settings", key, note=_TOOL)
        for key in (
            "format", "default_therapist", "vocabulary", "signing", "billing.codes",
            "billing.units", "billing.place_of_service", "billing.fees", "due", "norms",
        )
    ),
]  # fmt: skip

_TIMING = "ServiceRequest.occurrenceTiming.repeat"
REFERRAL = [
    Mapped("referral", "id", f"ServiceRequest.identifier.where({_RECORD}).value", "words",
           "within the record's path"),
    Mapped("referral", "date", "ServiceRequest.authoredOn", note="and boundsPeriod.start"),
    Mapped("referral", "provider", "ServiceRequest.requester.reference", "ref:provider"),
    Mapped("referral", "kind", "ServiceRequest.category.text"),
    Mapped("referral", "diagnoses[].code", f"Condition.code.coding.where(system='{ICD10CM}').code",
           note="one Condition per code, in ServiceRequest.reasonReference"),
    Mapped("referral", "diagnoses[].description", "Condition.code.text"),
    Mapped("referral", "frequency_per_week", f"{_TIMING}.frequency",
           note="per repeat.period wk, exactly: 1.5 a week is 3 per 2 wk, 1.3 is 13 per 10 wk"),
    Mapped("referral", "duration_weeks", "ServiceRequest.note.text", "words",
           "the weeks of care asked for, as the first note; repeat.bounds[x] holds the dates"),
    Mapped("referral", "visits_authorized", "ServiceRequest.quantityQuantity.value"),
    Mapped("referral", "valid_until", f"{_TIMING}.boundsPeriod.end"),
    Mapped("referral", "techniques[]", "ServiceRequest.orderDetail.coding.code"),
    Mapped("referral", "regions[]", "ServiceRequest.bodySite.coding.code"),
    Mapped("referral", "precautions[]", "ServiceRequest.note.text"),
    Mapped("referral", "updates", note="when the provider wants reports; the reports sent "
           "are DocumentReferences"),
    Mapped("referral", "notes", "ServiceRequest.note.text"),
]  # fmt: skip

_ACTIVITY = "CarePlan.activity.detail"
_SESSIONS = f"{_ACTIVITY}.scheduledTiming.repeat"
_MEASURE = "Goal.target.measure"
PLAN = [
    Mapped("plan", "id", f"CarePlan.identifier.where({_RECORD}).value", "words",
           "within the record's path"),
    Mapped("plan", "date", "CarePlan.created", note="and period.start, Goal.startDate"),
    Mapped("plan", "therapist", "CarePlan.author.reference", "ref:therapist"),
    Mapped("plan", "referral", "CarePlan.supportingInfo.reference", "ref:referral",
           "R4 basedOn may only name a CarePlan"),
    Mapped("plan", "assessment", "CarePlan.supportingInfo.reference", "ref:assessment",
           "its Encounter, when the bundle has the visits"),
    Mapped("plan", "goals[].id", f"Goal.identifier.where({_RECORD}).value", "words",
           "the plan's path #id"),
    Mapped("plan", "goals[].description", "Goal.description.text"),
    Mapped("plan", "goals[].measure.kind", f"{_MEASURE}.text", "words"),
    Mapped("plan", "goals[].measure.pain", f"{_MEASURE}.text", "words",
           note="pain coded LOINC 72514-3"),
    Mapped("plan", "goals[].measure.instrument", f"{_MEASURE}.coding.code"),
    Mapped("plan", "goals[].measure.joint", f"{_MEASURE}.text", "words"),
    Mapped("plan", "goals[].measure.movement", f"{_MEASURE}.coding.code"),
    Mapped("plan", "goals[].measure.side", f"{_MEASURE}.text", "words"),
    Mapped("plan", "goals[].measure.unit", "Goal.target.detailQuantity.unit",
           note="UCUM-coded when it has a code"),
    Mapped("plan", "goals[].baseline", "Goal.note.text", "words",
           "R4 Goal has no baseline element; Goal.addresses also names the plan assessment's "
           "Observation of the measure, when the bundle holds it and it has that value"),
    Mapped("plan", "goals[].target", "Goal.target.detailQuantity.value"),
    Mapped("plan", "goals[].due", "Goal.target.dueDate"),
    Mapped("plan", "goals[].term", note="short or long term: no R4 element (the due date tells)"),
    Mapped("plan", "techniques[]", f"{_ACTIVITY}.code.coding.code", note="one activity each"),
    Mapped("plan", "regions[]", note="R4 CarePlan activities have no body site (each visit's "
           "Procedure has)"),
    Mapped("plan", "session_minutes", f"{_SESSIONS}.duration", note="durationUnit min"),
    Mapped("plan", "sessions_per_week", f"{_SESSIONS}.frequency",
           note="per repeat.period wk, exactly, as for a referral"),
    Mapped("plan", "weeks", f"{_SESSIONS}.boundsDuration.value"),
    Mapped("plan", "visits", f"{_SESSIONS}.count"),
    Mapped("plan", "home_care[]", f"{_ACTIVITY}.description", note="one activity each"),
    Mapped("plan", "reassess_every", note="every N visits: no R4 element"),
    Mapped("plan", "certification.by", "CarePlan.contributor.reference", "ref:provider"),
    Mapped("plan", "certification.date", note="the certifying signature (Provenance) is not made"),
    Mapped("plan", "certification.received", note="the certifying signature is not made"),
    Mapped("plan", "status", "CarePlan.status", "codes",
           note="Goal.lifecycleStatus alike (revoked: cancelled)"),
    Mapped("plan", "notes", "CarePlan.note.text"),
]  # fmt: skip

MAPPING: tuple[Mapped, ...] = (*PATIENT, *THERAPIST, *PROVIDER, *SETTINGS, *REFERRAL, *PLAN)
CODES: Mapping[tuple[str, str], Mapping[str, str]] = {("plan", "status"): CAREPLAN_STATUS}


def _cell(row: Mapped) -> str:
    """The FHIR column of a row: the path and its note, or why the field has no home."""
    if not row.fhir:
        return f"— {_NOT_EXPORTED}: {row.note}" if row.note else f"— {_NOT_EXPORTED}"
    notes = [row.note] if row.note else []
    if row.how == "codes":
        codes = CODES[(row.kind, row.field)]
        notes.insert(0, ", ".join(f"{k} → {v}" for k, v in codes.items()))
    if row.how.startswith("ref:"):
        notes.insert(0, f"reference to the {row.how[4:]}'s resource")
    if row.how == "words":
        notes.insert(0, "in words")
    note = f" ({'; '.join(notes)})" if notes else ""
    return f"`{row.fhir}`{note}".replace("|", "\\|")


def markdown_rows() -> list[str]:
    """The README's table: a header and one line per row of MAPPING."""
    lines = ["| record field | FHIR |", "|---|---|"]
    lines += [f"| `{row.kind}.{row.field}` | {_cell(row)} |" for row in MAPPING]
    return lines
