"""ref/duplicate-patient on warm runs: who each patient is comes from the validation cache
while their chart is unchanged (a warm run reads no patient file), and an edit that makes
two intakes the same person, or tells them apart again, is seen at once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import TODAY, run_here

from medmassage import yamlio
from medmassage.yamlio import dump, load_file

RULE = "ref/duplicate-patient"


def duplicates(store: Path) -> list[str]:
    result = run_here("--root", str(store), "validate", "--format", "json", "--today", TODAY)
    assert result.code in (0, 1), result
    return sorted(p["file"] for p in result.json()["problems"] if p["rule"] == RULE)


def patient_files_read(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The patient files `yamlio.load_file` is asked for from now on."""
    seen: list[str] = []
    real = yamlio.load_file

    def spy(path: Path, rel: str, *args: Any, **kwargs: Any) -> Any:
        if Path(path).name == "patient.yaml":
            seen.append(rel)
        return real(path, rel, *args, **kwargs)

    monkeypatch.setattr(yamlio, "load_file", spy)
    return seen


def copy_person(store: Path, source: str, target: str) -> None:
    """Give `target` the name and birth date of `source` (as a second intake would)."""
    theirs = load_file(store / "patients" / source / "patient.yaml", "patient")
    path = store / "patients" / target / "patient.yaml"
    mine = load_file(path, "patient")
    mine["name"] = {**mine["name"], **{k: theirs["name"][k] for k in ("given", "family")}}
    mine["date_of_birth"] = theirs["date_of_birth"]
    path.write_text(dump(mine), encoding="utf-8")


def test_a_warm_run_reads_no_patient_file_and_still_finds_duplicates(
    store: Path, trusting: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert duplicates(store) == []
    copy_person(store, "p-0001", "p-0004")
    assert duplicates(store) == ["patients/p-0004/patient.yaml"]
    seen = patient_files_read(monkeypatch)
    assert duplicates(store) == ["patients/p-0004/patient.yaml"]
    assert seen == [], "nothing changed: who each patient is comes from the cache"


def test_telling_two_intakes_apart_again_clears_the_warning(store: Path, trusting: None) -> None:
    copy_person(store, "p-0002", "p-0003")
    assert duplicates(store) == ["patients/p-0003/patient.yaml"]
    copy_person(store, "p-0005", "p-0003")
    assert duplicates(store) == ["patients/p-0005/patient.yaml"]
    copy_person(store, "p-0006", "p-0005")
    assert duplicates(store) == ["patients/p-0006/patient.yaml"]


def test_the_cache_keeps_no_name_or_birth_date(store: Path, trusting: None) -> None:
    duplicates(store)
    cache = b"".join(p.read_bytes() for p in (store / ".medmassage-cache").glob("*.json"))
    person = load_file(store / "patients" / "p-0001" / "patient.yaml", "patient")
    assert str(person["date_of_birth"]).encode() not in cache
