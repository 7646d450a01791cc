"""The mapping of visit-record fields to FHIR elements (medmassage/export/fhir_mapping.py):
the README shows exactly its rows, it names every field the schemas allow, and for each
field a demo record holds, the value is found where the row says (issue 16: "a test maps
every record field that has a FHIR home to where it went")."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

from medmassage.chart import Record
from medmassage.export import fhir_ids as ids
from medmassage.export.fhir_mapping import MAPPING, Mapped, markdown_table
from medmassage.schema_loader import raw_schema
from medmassage.yamlio import load_bytes
from tests.conftest import PROJECT
from tests.test_export_fhir_visits import Grouped, both, demo, sent

__all__ = ["demo", "sent"]  # the fixtures, shared with the visit tests

KINDS = ("session", "assessment", "attendance", "addendum", "update")
SECTION = "#### Visits, measures and documents"


def test_the_readme_table_is_the_mapping() -> None:
    text = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = text.split(SECTION, 1)[1].split("\n#", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    assert rows == markdown_table().splitlines()


def _schema_fields(node: dict[str, Any], path: str) -> Iterator[str]:
    """Every field path a schema allows, `[]` for the items of a list."""
    if "$ref" in node:
        name = node["$ref"].split("#/$defs/")[-1]
        node = raw_schema("vocabulary")["$defs"][name]
    for option in node.get("anyOf", []):
        yield from _schema_fields(option, path)
    if node.get("type") == "object" and "properties" in node:
        for key, value in node["properties"].items():
            yield from _schema_fields(value, f"{path}.{key}" if path else key)
    elif node.get("type") == "array":
        yield f"{path}[]"
        yield from _schema_fields(node["items"], f"{path}[]")
    elif path:
        yield path


def test_the_mapping_names_every_field_of_the_visit_records() -> None:
    for kind in KINDS:
        mapped = [m.field for m in MAPPING if m.kind == kind]
        for field in set(_schema_fields(raw_schema(kind), "")):
            covered = any(
                field == m or field.startswith((f"{m}.", f"{m}[")) or m.startswith(f"{field}.")
                for m in mapped
            )
            assert covered, f"{kind}.{field} is not in the FHIR mapping"
        assert len(mapped) == len(set(mapped)), f"a {kind} field is mapped twice"


def _at(node: Any, path: str) -> list[Any]:
    """Every value at a dotted path (`x[]` or a list on the way: each item)."""
    found = [node]
    for step in path.split("."):
        name, each = step.removesuffix("[]"), step.endswith("[]")
        found = [n[name] for n in found if isinstance(n, dict) and name in n]
        found = [i for n in found for i in (n if isinstance(n, list) else [n])]
        if each:
            found = [i for n in found for i in (n if isinstance(n, list) else [n])]
    return found


def _expected_reference(m: Mapped, patient: str, record: Record, value: str) -> str:
    target = m.how.removeprefix("ref:")
    named = {
        "therapist": lambda: ids.therapist(value),
        "provider": lambda: ids.provider(value),
        "care_plan": lambda: ids.care_plan(patient, value),
        "referral": lambda: ids.referral(patient, value),
        "goal": lambda: ids.goal(patient, record.data["treatment_plan"], value),
        "session_document": lambda: ids.document_reference(patient, "session", value),
        "session_encounter": lambda: ids.encounter(patient, "session", value),
    }
    return str(named[target]()["reference"])


def _words(value: Any) -> str:
    return str(value).replace("_", " ").lower()


def _same(value: Any, leaf: Any) -> bool:
    if isinstance(value, bool) or isinstance(leaf, bool):
        return value is leaf
    if isinstance(value, int | float) and isinstance(leaf, int | float):
        return abs(value - leaf) <= 0.05  # a typed total beside the one scored from items
    return bool(value == leaf)


def _found(
    m: Mapped, patient: str, record: Record, found: list[dict[str, Any]], value: Any
) -> bool:
    """Whether `value` of the record is where row `m` says, among the record's resources."""
    if m.how == "record":
        key = ids.resource_id("DocumentReference", patient, record.kind, record.id)
        (document,) = [r for r in found if r["id"] == key]
        data = base64.b64decode(document["content"][0]["attachment"]["data"])
        return value in _at(load_bytes(data, record.rel), m.field)
    leaves = [leaf for r in found if r["resourceType"] == m.resource for leaf in _at(r, m.element)]
    if m.how.startswith("ref:"):
        return _expected_reference(m, patient, record, value) in leaves
    if m.how == "text":
        return any(_words(value) in _words(leaf) for leaf in leaves if isinstance(leaf, str))
    if m.how == "base64":
        return any(base64.b64decode(leaf).decode() == value for leaf in leaves)
    if m.how == "ni":
        digest = base64.urlsafe_b64encode(bytes.fromhex(value)).decode().rstrip("=")
        return f"ni:///sha-256;{digest}" in leaves
    return any(_same(value, leaf) for leaf in leaves)


def test_each_field_of_the_demo_is_found_where_the_mapping_says(demo: Any, sent: Any) -> None:
    checked: set[Mapped] = set()
    for patient, _, _, grouped in both(demo, sent):
        for record, found in grouped:
            for m in (m for m in MAPPING if m.kind == record.kind):
                for value in _at(record.data, m.field):
                    if m.how == "none":
                        assert not _anywhere(value, found), (m, record.rel)
                        continue
                    if value is None or (isinstance(value, dict) and m.how != "record"):
                        continue  # an unanswered item; a PSFS activity (its own rows)
                    assert _found(m, patient, record, found, value), (m, record.rel, value)
                    checked.add(m)
    unchecked = {m.record_field for m in MAPPING if m.how != "none"} - {
        m.record_field for m in checked
    }
    # Fields the demo (and the copy where a document was sent) never fills.
    assert unchecked <= _absent(both(demo, sent)), unchecked


def _anywhere(value: Any, found: list[dict[str, Any]]) -> bool:
    """Whether a text appears in any string of the resources (a field with no home)."""

    def strings(node: Any) -> Iterator[str]:
        if isinstance(node, dict | list):
            for item in node.values() if isinstance(node, dict) else node:
                yield from strings(item)
        elif isinstance(node, str):
            yield node

    return any(str(value) in text for r in found for text in strings(r))


def _absent(charts: Iterator[tuple[str, Any, Any, Grouped]]) -> set[str]:
    """The mapped fields no record of the charts holds."""
    held = {
        m.record_field
        for _, _, _, grouped in charts
        for record, _ in grouped
        for m in MAPPING
        if m.kind == record.kind and any(v is not None for v in _at(record.data, m.field))
    }
    return {m.record_field for m in MAPPING} - held
