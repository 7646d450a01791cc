"""The SOAP note shows the minutes of each billing code; a note that bills nothing shows the
lines computed from its treatment by the store's 8-minute rule, labelled computed. Rendered
by the CLI (in-process) from a copy of the demo clinic; expected lines computed with `care.billing`
from the same records."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from conftest import run_here

from medmassage.care.billing import billing_lines, billing_settings

FORMATS = ("txt", "md", "html")


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def note(store: Path, ref: str, fmt: str) -> str:
    """The rendered note, as plain one-line text (tags and line wrapping removed)."""
    result = run_here("--root", str(store), "render", "soap", ref, "--format", fmt, "--out", "-")
    assert result.code == 0, result
    return " ".join(re.sub(r"<[^>]+>", " ", result.out).split())


def sessions(store: Path, billed: bool) -> list[tuple[str, Any]]:
    found = []
    for path in sorted(store.glob("patients/*/sessions/*.yaml")):
        data = load(path)
        if bool((data.get("billing") or {}).get("codes")) == billed:
            found.append((f"{path.parts[-3]}/{data['id']}", data))
    return found


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_note_without_billing_shows_the_computed_lines(demo_store: Path, fmt: str) -> None:
    settings = billing_settings(load(demo_store / "medmassage.yaml").get("billing"))
    # a visit with a code under the threshold (shown, no unit) beside one that bills
    ref, lines = next(
        (ref, lines)
        for ref, data in sessions(demo_store, billed=False)
        for lines in [billing_lines(data, settings)]
        if {bool(line.units) for line in lines} == {True, False}
    )
    text = note(demo_store, ref, fmt)
    assert "Billing (computed)" in text
    for line in lines:
        if line.units:
            assert f"{line.code} × {line.units} ({line.minutes} min)" in text
        else:
            assert f"{line.code} ({line.minutes} min, no unit)" in text
    assert f"computed from {sum(line.minutes for line in lines)} timed min" in text


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_billed_note_shows_each_code_with_its_minutes(demo_store: Path, fmt: str) -> None:
    settings = billing_settings(load(demo_store / "medmassage.yaml").get("billing"))
    ref, data = sessions(demo_store, billed=True)[0]
    minutes = {line.code: line.minutes for line in billing_lines(data, settings)}
    text = note(demo_store, ref, fmt)
    assert "Billing (computed)" not in text
    for entry in data["billing"]["codes"]:
        assert f"{entry['code']} × {entry['units']} ({minutes[entry['code']]} min)" in text
