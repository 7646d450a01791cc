"""The shipped schemas: valid draft 2020-12, strict objects, documented fields."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import run_cli, run_here
from jsonschema import Draft202012Validator

from medmassage.kinds import NAMES as KINDS
from medmassage.schema_loader import bundled, raw_schema, validator

SCHEMA_DIR = Path(__file__).resolve().parent.parent / "schemas"


def objects(node: Any, where: str = "$") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if node.get("type") == "object" or "properties" in node:
            yield where, node
        for key, value in node.items():
            yield from objects(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from objects(value, f"{where}/{index}")


def test_every_kind_has_a_schema_file() -> None:
    names = sorted(p.name for p in SCHEMA_DIR.glob("*.schema.json"))
    assert names == sorted(f"{kind}.schema.json" for kind in (*KINDS, "vocabulary"))


@pytest.mark.parametrize("name", [*KINDS, "vocabulary"])
def test_schema_is_valid_against_the_metaschema(name: str) -> None:
    Draft202012Validator.check_schema(raw_schema(name))
    Draft202012Validator.check_schema(bundled(name))


@pytest.mark.parametrize("name", [*KINDS, "vocabulary"])
def test_every_object_is_closed_and_every_field_described(name: str) -> None:
    schema = raw_schema(name)
    for where, node in objects(schema):
        assert node.get("additionalProperties") is False, f"{name}: {where} allows unknown fields"
        for field, sub in node.get("properties", {}).items():
            assert sub.get("description"), f"{name}: {where}/{field} has no description"


@pytest.mark.parametrize("kind", KINDS)
def test_bundled_schema_is_self_contained(kind: str) -> None:
    text = json.dumps(bundled(kind))
    assert "urn:medmassage:schema:vocabulary" not in text


def test_vocabulary_extensions_widen_the_enum_only_for_that_store() -> None:
    session = {"technique": "gua_sha"}
    extended = validator("session", (("technique", ("gua_sha",)),))
    plain = validator("session")
    item_schema = bundled("session", (("technique", ("gua_sha",)),))["$defs"]["technique"]
    assert (
        "gua_sha" in item_schema["enum"]
        and "gua_sha" not in bundled("session")["$defs"]["technique"]
    )
    errors_ext = [
        e
        for e in extended.iter_errors({"treatment": [session]})
        if list(e.absolute_path)[-1:] == ["technique"]
    ]
    errors_plain = [
        e
        for e in plain.iter_errors({"treatment": [session]})
        if list(e.absolute_path)[-1:] == ["technique"]
    ]
    assert not errors_ext and errors_plain


def test_schema_command_prints_the_bundled_schema(tmp_path: Path) -> None:
    result = run_cli("schema", "session", cwd=tmp_path)  # a real process
    assert result.code == 0, result
    printed = json.loads(result.out)
    assert printed["$id"] == "urn:medmassage:schema:session"
    Draft202012Validator.check_schema(printed)
    assert "treatment_plan" in printed["required"]


def test_schema_command_rejects_an_unknown_kind(tmp_path: Path) -> None:
    result = run_here("schema", "invoice", cwd=tmp_path)
    assert result.code == 2 and "invoice" in result.err and "Traceback" not in result.err


def test_checking_a_record_never_changes_it() -> None:
    """A schema `default` must not be written into the record being checked: a signed note's
    hash covers every field, so a filled-in default would break its signature."""
    import copy
    import json

    from medmassage.schema_loader import fast_validator
    from medmassage.yamlio import load_file

    demo = Path(__file__).resolve().parent.parent / "records"
    for kind, pattern in (
        ("plan", "patients/*/plans/*.yaml"),
        ("session", "patients/*/sessions/*.yaml"),
    ):
        check = fast_validator(kind)
        for path in sorted(demo.glob(pattern)):
            record = load_file(path, path.name)
            before = copy.deepcopy(record)
            check(record)
            assert json.dumps(record, sort_keys=True) == json.dumps(before, sort_keys=True), path
