"""Text a record must have is more than white space: every field whose schema refers to
the vocabulary's `text` (a goal's description, a medication's name, a therapist's name...)
refuses an empty string and a string of spaces, tabs or line breaks alone, in the fast
path (the compiled validator) and the explaining path (jsonschema, then explain.py) alike,
with a located error at the field. White space is what ECMA-262 calls it (`\\s`: its
WhiteSpace and LineTerminator), since editors and ajv read the schemas' patterns so.

A timestamp's UTC offset (the vocabulary's `datetime`) lies between -14:00 and +14:00."""

from __future__ import annotations

import copy
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO, TODAY, run_cli
from fhir_stores import copy_demo
from hypothesis import given
from hypothesis import strategies as st

from medmassage import kinds
from medmassage import schema_loader as schemas
from medmassage.explain import explain
from medmassage.export.deid_fields import ACTIONS, action_for
from medmassage.store import Store
from medmassage.yamlio import dump, json_path, load_file

TEXT_REF = "urn:medmassage:schema:vocabulary#/$defs/text"
# ECMA-262 white space: TAB VT FF SP NBSP ZWNBSP, every Zs character, LF CR LS PS.
ECMA_SPACE = "\t\v\f \u00a0\ufeff\n\r\u2028\u2029" + "".join(
    c for c in map(chr, range(0x10000)) if unicodedata.category(c) == "Zs"
)
Path_ = tuple[str | int, ...]


def is_text(node: Any) -> bool:
    """Whether a schema node of the bundled schema is a field of required text."""
    return isinstance(node, dict) and node.get("$ref") == "#/$defs/text"


def text_fields(node: Any, data: Any, defs: dict[str, Any], at: Path_ = ()) -> Iterator[Path_]:
    """The path of every value in `data` held by a field of required text."""
    if is_text(node) and isinstance(data, str):
        yield at
        return
    if isinstance(node, dict) and "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[1]]
    if isinstance(data, dict) and isinstance(node, dict):
        if "anyOf" in node:
            node = next((o for o in node["anyOf"] if o.get("type") == "object"), node)
        for key, value in data.items():
            yield from text_fields(node.get("properties", {}).get(key), value, defs, (*at, key))
    elif isinstance(data, list) and isinstance(node, dict):
        for place, value in enumerate(data):
            yield from text_fields(node.get("items"), value, defs, (*at, place))


def demo_texts() -> list[tuple[str, str, Path_]]:
    """(file, kind, field path) of every text a demo record holds in a field of required
    text."""
    found = []
    for entry in Store(DEMO).walk():
        if entry.kind is None:
            continue
        schema = schemas.bundled(entry.kind)
        data = load_file(DEMO / entry.rel, entry.rel)
        for at in text_fields(schema, data, schema.get("$defs", {})):
            found.append((entry.rel, entry.kind, at))
    return found


DEMO_TEXTS = demo_texts()


def with_value(rel: str, at: Path_, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(load_file(DEMO / rel, rel))
    node = data
    for step in at[:-1]:
        node = node[step]
    node[at[-1]] = value
    return data


def verdicts(kind: str, data: dict[str, Any]) -> tuple[bool, bool]:
    """(fast path, jsonschema): whether each accepts the record."""
    fast = schemas.fast_validator(kind)(data)
    return bool(fast), bool(schemas.validator(kind).is_valid(data))


def test_every_field_of_required_text_uses_the_shared_definition() -> None:
    # A string with a minimum length anywhere but in `text` would let white space through.
    text = schemas.raw_schema("vocabulary")["$defs"]["text"]
    stack: list[Any] = [schemas.raw_schema(k) for k in (*kinds.names(), "vocabulary")]
    loose = []
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if "minLength" in node and node != text:
                loose.append(node.get("description", "?"))
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    assert loose == []
    kinds_with_text = {kind for _, kind, _ in DEMO_TEXTS}
    assert len(DEMO_TEXTS) > 50 and {"patient", "plan", "therapist", "settings"} <= kinds_with_text


BLANKS = ["", " ", "  \t", "\n", "\u00a0\u3000", " \r\n "]


@pytest.mark.parametrize("first", range(len(BLANKS)))
def test_blank_required_text_is_an_error_at_its_field_in_both_paths(first: int) -> None:
    """Every required text of the demo, blanked, is one located error in both paths. Each
    field is blanked once, the six blanks taken in turn (each case holds a sixth of the
    fields and every blank): every field refers to the one `text` definition (tested
    above), so a blank refused in one field is refused in all."""
    for index, (rel, kind, at) in enumerate(DEMO_TEXTS):
        if index % len(BLANKS) != first:
            continue
        blank = BLANKS[(index // len(BLANKS) + first) % len(BLANKS)]
        data = with_value(rel, at, blank)
        assert verdicts(kind, data) == (False, False), (rel, at)
        findings = [
            finding
            for error in schemas.validator(kind).iter_errors(data)
            for finding in explain(rel, error)
        ]
        assert [(f.path, f.severity) for f in findings] == [(at, "error")], (rel, at)
        assert findings[0].rule == ("schema/min-length" if blank == "" else "schema/pattern")


def test_ordinary_text_passes_in_both_paths() -> None:
    for rel, kind, at in DEMO_TEXTS[:: max(1, len(DEMO_TEXTS) // 12)]:
        for text in ("Neck pain", " x ", "\t.\n", "é", "٣"):
            assert verdicts(kind, with_value(rel, at, text)) == (True, True), (rel, at, text)


# One field of each kind of holder: a top-level text, one in a list of objects, one in a
# list of strings, one in the vocabulary's address.
def _sample() -> list[tuple[str, str, Path_]]:
    picked: dict[tuple[int, bool], tuple[str, str, Path_]] = {}
    for rel, kind, at in DEMO_TEXTS:
        picked.setdefault((len(at), isinstance(at[-1], int)), (rel, kind, at))
    return list(picked.values())


SAMPLE = _sample()
SPACES_OR_NOT = st.text(
    alphabet=st.sampled_from(ECMA_SPACE) | st.characters(exclude_categories=("Cs",)), max_size=8
)


@given(st.sampled_from(SAMPLE), SPACES_OR_NOT)
def test_text_is_accepted_exactly_when_it_has_a_character_that_is_not_white_space(
    field: tuple[str, str, Path_], text: str
) -> None:
    rel, kind, at = field
    wanted = any(char not in ECMA_SPACE for char in text)
    assert verdicts(kind, with_value(rel, at, text)) == (wanted, wanted)


def test_validate_locates_each_blank_text_in_the_file(tmp_path: Path) -> None:
    store = copy_demo(tmp_path / "store")
    # One text blanked in each file of settings, therapists, patients and plans.
    chosen = {
        rel: (rel, at)
        for rel, _, at in DEMO_TEXTS
        if "/" not in rel
        or rel.startswith("therapists/")
        or rel.endswith("/patient.yaml")
        or "/plans/" in rel
    }
    for rel, at in chosen.values():
        (store / rel).write_text(dump(with_value(rel, at, "  ")), encoding="utf-8")
    done = run_cli("--root", str(store), "validate", "--today", TODAY, "--format", "json")
    assert done.code == 1, done
    errors = [p for p in done.json()["problems"] if p["severity"] == "error"]
    assert {(p["file"], p["path"]) for p in errors} == {
        (rel, json_path(at)) for rel, at in chosen.values()
    }
    assert all(p["line"] > 0 and p["column"] > 0 for p in errors)
    assert len(errors) >= 3


def test_de_identification_still_removes_the_free_text_among_them() -> None:
    # The shared definition is a vocabulary $ref, which de-identification would otherwise
    # keep as a term: a chief complaint or a medication name is still free text to it.
    judged = {}
    for _, kind, at in DEMO_TEXTS:
        path = tuple("*" if isinstance(step, int) else step for step in at)
        if path in ACTIONS.get(kind, {}):
            continue
        node: Any = schemas.raw_schema(kind)
        for step in path:
            node = node["items"] if step == "*" else node["properties"][step]
            options = node.get("anyOf", [])
            node = next((o for o in options if o.get("type") == "object"), node)
        judged[(kind, path)] = action_for(kind, path, node)
    assert judged and set(judged.values()) == {"text"}, judged


OFFSETS = st.tuples(st.sampled_from("+-"), st.integers(0, 30), st.integers(0, 99))
SIGNED = next(
    e.rel
    for e in Store(DEMO).walk()
    if e.kind == "session" and "signature" in load_file(DEMO / e.rel, e.rel)
)


@given(OFFSETS)
def test_a_timestamps_offset_lies_within_fourteen_hours(offset: tuple[str, int, int]) -> None:
    sign, hours, minutes = offset
    stamp = f"2026-11-20T10:00:00{sign}{hours:02d}:{minutes:02d}"
    data = with_value(SIGNED, ("signature", "at"), stamp)
    wanted = minutes < 60 and (hours, minutes) <= (14, 0)
    assert verdicts("session", data) == (wanted, wanted), stamp
