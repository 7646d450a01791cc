"""The documents of a chart and their signatures, as FHIR R4 DocumentReference and
Provenance resources.

A note (session), an assessment and an addendum are exported as the record itself: the
attachment holds the record file's bytes (base64), so the document is self-contained and
is exactly what the signature's fingerprint covers (signature.py); a rendered SOAP note
would be a view of it that changes with the templates. A document sent out (SPEC §4.1
"Sent documents") is the exact file kept under patients/<p>/sent/, as its `updates/` log
describes it. Attachments carry their size and R4's `hash`, the base64 SHA-1 of the
bytes; the sha256 the log keeps for a sent file becomes the document's
`masterIdentifier`, an RFC 6920 `ni:` name of that content.

docStatus is `final` for a signed record, or one of a kind that is not signed (an
assessment), `preliminary` for an unsigned one. Each signature becomes a Provenance: the
record's resources as targets, the signing time as `recorded`, the signer as agent, and
the signature block as R4's Signature (its `data` the record's SHA-256 fingerprint:
medmassage signatures are fingerprints, not cryptographic signatures)."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from medmassage.chart import Chart, Record, StoreView
from medmassage.export import fhir_ids
from medmassage.export.fhir_terms import (
    Visit,
    coding,
    final,
    identifier,
    label,
    ref,
    term,
    text_concept,
    vocabulary,
)

Resource = dict[str, Any]

# R4 Signature.type: ASTM E1762-95 signature types (the value set R4 binds it to).
SIGNATURE_TYPES = "urn:iso-astm:E1762-95:2013"
AUTHOR_SIGNATURE = ("1.2.840.10065.1.12.1.1", "Author's Signature")
DOCUMENT_COMPLETION = "http://terminology.hl7.org/CodeSystem/v3-DocumentCompletion"
PARTICIPATION_MODE = "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode"
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
URI_SYSTEM = "urn:ietf:rfc:3986"
RECORD_TYPE = "application/yaml"
SENT_TYPES = {
    "md": "text/markdown; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "txt": "text/plain; charset=utf-8",
}
# How a document went out (the log's `via`) in HL7's participation modes; a document the
# patient carried by hand has no such code and keeps the store's term alone.
_MEDIA = {
    "fax": ("FAXWRIT", "telefax"),
    "email": ("EMAILWRIT", "email"),
    "mail": ("MAILWRIT", "mail"),
    "portal": ("ONLINEWRIT", "online written"),
}
_TITLES = {
    "session": "Treatment note (SOAP)",
    "assessment": "Assessment",
    "addendum": "Addendum to a treatment note",
}


def attachment(data: bytes, content_type: str, title: str, creation: str) -> dict[str, Any]:
    """A self-contained Attachment: the bytes (base64), their size and SHA-1 (R4's `hash`
    is the base64 SHA-1 of the data), a title and the day it was made."""
    found = {
        "contentType": content_type,
        "data": base64.b64encode(data).decode("ascii"),
        "size": len(data),
        "hash": base64.b64encode(hashlib.sha1(data).digest()).decode("ascii"),
        "title": title,
    }
    return found | ({"creation": creation} if creation else {})


def record_bytes(view: StoreView, record: Record) -> bytes:
    """The record file as it is in the store; its deterministic dump when the store's
    folder is not known or the file is not a plain file inside it."""
    if view.root is not None:
        path = view.root / record.rel
        if path.is_file() and not path.is_symlink():
            return path.read_bytes()
    from medmassage.yamlio import dump

    return dump(record.data).encode("utf-8")


def sent_bytes(view: StoreView, visit: Visit) -> bytes | None:
    """The kept copy of a sent document (patients/<p>/sent/...), None when it is missing or
    not a plain file."""
    name = visit.data.get("file")
    if view.root is None or not isinstance(name, str):
        return None
    from medmassage.store import Store

    path = Store(view.root).sent_path(visit.patient, name)
    if not path.is_file() or path.is_symlink():
        return None
    return path.read_bytes()


def ni_name(sha256_hex: str) -> str:
    """The RFC 6920 name of content by its SHA-256: ni:///sha-256;<base64url, unpadded>."""
    digest = base64.urlsafe_b64encode(bytes.fromhex(sha256_hex)).decode("ascii").rstrip("=")
    return f"ni:///sha-256;{digest}"


def _document(visit: Visit) -> Resource:
    """The fields every DocumentReference shares."""
    return {
        "resourceType": "DocumentReference",
        "id": visit.key("DocumentReference"),
        "identifier": identifier(visit.record),
        "status": "current",
        "docStatus": "final" if final(visit.record) else "preliminary",
        "subject": ref(fhir_ids.patient, visit.patient),
    }


def documents_of(view: StoreView, chart: Chart, visit: Visit) -> list[Resource]:
    """The DocumentReference of a record: a note or an assessment (the record file), an
    addendum (appending to its note) or a sent document; none for other kinds."""
    if visit.kind in ("session", "assessment"):
        return [note_document(view, visit)]
    if visit.kind == "addendum":
        return [addendum_document(view, chart, visit)]
    if visit.kind == "update":
        return [sent_document(view, chart, visit), sending(chart, visit)]
    return []


def _signing(visit: Visit) -> dict[str, Any]:
    """When and by whom a signed record was authenticated (empty when unsigned)."""
    signature = visit.data.get("signature")
    if not isinstance(signature, dict):
        return {}
    return {"date": signature["at"], "authenticator": ref(fhir_ids.therapist, str(signature["by"]))}


def note_document(view: StoreView, visit: Visit) -> Resource:
    """A session note or an assessment as a document: the record file attached."""
    found = _document(visit)
    found["type"] = text_concept(_TITLES[visit.kind])
    found |= _signing(visit)
    found["author"] = [ref(fhir_ids.therapist, str(visit.data["therapist"]))]
    data = record_bytes(view, visit.record)
    found["content"] = [{"attachment": attachment(data, RECORD_TYPE, visit.record.rel, visit.day)}]
    found["context"] = {
        "encounter": [visit.encounter()],
        "period": {"start": visit.day, "end": visit.day},
    }
    return found


def addendum_document(view: StoreView, chart: Chart, visit: Visit) -> Resource:
    """An addendum, correction or late entry: the record file attached, its reason as the
    description, and (when the note is in the chart) appending to the note's document
    (R4 relatesTo `appends`: the original stays readable, CMS PIM 3.3.2.5)."""
    data = visit.data
    kind = str(data["kind"])
    found = _document(visit)
    found["type"] = term("addendum_kind", kind, f"{_TITLES['addendum']}: {kind.replace('_', ' ')}")
    found["date"] = data["written_at"]
    found["author"] = [ref(fhir_ids.therapist, str(data["author"]))]
    if isinstance(data.get("signature"), dict):
        found["authenticator"] = ref(fhir_ids.therapist, str(data["signature"]["by"]))
    note = chart.of("session").get(str(data["refers_to"]))
    if note is not None and note.valid:
        target = ref(fhir_ids.document_reference, visit.patient, "session", note.id)
        found["relatesTo"] = [{"code": "appends", "target": target}]
    found["description"] = data["reason"]
    day = str(data["written_at"])[:10]
    attached = attachment(record_bytes(view, visit.record), RECORD_TYPE, visit.record.rel, day)
    found["content"] = [{"attachment": attached}]
    if note is not None and note.valid:
        found["context"] = {
            "encounter": [ref(fhir_ids.encounter, visit.patient, "session", note.id)]
        }
    return found


def sent_document(view: StoreView, chart: Chart, visit: Visit) -> Resource:
    """A document sent out, from its `updates/` log: the kept file attached (its title the
    file's name in the chart), the period it covers and the visits it reports on as the
    context, the sender as author, the log's sha256 as an `ni:` master identifier."""
    data = visit.data
    found = _document(visit)
    if data.get("sha256"):
        found["masterIdentifier"] = {"system": URI_SYSTEM, "value": ni_name(str(data["sha256"]))}
    document = str(data.get("document") or "")
    words = label(document.replace("-", " ")) if document else "Sent document"
    found["type"] = term("document", document, words) if document else text_concept(words)
    if data.get("sent_at"):
        found["date"] = data["sent_at"]
    if data.get("by"):
        found["author"] = [ref(fhir_ids.therapist, str(data["by"]))]
    if data.get("notes"):
        found["description"] = data["notes"]
    found["content"] = [_sent_content(view, visit)]
    notes = chart.of("session")
    seen = [s for s in data.get("sessions", []) if s in notes and notes[s].valid]
    context: dict[str, Any] = {
        "period": {"start": data["period"]["from"], "end": data["period"]["to"]}
    }
    if seen:
        context["encounter"] = [ref(fhir_ids.encounter, visit.patient, "session", s) for s in seen]
    found["context"] = context
    return found


def _sent_content(view: StoreView, visit: Visit) -> dict[str, Any]:
    """The content of a sent document: the kept file, or (when it is missing) its title and
    type alone; the file's format (md, html, txt) as the content's format."""
    data = visit.data
    fmt = str(data.get("format") or "")
    kind = SENT_TYPES.get(fmt, "application/octet-stream")
    title = str(data.get("file") or data.get("document") or "sent document")
    kept = sent_bytes(view, visit)
    if kept is None:
        content: dict[str, Any] = {"attachment": {"contentType": kind, "title": title}}
    else:
        content = {"attachment": attachment(kept, kind, title, visit.day)}
    if fmt:
        content["format"] = coding(vocabulary("format"), fmt, fmt)
    return content


def sending(chart: Chart, visit: Visit) -> Resource:
    """The sending of a document, from its `updates/` log: a completed Communication from
    the therapist to the provider (and those copied), by the medium it went, at the time it
    was sent, about the visits it reports on, carrying the DocumentReference."""
    data = visit.data
    via = str(data["via"])
    medium = term("via", via)
    if via in _MEDIA:
        medium["coding"].append(coding(PARTICIPATION_MODE, *_MEDIA[via]))
    people = [str(data["provider"]), *[str(p) for p in data.get("cc", [])]]
    found: Resource = {
        "resourceType": "Communication",
        "id": visit.key("Communication"),
        "identifier": identifier(visit.record),
        "status": "completed",
        "medium": [medium],
        "subject": ref(fhir_ids.patient, visit.patient),
    }
    notes = chart.of("session")
    seen = [s for s in data.get("sessions", []) if s in notes and notes[s].valid]
    if seen:
        found["about"] = [ref(fhir_ids.encounter, visit.patient, "session", s) for s in seen]
    found["sent"] = data.get("sent_at") or visit.day
    found["recipient"] = [ref(fhir_ids.provider, p) for p in people]
    if data.get("by"):
        found["sender"] = ref(fhir_ids.therapist, str(data["by"]))
    document = ref(fhir_ids.document_reference, visit.patient, visit.kind, visit.record.id)
    found["payload"] = [{"contentReference": document}]
    return found


def provenance(visit: Visit, signature: dict[str, Any], signed: list[Resource]) -> Resource:
    """The Provenance of one signature: every resource made from the signed record as the
    target, the signing time as `recorded`, the signer (for the clinic) as author, and the
    signature itself: an author's signature at that time whose data is the record's SHA-256
    fingerprint (hex, base64-encoded) over its canonical JSON (signature.py)."""
    by = ref(fhir_ids.therapist, str(signature["by"]))
    occurred = visit.day or str(visit.data.get("written_at", ""))
    found: Resource = {
        "resourceType": "Provenance",
        "id": visit.key("Provenance"),
        "target": [fhir_ids.reference_to(r) for r in signed],
        **({"occurredDateTime": occurred} if occurred else {}),
        "recorded": signature["at"],
        "activity": {"coding": [coding(DOCUMENT_COMPLETION, "LA", "legally authenticated")]},
        "agent": [
            {
                "type": {"coding": [coding(PARTICIPANT_TYPE, "author", "Author")]},
                "who": by,
                "onBehalfOf": ref(fhir_ids.clinic),
            }
        ],
        "signature": [
            {
                "type": [coding(SIGNATURE_TYPES, *AUTHOR_SIGNATURE)],
                "when": signature["at"],
                "who": by,
                "targetFormat": "application/json",
                "data": base64.b64encode(str(signature["sha256"]).encode("ascii")).decode("ascii"),
            }
        ],
    }
    return found
