"""What a de-identified copy does to each field of each kind (CLINICAL.md §5, HIPAA Safe
Harbor, 45 CFR 164.514(b)(2)), walking every record beside its kind's schema.

The schema decides by default: dates are shifted, enum, code, number and boolean values
kept, email addresses removed, and every other string is free text (dropped unless the
user keeps text; a required one becomes "[removed]"). `ACTIONS` overrides that for the
fields that identify someone (names, contact details, identifiers, geography) and names
the kind every id field refers to; an id field missing from it is an error, so a new
field cannot slip through unhandled (tests walk every schema)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from medmassage import codesets, kinds
from medmassage.export.deid_ids import Pseudonyms
from medmassage.export.deid_shift import (
    is_date_id,
    is_state,
    shift_date,
    shift_date_id,
    shift_datetime,
    zip3,
)
from medmassage.schema_loader import raw_schema

PLACEHOLDER = "[removed]"
_VOCABULARY = "urn:medmassage:schema:vocabulary#/$defs/"
_DROP = object()  # the field is left out of the copy
Path = tuple[str, ...]  # field names, "*" for every item of a list

_ADDRESS: dict[Path, str] = {
    ("street",): "placeholder",
    ("city",): "placeholder",
    ("postal_code",): "zip",
    ("state",): "state",  # Safe Harbor keeps the state (and nothing smaller)
    ("country",): "keep",
}
_PEOPLE: dict[Path, str] = {
    ("phone",): "drop",
    ("fax",): "drop",
    ("email",): "drop",
    ("npi",): "npi",
}


def _under(prefix: Path, table: dict[Path, str]) -> dict[Path, str]:
    return {prefix + path: action for path, action in table.items()}


ACTIONS: dict[str, dict[Path, str]] = {
    "settings": {
        ("practice", "name"): "practice",
        **_under(("practice",), _PEOPLE),
        **_under(("practice", "address"), _ADDRESS),
        ("default_therapist",): "id:therapist",
        ("billing", "tax_id"): "identifier",
    },
    "therapist": {
        ("id",): "id:therapist",
        ("name",): "name",
        ("license", "number"): "license",
        ("license", "jurisdiction"): "state",  # a state, which Safe Harbor keeps
        ("license", "expires"): "date",
        ("credentials",): "keep",
        **_PEOPLE,
    },
    "provider": {
        ("id",): "id:provider",
        ("name",): "name",
        ("organization",): "drop",
        **_PEOPLE,
        **_under(("address",), _ADDRESS),
    },
    "patient": {
        ("id",): "id:patient",
        ("name", "given"): "given",
        ("name", "family"): "family",
        ("name", "preferred"): "drop",
        ("date_of_birth",): "birth",
        ("contact", "phone"): "drop",
        ("contact", "email"): "drop",
        **_under(("contact", "address"), _ADDRESS),
        ("emergency_contact",): "drop",
        ("primary_provider",): "id:provider",
        ("medical_history", "surgeries", "*", "date"): "history",
        ("medical_history", "injuries", "*", "date"): "history",
        ("consent", "guardian", "name"): "placeholder",
        ("insurance", "member_id"): "identifier",
        ("insurance", "group"): "identifier",
        ("insurance", "claim_number"): "identifier",
        ("insurance", "adjuster"): "drop",
        ("insurance", "payer"): "payer",  # Payer 2: no self-pay made of a removed name
    },
    "referral": {
        ("provider",): "id:provider",
        ("diagnoses", "*", "description"): "title",
    },
    "assessment": {("therapist",): "id:therapist", ("referral",): "id:chart"},
    "plan": {
        ("therapist",): "id:therapist",
        ("referral",): "id:chart",
        ("assessment",): "id:chart",
        ("goals", "*", "id"): "id:goal",  # g1, g2: the plan's own labels, named in sessions
        ("goals", "*", "measure", "unit"): "keep",
        ("certification", "by"): "id:provider",
    },
    "session": {
        ("therapist",): "id:therapist",
        ("treatment_plan",): "id:chart",
        ("assessment", "goals", "*", "goal"): "id:goal",
        ("billing", "codes", "*", "modifier"): "keep",
    },
    "attendance": {("therapist",): "id:therapist"},
    "addendum": {("refers_to",): "id:chart", ("author",): "id:therapist"},
    "update": {
        ("provider",): "id:provider",
        ("sessions", "*"): "id:chart",
        ("cc", "*"): "id:provider",
        ("by",): "id:therapist",
        ("document",): "keep",  # the document's kind (physician-update)
        ("file",): "drop",  # the copy sent is not exported (it names the patient)
        ("sha256",): "drop",
    },
}
_SIGNATURE: dict[Path, str] = {
    ("signature", "by"): "id:therapist",
    ("signature", "sha256"): "reseal",
}
_CHART_KINDS = kinds.patient_scoped()
_NUMBER = {"type": "number"}
_UNKNOWN = {"type": "string"}  # a field no schema describes: treated as free text
_DECIDED: dict[tuple[str, Path, int], str] = {}  # (kind, path, id of the node): its action


def action_for(kind: str, path: Path, node: dict[str, Any]) -> str:
    """What the copy does to the field at `path` of a `kind` record, whose schema is
    `node`: ACTIONS, else the schema's verdict. KeyError for an id field not listed."""
    found = ACTIONS.get(kind, {}).get(path) or _SIGNATURE.get(path)
    if found is not None:
        return found
    if path == ("id",) and kind in _CHART_KINDS:
        return "id:self"
    ref = node.get("$ref", "")
    if ref.startswith(_VOCABULARY):
        term = ref[len(_VOCABULARY) :]
        if term == "id":
            raise KeyError(f"{kind}: no action for the id field {'.'.join(path)}")
        # A term list is kept; `text` (required text, not blank) is free text all the same.
        return {"date": "date", "datetime": "datetime", "text": "text"}.get(term, "keep")
    if node.get("type") != "string":
        return "keep"
    if node.get("format") == "email":
        return "drop"
    if any(key in node for key in ("enum", "const", "pattern", "format")):
        return "keep"
    return "text"


@dataclass
class Context:
    """What one record's fields are judged with: its kind, the pseudonyms, the offset of
    its dates and the maps of ids, and the counts the report is made of."""

    kind: str
    pseudonyms: Pseudonyms
    offset: int
    ids: dict[str, dict[str, str]]  # therapist, provider, patient, chart, goal: old -> new
    keep_text: bool
    counts: Counter[tuple[str, str, str]]
    birth: str | None = None  # the grouped birth date of a patient over 89
    shown: dict[str, str] = field(default_factory=dict)  # "name": the record's pseudonym

    def count(self, path: Path, what: str) -> None:
        """One field value `what` happened to (removed, shifted, ...), by its path."""
        shown = ".".join("[]" if part == "*" else part for part in path).replace(".[]", "[]")
        self.counts[(self.kind, shown, what)] += 1


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A schema node with a vocabulary $ref replaced by the term's definition (objects
    such as addresses and signatures are walked into)."""
    ref = node.get("$ref", "")
    if ref.startswith(_VOCABULARY):
        definition: dict[str, Any] = raw_schema("vocabulary")["$defs"][ref[len(_VOCABULARY) :]]
        if definition.get("type") == "object":
            return definition
    return node


def _branch(node: dict[str, Any], value: Any) -> dict[str, Any]:
    """The anyOf branch of `node` that fits `value`'s type (object, else the first)."""
    options = node.get("anyOf") or node.get("oneOf")
    if not options:
        return node
    if isinstance(value, dict):
        return next((o for o in options if o.get("type") == "object"), node)
    return _NUMBER


def transform_record(kind: str, data: dict[str, Any], ctx: Context) -> dict[str, Any]:
    """The de-identified copy of one record; a signed record is sealed again over the
    copy's content (its original hash covered the text that was removed)."""
    result = _object(data, raw_schema(kind), (), ctx)
    if isinstance(result.get("signature"), dict) and "sha256" in result["signature"]:
        from medmassage.signature import fingerprint

        result["signature"]["sha256"] = fingerprint(result)
    return result


def _object(data: dict[str, Any], node: dict[str, Any], path: Path, ctx: Context) -> dict[str, Any]:
    properties = node.get("properties", {})
    required = set(node.get("required", ()))
    out: dict[str, Any] = {}
    for key, value in data.items():
        child = properties.get(key, _UNKNOWN)
        found = _value(value, child, (*path, key), ctx, key in required, data)
        if found is not _DROP:
            out[key] = found
    return out


def _value(
    value: Any, node: dict[str, Any], path: Path, ctx: Context, required: bool, parent: Any
) -> Any:
    """The copy of one value (or _DROP)."""
    if ACTIONS.get(ctx.kind, {}).get(path) == "drop":
        ctx.count(path, "removed")
        return _DROP
    node = _branch(_resolve(node), value)
    if isinstance(value, dict):
        return _object(value, node, path, ctx)
    if isinstance(value, list):
        items = node.get("items", _UNKNOWN)
        kept = [_value(item, items, (*path, "*"), ctx, True, value) for item in value]
        kept = [item for item in kept if item is not _DROP]
        return kept if kept or required or not value else _DROP
    key = (ctx.kind, path, id(node))  # schema nodes live as long as the cached schemas
    if key not in _DECIDED:
        _DECIDED[key] = action_for(ctx.kind, path, node)
    return _leaf(_DECIDED[key], value, path, ctx, required, parent)


def _leaf(action: str, value: Any, path: Path, ctx: Context, required: bool, parent: Any) -> Any:
    """One scalar field's copy by its action (see ACTIONS and `action_for`)."""
    if action == "keep":
        return value
    if action == "reseal":  # recomputed over the copy by `transform_record`
        ctx.count(path, "sealed again over the copy")
        return value
    if action in ("date", "datetime", "history", "birth"):
        return _dated(action, value, path, ctx)
    if action.startswith("id:"):
        return _renamed(action, value, path, ctx)
    if action == "text":
        if ctx.keep_text:
            ctx.count(path, "kept (--keep-text)")
            return value
        ctx.count(path, "removed")
        return PLACEHOLDER if required else _DROP
    if action == "drop" or (action == "zip" and zip3(value) is None):
        ctx.count(path, "removed")
        return _DROP
    if action == "state":
        if is_state(value):
            return value
        ctx.count(path, "removed (not a state)")
        return PLACEHOLDER if required else _DROP
    return _replaced(action, value, path, ctx, parent)


def _renamed(action: str, value: str, path: Path, ctx: Context) -> str:
    """An id as the copy names it. A reference to nothing (which validation reports) is
    renamed too, never kept: dated ids move with the chart, others become `unknown`."""
    new = ctx.ids[action[3:] if action != "id:self" else "chart"].get(value)
    if new is None:
        ctx.count(path, "renamed (refers to nothing)")
        return shift_date_id(value, ctx.offset) if is_date_id(value) else "unknown"
    if new != value:  # g1 stays g1: nothing done, nothing counted
        ctx.count(path, "renamed")
    return new


def _dated(action: str, value: str, path: Path, ctx: Context) -> Any:
    """A date moved by the record's offset; a 90+ patient's birth date grouped and the
    dates of their history (which would tell their age) removed."""
    if action == "birth" and ctx.birth is not None:
        ctx.count(path, "grouped (age over 89)")
        return ctx.birth
    if action == "history" and ctx.birth is not None:
        ctx.count(path, "removed (age over 89)")
        return _DROP
    ctx.count(path, "shifted")
    if action == "datetime":
        return shift_datetime(value, ctx.offset)
    return shift_date(value, ctx.offset)


def _replaced(action: str, value: str, path: Path, ctx: Context, parent: Any) -> str:
    """A field replaced by a placeholder, a pseudonym or a generalisation."""
    if action == "zip":
        ctx.count(path, "generalised (3-digit ZIP)")
        return zip3(value) or "000"
    if action == "title":
        ctx.count(path, "replaced (the code's official title)")
        code = parent.get("code", "") if isinstance(parent, dict) else ""
        return codesets.lookup(str(code)).description or PLACEHOLDER
    ctx.count(path, "removed" if action == "placeholder" else "pseudonymised")
    if action == "npi":
        return ctx.pseudonyms.npi(value)
    if action == "payer":
        return ctx.pseudonyms.label("Payer", value)
    if action in ("identifier", "license"):
        return ctx.pseudonyms.identifier(value, keep_letters=action == "license")
    names = {
        "name": ctx.shown.get("name", PLACEHOLDER),
        "given": "Patient",
        "family": ctx.shown.get("name", PLACEHOLDER),
        "practice": "De-identified Practice",
    }
    return names.get(action, PLACEHOLDER)
