"""Where each field of a visit record goes in the FHIR export: one row per record field,
naming the resource and the element that hold it (SPEC §10; issue 16: "a test maps every
record field that has a FHIR home to where it went"). The README's table under "Visits,
measures and documents" is `markdown_table()`, and the tests check both that the README
shows these rows and that each demo record's values are found where a row says.

`how` says how the value is held: `value` as it is; `text` inside a text (its words);
`ref:<what>` as a reference to the resource named by the value; `base64` base64-encoded;
`ni` as an RFC 6920 `ni:` name of a SHA-256; `record` only in the record file that the
record's DocumentReference attaches (no element of R4 holds it as data); `none` nowhere."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Mapped:
    """One record field (`[]`: each item of a list) and where the export puts it."""

    kind: str
    field: str
    resource: str
    element: str
    how: str = "value"
    note: str = ""

    @property
    def record_field(self) -> str:
        """The field as the README names it: kind.path."""
        return f"{self.kind}.{self.field}"

    @property
    def fhir(self) -> str:
        """Where it goes, in words for the README table."""
        place = f"{self.resource}.{self.element}"
        if self.how == "none":
            return f"no FHIR home: {self.note}"
        if self.how == "record":
            return "only in the attached record file" + (f" ({self.note})" if self.note else "")
        if self.how.startswith("ref:"):
            place = f"{place} → {_TARGETS[self.how[4:]]}"
        else:
            place += _HOW_WORDS.get(self.how, "")
        return place + (f" ({self.note})" if self.note else "")


# What a `ref:` row's value names.
_TARGETS = {
    "therapist": "the therapist's Practitioner",
    "provider": "the provider's Practitioner",
    "care_plan": "the plan's CarePlan",
    "referral": "the referral's ServiceRequest",
    "goal": "the plan goal's Goal",
    "session_document": "the note's DocumentReference",
    "session_encounter": "the visit's Encounter",
}
_HOW_WORDS = {"text": " (in the text)", "base64": " (base64)", "ni": " (an RFC 6920 ni: name)"}

_PAIN = "Observation.code LOINC 72514-3"


def _measures(kind: str, prefix: str) -> tuple[Mapped, ...]:
    """Range of motion, palpation and outcome scores, which sessions keep under
    `objective` and assessments at the top."""
    rom, palp, out = (
        f"{prefix}range_of_motion[]",
        f"{prefix}palpation[]",
        f"{prefix}outcome_measures[]",
    )
    qr = "QuestionnaireResponse"
    return (
        Mapped(kind, f"{rom}.joint", "Observation", "bodySite.coding.code"),
        Mapped(kind, f"{rom}.movement", "Observation", "code.coding.code"),
        Mapped(kind, f"{rom}.side", "Observation", "bodySite.text", "text"),
        Mapped(kind, f"{rom}.degrees", "Observation", "valueQuantity.value", note="UCUM deg or mm"),
        Mapped(kind, f"{rom}.unit", "Observation", "valueQuantity.unit"),
        Mapped(kind, f"{rom}.painful", "Observation", "component.valueBoolean"),
        Mapped(kind, f"{rom}.notes", "Observation", "note.text"),
        Mapped(kind, f"{palp}.region", "Observation", "bodySite.coding.code"),
        Mapped(kind, f"{palp}.muscle", "Observation", "bodySite.text", "text"),
        Mapped(kind, f"{palp}.side", "Observation", "bodySite.text", "text"),
        Mapped(kind, f"{palp}.finding", "Observation", "valueCodeableConcept.coding.code"),
        Mapped(kind, f"{palp}.notes", "Observation", "note.text"),
        Mapped(kind, f"{out}.instrument", "Observation", "code.coding.code"),
        Mapped(
            kind, f"{out}.score", "Observation", "valueQuantity.value", note="scored from items"
        ),
        Mapped(kind, f"{out}.unit", "Observation", "valueQuantity.unit"),
        Mapped(kind, f"{out}.items[]", qr, "item.item.answer.valueDecimal"),
        Mapped(kind, f"{out}.items[].activity", qr, "item.item.text"),
        Mapped(kind, f"{out}.items[].score", qr, "item.item.answer.valueDecimal"),
        Mapped(kind, f"{out}.notes", "Observation", "note.text"),
    )


def _signature(kind: str) -> tuple[Mapped, ...]:
    return (
        Mapped(kind, "signature.by", "Provenance", "agent.who.reference", "ref:therapist"),
        Mapped(kind, "signature.at", "Provenance", "recorded"),
        Mapped(kind, "signature.sha256", "Provenance", "signature.data", "base64"),
    )


def _kept(kind: str, *fields: str, note: str = "") -> tuple[Mapped, ...]:
    return tuple(
        Mapped(kind, f, "DocumentReference", "content.attachment.data", "record", note)
        for f in fields
    )


_ZONE = "a time of day needs a UTC offset in FHIR; the store keeps no time zone"
SESSION: tuple[Mapped, ...] = (
    Mapped("session", "id", "Encounter", "identifier.value", "text"),
    Mapped("session", "date", "Encounter", "period.start"),
    *_kept("session", "time", note=_ZONE),
    Mapped("session", "duration_minutes", "Encounter", "length.value", note="UCUM min"),
    Mapped(
        "session", "therapist", "Encounter", "participant.individual.reference", "ref:therapist"
    ),
    Mapped("session", "treatment_plan", "Procedure", "basedOn.reference", "ref:care_plan"),
    *_kept("session", "subjective.report", "subjective.since_last", "subjective.home_care_done"),
    Mapped(
        "session",
        "subjective.pain",
        "Observation",
        "valueQuantity.value",
        note=f"{_PAIN}, before treatment",
    ),
    *_kept("session", "objective.findings"),
    *_measures("session", "objective."),
    Mapped(
        "session", "treatment[].technique", "Procedure", "code.coding.code", note="and its CPT code"
    ),
    Mapped("session", "treatment[].regions[]", "Procedure", "bodySite.coding.code"),
    Mapped("session", "treatment[].side", "Procedure", "bodySite.text", "text"),
    Mapped("session", "treatment[].minutes", "Procedure", "note.text", "text"),
    Mapped("session", "treatment[].pressure", "Procedure", "note.text", "text"),
    Mapped(
        "session",
        "response.pain",
        "Observation",
        "valueQuantity.value",
        note=f"{_PAIN}, after treatment",
    ),
    *_kept("session", "response.feedback", "response.adverse", "assessment.summary"),
    Mapped("session", "assessment.goals[].goal", "Observation", "focus.reference", "ref:goal"),
    Mapped("session", "assessment.goals[].progress", "Observation", "interpretation.coding.code"),
    Mapped("session", "assessment.goals[].value", "Observation", "valueQuantity.value"),
    Mapped("session", "assessment.goals[].note", "Observation", "note.text"),
    *_kept("session", "plan.next_visit", "plan.home_care[]", "plan.notes", "billing", "late"),
    *_signature("session"),
)

ASSESSMENT: tuple[Mapped, ...] = (
    Mapped("assessment", "id", "Encounter", "identifier.value", "text"),
    Mapped("assessment", "date", "Encounter", "period.start"),
    Mapped(
        "assessment", "therapist", "Encounter", "participant.individual.reference", "ref:therapist"
    ),
    Mapped("assessment", "kind", "Encounter", "type.coding.code"),
    Mapped("assessment", "referral", "Encounter", "basedOn.reference", "ref:referral"),
    Mapped("assessment", "chief_complaint", "Encounter", "reasonCode.text"),
    *(
        Mapped("assessment", f"pain.{which}", "Observation", "valueQuantity.value", note=_PAIN)
        for which in ("current", "usual", "worst", "best")
    ),
    *_kept("assessment", "pain.locations[]"),
    *_measures("assessment", ""),
    *_kept("assessment", "function", "stress", "posture", "notes"),
)

ATTENDANCE: tuple[Mapped, ...] = (
    Mapped("attendance", "id", "Encounter", "identifier.value", "text"),
    Mapped("attendance", "date", "Encounter", "period.start"),
    Mapped(
        "attendance", "status", "Encounter", "type.coding.code", note="Encounter.status cancelled"
    ),
    Mapped("attendance", "by", "Encounter", "type.coding.code"),
    Mapped(
        "attendance",
        "reason",
        "",
        "",
        "none",
        "R4 Encounter has no element for why a visit was called off",
    ),
    Mapped(
        "attendance", "therapist", "Encounter", "participant.individual.reference", "ref:therapist"
    ),
)

ADDENDUM: tuple[Mapped, ...] = (
    Mapped("addendum", "id", "DocumentReference", "identifier.value", "text"),
    Mapped(
        "addendum",
        "refers_to",
        "DocumentReference",
        "relatesTo.target.reference",
        "ref:session_document",
        "appends",
    ),
    Mapped("addendum", "kind", "DocumentReference", "type.coding.code"),
    Mapped("addendum", "written_at", "DocumentReference", "date"),
    Mapped("addendum", "author", "DocumentReference", "author.reference", "ref:therapist"),
    Mapped("addendum", "reason", "DocumentReference", "description"),
    *_kept("addendum", "text"),
    *_signature("addendum"),
)

UPDATE: tuple[Mapped, ...] = (
    Mapped("update", "id", "DocumentReference", "identifier.value", "text"),
    Mapped("update", "date", "DocumentReference", "content.attachment.creation"),
    Mapped("update", "provider", "Communication", "recipient.reference", "ref:provider"),
    Mapped("update", "cc[]", "Communication", "recipient.reference", "ref:provider"),
    Mapped("update", "period.from", "DocumentReference", "context.period.start"),
    Mapped("update", "period.to", "DocumentReference", "context.period.end"),
    Mapped("update", "via", "Communication", "medium.coding.code"),
    Mapped("update", "sessions[]", "Communication", "about.reference", "ref:session_encounter"),
    Mapped("update", "document", "DocumentReference", "type.coding.code"),
    Mapped("update", "notes", "DocumentReference", "description"),
    Mapped("update", "format", "DocumentReference", "content.format.code"),
    Mapped("update", "file", "DocumentReference", "content.attachment.title"),
    Mapped("update", "sha256", "DocumentReference", "masterIdentifier.value", "ni"),
    Mapped("update", "sent_at", "Communication", "sent"),
    Mapped("update", "by", "Communication", "sender.reference", "ref:therapist"),
    *_signature("update"),
)

MAPPING: tuple[Mapped, ...] = (*SESSION, *ASSESSMENT, *ATTENDANCE, *ADDENDUM, *UPDATE)


def markdown_table() -> str:
    """The mapping as the README shows it: `| record field | FHIR |`, one row per field."""
    lines = ["| record field | FHIR |", "|---|---|"]
    lines += [f"| `{m.record_field}` | {m.fhir} |" for m in MAPPING]
    return "\n".join(lines)
