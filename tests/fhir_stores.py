"""Copies of the demo clinic for the FHIR export's tests, changed through the real CLI or
as a person edits the YAML, and the bundles `export fhir` writes for them."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conftest import DEMO, PROJECT, TODAY, run_here

from medmassage.yamlio import dump, load_file

# Schema keywords that make a string field something other than free text.
CODED = {"minLength", "pattern", "format", "enum", "const", "$ref"}


def copy_demo(store: Path) -> Path:
    """A copy of the demo clinic at `store` (without its rendered files and cache)."""
    shutil.copytree(DEMO, store, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    return store


def exported(store: Path, out: Path) -> dict[str, dict[str, Any]]:
    """The store checked valid by `validate`, then every bundle `export fhir --out` wrote
    for it, by patient."""
    checked = run_here("--root", str(store), "validate", "--today", TODAY)
    assert checked.code == 0, checked
    done = run_here("--root", str(store), "export", "fhir", "--out", str(out), "--today", TODAY)
    assert done.code == 0, done
    return {
        path.name.removesuffix(".fhir.json"): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(out.glob("*.fhir.json"))
    }


def send_an_update(store: Path) -> None:
    """Send a physician update of the first patient with a referral to the referring
    provider, with a copy to another provider (the CLI, run in this process)."""
    referral = sorted(store.glob("patients/*/referrals/*.yaml"))[0]
    patient = referral.parent.parent.name
    to = str(load_file(referral, referral.name)["provider"])
    cc = sorted(p.stem for p in (store / "providers").glob("*.yaml") if p.stem != to)[0]
    at = f"{TODAY}T16:30:00-08:00"
    args = ("physician-update", patient, "--via", "fax", "--to", to, "--cc", cc)
    sent = run_here("--root", str(store), "send", *args, "--at", at, "--today", TODAY)
    assert sent.code == 0, sent


def free_text_fields() -> set[str]:
    """The names of the record fields that hold optional free text (blank passes their
    schema): string properties with no minimum length, pattern, format or list of values,
    wherever a property of that name appears in the schemas."""
    free: set[str] = set()
    coded: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for name, schema in (node.get("properties") or {}).items():
                if not isinstance(schema, dict):
                    continue
                if schema.get("type") == "string" and not CODED & schema.keys():
                    free.add(name)
                elif schema.get("type") != "object":
                    coded.add(name)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    for path in sorted((PROJECT / "schemas").glob("*.schema.json")):
        walk(json.loads(path.read_text(encoding="utf-8")))
    return free - coded


def blank_free_text(store: Path) -> list[str]:
    """In every unsigned record, each free-text field in turn made all white space or given
    a final line break (as a YAML `|` block keeps it); the texts given a line break."""
    fields, padded, turn = free_text_fields(), [], 0

    def change(node: Any) -> None:
        nonlocal turn
        items = node.items() if isinstance(node, dict) else enumerate(node)
        for key, value in list(items):
            if isinstance(value, str) and key in fields:
                turn += 1
                node[key] = "  " if turn % 2 else value + "\n"
                padded.extend([] if turn % 2 else [value])
            elif isinstance(value, dict | list):
                change(value)

    for path in sorted(store.rglob("*.yaml")):
        rel = path.relative_to(store).as_posix()
        data = load_file(path, rel)
        if "signature" not in data and not rel.startswith("schemas/"):
            change(data)
            path.write_text(dump(data), encoding="utf-8")
    return padded


def references(node: Any) -> Iterator[str]:
    """Every `reference` string anywhere under `node` (a bundle, a resource, a list)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)
