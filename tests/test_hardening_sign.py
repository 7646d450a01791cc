"""Signing times (issue 12, item 6), through the real CLI on a private copy of the demo
clinic: a signature falls between the visit and now (with a little clock skew allowed),
and a note signed past the clinic's window is refused before signing unless it is
labelled late with --late."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from conftest import TODAY, Result, run_cli

from medmassage.signature import CLOCK_SKEW
from medmassage.yamlio import load_file

REF = "p-0001/2026-11-19"  # unsigned in the demo clinic


def note_path(root: Path) -> Path:
    patient, session = REF.split("/")
    return root / "patients" / patient / "sessions" / f"{session}.yaml"


def mm(root: Path, *args: str) -> Result:
    return run_cli("--root", str(root), *args)


def window(root: Path) -> int:
    """The clinic's signing window, as its settings say."""
    return int(load_file(root / "medmassage.yaml", "settings")["signing"]["late_after_days"])


def visit_day(root: Path) -> dt.date:
    return dt.date.fromisoformat(str(load_file(note_path(root), "note")["date"]))


def stamp(moment: dt.datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def rules(root: Path) -> list[dict[str, Any]]:
    result = mm(root, "validate", "--format", "json", "--today", TODAY)
    assert result.code in (0, 1) and "Traceback" not in result.err, result
    return [p for p in result.json()["problems"] if p["file"].endswith("2026-11-19.yaml")]


@pytest.mark.parametrize("at", ["2030-01-01T10:00:00+00:00", "future-by-skew"])
def test_a_signing_time_in_the_future_is_refused(store: Path, at: str) -> None:
    if at == "future-by-skew":  # just past the skew allowed
        ahead = CLOCK_SKEW + dt.timedelta(minutes=2)
        at = stamp(dt.datetime.now(dt.UTC) + ahead)
    before = note_path(store).read_bytes()
    result = mm(store, "sign", REF, "--at", at, "--late", "--today", TODAY)
    assert result.code == 2 and "in the future" in result.err, result
    assert f"{int(CLOCK_SKEW.total_seconds() // 60)} minutes" in result.err
    assert "Traceback" not in result.err
    assert note_path(store).read_bytes() == before


def test_a_signing_time_within_the_clock_skew_is_accepted(store: Path) -> None:
    at = stamp(dt.datetime.now(dt.UTC) + CLOCK_SKEW - dt.timedelta(minutes=2))
    result = mm(store, "sign", REF, "--at", at, "--late", "--today", TODAY)
    assert result.code == 0, result
    assert load_file(note_path(store), "note")["signature"]["at"] == at


def test_signing_past_the_window_asks_for_late_before_signing(store: Path) -> None:
    days = window(store) + 1
    at = f"{visit_day(store) + dt.timedelta(days=days)}T09:00:00-08:00"
    before = note_path(store).read_bytes()
    refused = mm(store, "sign", REF, "--at", at, "--today", TODAY)
    assert refused.code == 1 and "--late" in refused.err, refused
    assert f"{days - window(store)} day past the clinic's signing window" in refused.err
    assert note_path(store).read_bytes() == before, "refused before anything was written"

    labelled = mm(store, "sign", REF, "--at", at, "--late", "--today", TODAY)
    assert labelled.code == 0, labelled
    signed = load_file(note_path(store), "note")
    assert signed["late"] is True and signed["signature"]["at"] == at
    assert [p["rule"] for p in rules(store)] == []


def test_signing_inside_the_window_needs_no_label(store: Path) -> None:
    at = f"{visit_day(store) + dt.timedelta(days=window(store))}T09:00:00-08:00"
    result = mm(store, "sign", REF, "--at", at, "--today", TODAY)
    assert result.code == 0, result
    assert "late" not in load_file(note_path(store), "note")


def test_signing_an_old_note_now_asks_for_late(store: Path) -> None:
    age = (dt.date.today() - visit_day(store)).days
    if age <= window(store):
        pytest.skip("the machine's clock is inside the demo note's signing window")
    before = note_path(store).read_bytes()
    refused = mm(store, "sign", REF, "--today", TODAY)
    assert refused.code == 1 and "--late" in refused.err, refused
    assert f"{age - window(store)} day" in refused.err
    assert note_path(store).read_bytes() == before
    labelled = mm(store, "sign", REF, "--late", "--today", TODAY)
    assert labelled.code == 0, labelled
    assert load_file(note_path(store), "note")["late"] is True
