"""Signing times (issue 12, item 6), through the CLI on a private copy of the demo
clinic: a signature falls between the visit and now (with a little clock skew allowed),
and a note signed past the clinic's window is refused before signing unless it is
labelled late with --late."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from conftest import TODAY, Result, run_here

from medmassage.signature import CLOCK_SKEW
from medmassage.yamlio import dump, load_file

REF = "p-0001/2026-11-19"  # unsigned in the demo clinic


def note_path(root: Path) -> Path:
    patient, session = REF.split("/")
    return root / "patients" / patient / "sessions" / f"{session}.yaml"


def mm(root: Path, *args: str) -> Result:
    """The CLI in this process (the last test runs a real one)."""
    return run_here("--root", str(root), *args)


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


# --------------------------------------------- a copied note, a twice-imported intake


def test_a_note_copied_from_the_previous_visit_is_a_cloned_note_warning(store: Path) -> None:
    sessions = sorted((store / "patients" / "p-0001" / "sessions").glob("*.yaml"))
    previous = load_file(sessions[-1], "note")
    day = dt.date.fromisoformat(str(previous["date"])) + dt.timedelta(days=1)
    copy = {k: v for k, v in previous.items() if k not in ("signature", "late")}
    copy["id"] = copy["date"] = day.isoformat()
    target = sessions[-1].with_name(f"{day}.yaml")
    target.write_text(dump(copy), encoding="utf-8")
    today = (day + dt.timedelta(days=1)).isoformat()
    result = mm(store, "validate", "--format", "json", "--today", today)
    assert result.code == 0, result
    found = [p for p in result.json()["problems"] if p["rule"] == "integrity/cloned-note"]
    rel = target.relative_to(store).as_posix()
    assert [(p["file"], p["severity"]) for p in found] == [(rel, "warning")]
    assert str(previous["id"]) in found[0]["message"]
    assert str(previous["subjective"]["report"])[:20] not in found[0]["message"]
    # One changed word in the visit's own findings: it is a note of its own again.
    copy["subjective"] = {**copy["subjective"], "pain": (copy["subjective"]["pain"] + 1) % 10}
    target.write_text(dump(copy), encoding="utf-8")
    again = mm(store, "validate", "--format", "json", "--today", today)
    assert "integrity/cloned-note" not in {p["rule"] for p in again.json()["problems"]}


def test_the_same_intake_imported_twice_is_a_duplicate_patient_warning(
    store: Path, tmp_path: Path
) -> None:
    existing = load_file(store / "patients" / "p-0002" / "patient.yaml", "patient")
    intake = {k: v for k, v in existing.items() if k != "id"}
    intake["name"] = {**intake["name"], "family": f"  {intake['name']['family'].upper()} "}
    source = tmp_path / "intake.yaml"
    source.write_text(dump(intake), encoding="utf-8")
    created = mm(store, "create", "patient", "--from", str(source))
    assert created.code == 0, created
    new_id = Path(created.out.strip()).parent.name
    assert new_id != "p-0002"
    warned = [line for line in created.err.splitlines() if "ref/duplicate-patient" in line]
    assert len(warned) == 1 and "p-0002" in warned[0] and new_id in warned[0], created
    family = str(existing["name"]["family"])
    assert family.casefold() not in created.err.casefold(), "names are never echoed"
    result = mm(store, "validate", "--format", "json", "--today", TODAY)
    found = [p for p in result.json()["problems"] if p["rule"] == "ref/duplicate-patient"]
    assert [p["file"] for p in found] == [f"patients/{new_id}/patient.yaml"], result
    assert "p-0002" in found[0]["message"] and family not in found[0]["message"]
    assert str(existing["date_of_birth"]) not in found[0]["message"]


def test_a_refused_signature_suggests_commands_with_the_root_given(store: Path) -> None:
    """The fix a refusal prints must work as typed: it carries the --root the user gave."""
    from conftest import run_cli as _run

    result = _run("sign", "p-0006/2026-11-20", "--root", str(store), "--today", "2026-12-02")
    assert result.code != 0
    suggested = [line for line in result.err.splitlines() if "not signed:" in line]
    assert suggested and all(f"medmassage --root {store} " in line for line in suggested)
