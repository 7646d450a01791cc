"""The rule registry is complete: every code the package can emit is registered, every
registered code can be emitted, and findings carry the registered severity."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import medmassage
from medmassage.explain import rule_of
from medmassage.rules import REGISTRY, RULES

PACKAGE = Path(medmassage.__file__).resolve().parent
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
FAMILIES = "syntax|schema|layout|ref|clinical|billing|integrity"
CODE = re.compile(rf"^({FAMILIES})/[a-z][a-z0-9-]*[a-z0-9]$")
# Codes built at run time from a prefix; each family is tested by behaviour elsewhere:
# schema/<keyword> below, ref/unknown-<kind> in test_references (every reference broken).
DYNAMIC = {"schema/", "ref/unknown-"}
# Words of a schema that are not constraints, so never reported.
NOT_CONSTRAINTS = {"$schema", "$id", "$ref", "$defs", "title", "description", "default"}
NOT_CONSTRAINTS |= {"properties", "items"}  # structure: their contents are checked


def emitted() -> tuple[set[str], set[str]]:
    """(literal codes, prefixes of f-string codes) written anywhere in the package."""
    literal: set[str] = set()
    prefixes: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if CODE.match(node.value):
                    literal.add(node.value)
            elif isinstance(node, ast.JoinedStr) and node.values:
                head = node.values[0]
                if isinstance(head, ast.Constant) and CODE.match(f"{head.value}x"):
                    prefixes.add(str(head.value))
    return literal, prefixes


def test_every_literal_code_is_registered() -> None:
    literal, _ = emitted()
    assert literal, "the scan found no rule codes at all"
    assert sorted(literal - set(REGISTRY)) == []


def test_codes_built_at_run_time_come_from_known_families() -> None:
    _, prefixes = emitted()
    assert prefixes <= DYNAMIC, prefixes - DYNAMIC


def test_every_registered_code_can_be_emitted() -> None:
    literal, _ = emitted()
    dead = {
        code
        for code in REGISTRY
        if code not in literal and not any(code.startswith(p) for p in DYNAMIC)
    }
    assert dead == set()


def schema_keywords() -> set[str]:
    found: set[str] = set()

    def walk(node: object, names_here: bool = False) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if not names_here:
                    found.add(key)
                walk(value, names_here=not names_here and key in ("properties", "$defs"))
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in SCHEMAS.glob("*.json"):
        walk(json.loads(path.read_text(encoding="utf-8")))
    return found - NOT_CONSTRAINTS


def test_every_schema_keyword_has_its_own_registered_code() -> None:
    keywords = schema_keywords()
    assert {"required", "enum", "additionalProperties"} <= keywords
    for keyword in keywords:
        assert rule_of(keyword) != "schema/invalid", keyword
        assert rule_of(keyword) in REGISTRY, keyword


def test_an_unknown_keyword_falls_back_to_a_registered_code() -> None:
    assert rule_of("dependentSchemas") == "schema/invalid" and "schema/invalid" in REGISTRY


def test_rows_are_well_formed() -> None:
    for code, info in REGISTRY.items():
        assert info.code == code and CODE.match(code), code
        assert info.severity in ("error", "warning"), code
        assert info.summary and "\n" not in info.summary and not info.summary.endswith("."), code


def test_rules_are_a_tuple_of_plain_functions() -> None:
    assert isinstance(RULES, tuple) and RULES
    assert all(callable(rule) and rule.__doc__ for rule in RULES)
