"""`medmassage export fhir` on valid records the demo clinic does not hold, where R4 has a
rule the records' schema does not: through the CLI (in this process; the real-process
export is in test_export_fhir.py) on a copy of the demo clinic, each figure checked against
the record as read from its YAML.

- Timing.repeat.frequency is a positiveInt: visits a week go in as a whole number per a
  whole number of weeks, exactly as written (1.3 a week is 13 every 10 weeks, not the
  nearest fraction of sevenths; 0.05 a week is 1 every 20 weeks, not 0).
- Observation.interpretation is bound (extensibly) to ObservationInterpretation, and R4
  has goal-achievement codes for progress on a goal.
- Elements R4 requires (Goal.description, MedicationStatement.medication[x], Flag.code,
  a Patient.contact's details: pat-1) come from record text the schema requires to be
  more than white space: a blank one is a located error, and its chart is not exported."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import fhir_stores
import pytest
from conftest import TODAY, run_here
from hypothesis import given
from hypothesis import strategies as st

from medmassage.export.fhir_care import per_week
from medmassage.yamlio import dump, load_file

# Rates a referral and its plan may be written with: one every 20 weeks, 1.3 a week.
RATES = {"p-0002": 1.3, "p-0005": 0.05}


def _set_rates(store: Path) -> None:
    for patient, rate in RATES.items():
        for kind, field in (("referrals", "frequency_per_week"), ("plans", "sessions_per_week")):
            for path in sorted((store / "patients" / patient / kind).glob("*.yaml")):
                data = load_file(path, path.name)
                data[field] = rate
                path.write_text(dump(data), encoding="utf-8")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A copy of the demo where two patients' referrals and plans have the RATES, checked
    valid, and its bundles by patient."""
    folder = tmp_path_factory.mktemp("fhir-rules")
    store = fhir_stores.copy_demo(folder / "store")
    _set_rates(store)
    return store, fhir_stores.exported(store, folder / "out")


def _timings(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    found = []
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] == kind == "ServiceRequest":
            found.append(resource["occurrenceTiming"]["repeat"])
        elif resource["resourceType"] == kind == "CarePlan":
            found += [
                a["detail"]["scheduledTiming"]["repeat"]
                for a in resource["activity"]
                if "scheduledTiming" in a["detail"]
            ]
    return found


@pytest.mark.parametrize(
    ("kind", "folder", "field"),
    [
        ("ServiceRequest", "referrals", "frequency_per_week"),
        ("CarePlan", "plans", "sessions_per_week"),
    ],
)
def test_visits_a_week_go_in_exactly_as_written(
    exported: tuple[Path, dict[str, Any]], kind: str, folder: str, field: str
) -> None:
    store, bundles = exported
    for patient in RATES:
        written = [
            load_file(path, path.name)[field]
            for path in sorted((store / "patients" / patient / folder).glob("*.yaml"))
        ]
        timings = _timings(bundles[patient], kind)
        assert len(timings) == len(written) > 0
        for rate, repeat in zip(written, timings, strict=True):
            assert repeat["frequency"] >= 1 and repeat["period"] >= 1
            assert isinstance(repeat["frequency"], int) and isinstance(repeat["period"], int)
            assert Fraction(repeat["frequency"], repeat["period"]) == Fraction(str(rate))
            assert repeat["periodUnit"] == "wk"


@given(st.decimals(min_value=Decimal("0.001"), max_value=Decimal("21"), places=3))
def test_any_rate_with_a_few_decimals_is_held_exactly(rate: Decimal) -> None:
    timing = per_week(float(rate))
    assert 1 <= timing["frequency"] <= 2**31 - 1 and 1 <= timing["period"] <= 2**31 - 1
    assert Fraction(timing["frequency"], timing["period"]) == Fraction(rate)


@given(st.floats(min_value=1e-300, max_value=1e300))
def test_a_rate_no_fhir_integer_holds_is_left_out_not_bent(rate: float) -> None:
    timing = per_week(rate)
    if timing:
        assert 1 <= timing["frequency"] <= 2**31 - 1 and 1 <= timing["period"] <= 2**31 - 1
        assert Fraction(timing["frequency"], timing["period"]) == Fraction(str(rate))


# R4's codes for a verdict on a goal: HL7 goal-achievement, and ObservationInterpretation
# (the value set Observation.interpretation is bound to, extensibly) where one applies.
ACHIEVEMENT = "http://terminology.hl7.org/CodeSystem/goal-achievement"
INTERPRETATION = "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"
STORE_PROGRESS = "urn:medmassage:vocabulary:progress"
VERDICTS = {
    "met": {(ACHIEVEMENT, "achieved")},
    "progressing": {(ACHIEVEMENT, "improving"), (INTERPRETATION, "B")},
    "unchanged": {(ACHIEVEMENT, "no-change")},
    "regressed": {(ACHIEVEMENT, "worsening"), (INTERPRETATION, "W")},
    "not_addressed": set(),
}


def test_progress_on_a_goal_carries_the_r4_codes_for_it(
    exported: tuple[Path, dict[str, Any]],
) -> None:
    store, bundles = exported
    written: dict[str, int] = {}
    for path in sorted(store.glob("patients/*/sessions/*.yaml")):
        for entry in load_file(path, path.name).get("assessment", {}).get("goals", []):
            written[entry["progress"]] = written.get(entry["progress"], 0) + 1
    found: dict[str, int] = {}
    for bundle in bundles.values():
        for entry in bundle["entry"]:
            for concept in entry["resource"].get("interpretation", []):
                codes = {(c["system"], c["code"]) for c in concept["coding"]}
                mine = [(s, c) for s, c in codes if s == STORE_PROGRESS]
                assert len(mine) == 1, codes
                verdict = mine[0][1]
                assert codes - set(mine) == VERDICTS[verdict], codes
                found[verdict] = found.get(verdict, 0) + 1
    assert found == written and len(written) >= 3


def _blank_required(store: Path) -> list[tuple[str, str]]:
    """Blank (white space) in the first patient's emergency contact name and phone, in every
    patient's first medication name and first precaution's condition, and in each plan's
    first goal description: (file, field path) of each text blanked."""
    blanked = []
    for number, path in enumerate(sorted(store.glob("patients/*/patient.yaml"))):
        rel, data = path.relative_to(store).as_posix(), load_file(path, path.name)
        if number == 0:
            data["emergency_contact"] |= {"name": "  ", "phone": " \t"}
            blanked += [(rel, "$.emergency_contact.name"), (rel, "$.emergency_contact.phone")]
        for field, key in (("medications", "name"), ("precautions", "condition")):
            if data.get(field):
                data[field][0][key] = "\n "
                blanked.append((rel, f"$.{field}[0].{key}"))
        path.write_text(dump(data), encoding="utf-8")
    for path in sorted(store.glob("patients/*/plans/*.yaml")):
        data = load_file(path, path.name)
        data["goals"][0]["description"] = "  "
        path.write_text(dump(data), encoding="utf-8")
        blanked.append((path.relative_to(store).as_posix(), "$.goals[0].description"))
    return blanked


def test_text_r4_requires_is_refused_blank_and_its_chart_not_exported(tmp_path: Path) -> None:
    store = fhir_stores.copy_demo(tmp_path / "store")
    blanked = _blank_required(store)
    checked = run_here("--root", str(store), "validate", "--today", TODAY, "--format", "json")
    assert checked.code == 1, checked
    errors = {
        (p["file"], p["path"]) for p in checked.json()["problems"] if p["severity"] == "error"
    }
    assert errors == set(blanked) and len(blanked) >= 5
    done = run_here(
        "--root", str(store), "export", "fhir", "--out", str(tmp_path / "out"), "--today", TODAY
    )
    charts = {file.split("/")[1] for file, _ in blanked}
    written = {p.name.removesuffix(".fhir.json") for p in (tmp_path / "out").glob("*.fhir.json")}
    assert done.code == 1 and not charts & written, done
    assert all(file in done.err for file, _ in blanked)
