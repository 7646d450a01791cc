"""The words and units of the visit half of the FHIR export: code systems, concepts built
from the store's vocabulary, UCUM quantities, and the small shapes every visit resource
shares. Pure functions over plain data; nothing here reads the store.

Codes come only from sources the project can vouch for: LOINC 72514-3 for pain on the 0-10
numeric rating scale (CLINICAL.md §5), CPT codes from the store's technique table
(CLINICAL.md §2), HL7's own code systems for encounter class, participant and observation
category. Everything else (techniques, body regions, joints, movements, instruments) is
the store's vocabulary term under a `urn:medmassage:vocabulary:` system with its words as the text,
because no code set is given for them and a code must never be invented."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from medmassage.chart import Record
from medmassage.export import fhir_ids

LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
CPT = "http://www.ama-assn.org/go/cpt"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
RECORD_SYSTEM = "urn:medmassage:record"

# CLINICAL.md §5: "pain severity 0-10 verbal numeric rating 72514-3".
PAIN_LOINC = "72514-3"
PAIN_DISPLAY = "Pain severity - 0-10 verbal numeric rating [Score] - Reported"

# Units as the records name them -> UCUM (value, code). Pain and scored questionnaires are
# unitless scores, {score} in UCUM's annotation syntax; percent is %.
_UCUM = {
    "points": "{score}",
    "percent": "%",
    "degrees": "deg",
    "mm": "mm",
    "minutes": "min",
}


@lru_cache(maxsize=1 << 16)
def _named(helper: Callable[..., dict[str, Any]], args: tuple[Any, ...]) -> tuple[str, str]:
    found = helper(*args)
    return str(found["reference"]), str(found["type"])


def ref(helper: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    """A fresh copy of the Reference `helper(*args)` makes (a fhir_ids helper), its urn
    computed once: a chart names its patient, therapist and visit in most resources, and a
    UUID v5 costs more than the rest of a reference."""
    reference, kind = _named(helper, args)
    return {"reference": reference, "type": kind}


def vocabulary(kind: str) -> str:
    """The system URI of one of the store's vocabularies (technique, region, joint...): no
    code set is given for these, and none is invented. The one name for both halves."""
    return f"urn:medmassage:vocabulary:{kind}"


def label(term: str) -> str:
    """A vocabulary term as people write it: 'trigger_point_therapy' -> 'Trigger point
    therapy'."""
    text = term.replace("_", " ")
    return text[:1].upper() + text[1:]


def coding(system: str, code: str, display: str | None = None) -> dict[str, Any]:
    """A Coding (display only when given)."""
    found: dict[str, Any] = {"system": system, "code": code}
    if display:
        found["display"] = display
    return found


def term(kind: str, value: str, text: str | None = None) -> dict[str, Any]:
    """A CodeableConcept of one vocabulary term, with its words (or `text`) as the text."""
    return {"coding": [coding(vocabulary(kind), value, label(value))], "text": text or label(value)}


def text_concept(text: str) -> dict[str, Any]:
    """A CodeableConcept that is text only."""
    return {"text": text}


def quantity(value: float, unit: str) -> dict[str, Any]:
    """A Quantity in a record's unit word, coded in UCUM where the unit has a UCUM code."""
    found: dict[str, Any] = {"value": value, "unit": unit}
    if unit in _UCUM:
        found.update(system=UCUM, code=_UCUM[unit])
    return found


def category(code: str) -> list[dict[str, Any]]:
    """Observation.category from HL7's observation-category system (survey, exam...)."""
    return [{"coding": [coding(OBSERVATION_CATEGORY, code, label(code))]}]


def identifier(record: Record) -> list[dict[str, Any]]:
    """The record a resource comes from, as a business identifier: its path in the store."""
    return [{"system": RECORD_SYSTEM, "value": record.rel}]


def body_site(region: str, side: str | None) -> dict[str, Any]:
    """A body region as a concept; the side (R4 has no laterality element) in its text."""
    text = label(region) if not side else f"{label(region)}, {side}"
    return term("region", region, text)


def performer(therapist_id: str) -> dict[str, Any]:
    """Reference to the therapist of a record (a Practitioner of the other half)."""
    return ref(fhir_ids.therapist, therapist_id)


def final(record: Record) -> bool:
    """True when what a record says is final: a signed note, or a record of a kind that is
    not signed (an assessment); an unsigned note's figures are preliminary (SPEC §11)."""
    from medmassage.care.episode import is_signed

    return is_signed(record)


def status(record: Record) -> str:
    """Observation.status of a figure from `record`: final, or preliminary when unsigned."""
    return "final" if final(record) else "preliminary"


@dataclass(frozen=True)
class Visit:
    """A record of the chart being exported, with the keys its resources are named by."""

    patient: str
    record: Record

    @property
    def kind(self) -> str:
        """The record's kind: session, assessment, attendance, addendum or update."""
        return self.record.kind

    @property
    def day(self) -> str:
        """The record's date (YYYY-MM-DD)."""
        return str(self.record.data.get("date", ""))

    @property
    def data(self) -> dict[str, Any]:
        """The record's fields."""
        return self.record.data

    def encounter(self) -> dict[str, Any]:
        """Reference to this visit's Encounter."""
        return ref(fhir_ids.encounter, self.patient, self.kind, self.record.id)

    def key(self, resource_type: str, *rest: str) -> str:
        """The id of a resource of this record: its type, the patient, kind, id and `rest`."""
        return fhir_ids.resource_id(resource_type, self.patient, self.kind, self.record.id, *rest)
