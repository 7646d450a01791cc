"""`medmassage export fhir` on valid records the demo clinic does not hold, where R4 has a
rule the records' schema does not: through the real CLI on a copy of the demo clinic, each
figure checked against the record as read from its YAML.

- Timing.repeat.frequency is a positiveInt: visits a week go in as a whole number per a
  whole number of weeks, exactly as written (1.3 a week is 13 every 10 weeks, not the
  nearest fraction of sevenths; 0.05 a week is 1 every 20 weeks, not 0).
- Observation.interpretation is bound (extensibly) to ObservationInterpretation, and R4
  has goal-achievement codes for progress on a goal.
- Elements R4 requires (Goal.description, MedicationStatement.medication[x], Flag.code,
  a Patient.contact's details: pat-1) are there when the record's text for them is blank,
  which a record's schema allows (white space passes "must not be empty")."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import fhir_stores
import pytest
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


def _blank_required(store: Path) -> None:
    """Blank (white space) in the first patient's emergency contact name and phone, in every
    patient's first medication name and first precaution's condition, and in each plan's
    first goal description."""
    for number, path in enumerate(sorted(store.glob("patients/*/patient.yaml"))):
        data = load_file(path, path.name)
        if number == 0:
            data["emergency_contact"] |= {"name": "  ", "phone": "  "}
        for field, key in (("medications", "name"), ("precautions", "condition")):
            if data.get(field):
                data[field][0][key] = "  "
        path.write_text(dump(data), encoding="utf-8")
    for path in sorted(store.glob("patients/*/plans/*.yaml")):
        data = load_file(path, path.name)
        data["goals"][0]["description"] = "  "
        path.write_text(dump(data), encoding="utf-8")


@pytest.fixture(scope="module")
def blank_required(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A copy of the demo with _blank_required, checked valid, and its bundles."""
    folder = tmp_path_factory.mktemp("fhir-blank-required")
    store = fhir_stores.copy_demo(folder / "store")
    _blank_required(store)
    return store, fhir_stores.exported(store, folder / "out")


def _of(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_required_elements_stand_when_the_records_text_is_blank(
    blank_required: tuple[Path, dict[str, Any]],
) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    store, bundles = blank_required
    blanks = 0
    for patient, bundle in bundles.items():
        record = load_file(store / "patients" / patient / "patient.yaml", "patient.yaml")
        contact = record.get("emergency_contact") or {}
        has_details = any(str(contact.get(k, "")).strip() for k in ("name", "phone"))
        person = _of(bundle, "Patient")[0]
        assert ("contact" in person) == has_details, patient  # pat-1
        pairs = [
            ("MedicationStatement", "medications", "name", "medicationCodeableConcept"),
            ("Flag", "precautions", "condition", "code"),
        ]
        for kind, field, key, element in pairs:
            made = _of(bundle, kind)
            assert len(made) == len(record.get(field, []))
            for item, resource in zip(record.get(field, []), made, strict=True):
                text = resource[element]["text"]
                assert text.strip(), (patient, kind)
                blanks += not item[key].strip()
                assert item[key].strip() in text
        goals = [
            g
            for path in sorted(store.glob(f"patients/{patient}/plans/*.yaml"))
            for g in load_file(path, path.name)["goals"]
        ]
        made = _of(bundle, "Goal")
        assert len(made) == len(goals)
        for goal, resource in zip(goals, made, strict=True):
            wanted = goal["description"].strip() or str(goal["id"])
            assert wanted in resource["description"]["text"]
            blanks += not goal["description"].strip()
        for entry in bundle["entry"]:
            resource = entry["resource"]
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    assert blanks >= 3, "blank texts were expected among the records"
