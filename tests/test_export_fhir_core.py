"""`medmassage export fhir` uses core R4 elements only: no resource of a bundle carries an
`extension` or a `modifierExtension` (a validator rejects an extension it has no
definition for, and the export publishes none). The two values R4 has no element for are
said in words in the resource's note: the referral's weeks of care (ServiceRequest.note)
and a goal's baseline (Goal.note); a goal addresses the Observation of its plan's
assessment that measured the baseline (Goal.addresses). Through the real CLI on copies of
the demo clinic, each figure checked against the record as read from its YAML."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fhir_stores
import pytest

from medmassage.export import fhir_ids as ids
from medmassage.yamlio import dump, load_file

PAIN_LOINC = "72514-3"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A copy of the demo clinic and its bundles by patient."""
    folder = tmp_path_factory.mktemp("fhir-core")
    store = fhir_stores.copy_demo(folder / "store")
    return store, fhir_stores.exported(store, folder / "out")


def keys(node: Any, at: str = "") -> Iterator[str]:
    """The path of every key of a JSON value, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield f"{at}.{key}"
            yield from keys(value, f"{at}.{key}")
    elif isinstance(node, list):
        for place, value in enumerate(node):
            yield from keys(value, f"{at}[{place}]")


def of(bundle: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {
        entry["fullUrl"]: entry["resource"]
        for entry in bundle["entry"]
        if entry["resource"]["resourceType"] == kind
    }


def records(store: Path, patient: str, folder: str) -> list[dict[str, Any]]:
    paths = sorted((store / "patients" / patient / folder).glob("*.yaml"))
    return [load_file(path, path.name) for path in paths]


def test_no_resource_carries_an_extension(demo: tuple[Path, dict[str, Any]]) -> None:
    _, bundles = demo
    found, walked = [], 0
    for patient, bundle in bundles.items():
        for path in keys(bundle):
            walked += 1
            if path.rsplit(".", 1)[1] in ("extension", "modifierExtension"):
                found.append(f"{patient}{path}")
    assert found == []
    assert len(bundles) > 1 and walked > 1000


def test_a_referrals_weeks_of_care_are_its_first_note(demo: tuple[Path, dict[str, Any]]) -> None:
    store, bundles = demo
    checked = 0
    for patient, bundle in bundles.items():
        requests = of(bundle, "ServiceRequest")
        for data in records(store, patient, "referrals"):
            request = requests[ids.referral(patient, data["id"])["reference"]]
            weeks = data["duration_weeks"]
            assert request["note"][0]["text"] == f"Duration asked for: {weeks} weeks"
            # The bounds still hold the referral's dates, not the weeks.
            bounds = request["occurrenceTiming"]["repeat"]["boundsPeriod"]
            assert bounds == {"start": str(data["date"]), "end": str(data["valid_until"])}
            checked += 1
    assert checked == len(list(store.glob("patients/*/referrals/*.yaml"))) > 0


def assessment_figure(goal: dict[str, Any], assessment: dict[str, Any]) -> Any:
    """The assessment's figure of the goal's measure as the record writes it, else None."""
    measure = goal["measure"]
    if measure["kind"] == "pain":
        return assessment.get("pain", {}).get(measure.get("pain", "current"))
    if measure["kind"] == "range_of_motion":
        for entry in assessment.get("range_of_motion", []):
            same = all(
                entry[k] == measure[k] for k in ("joint", "movement", "side") if k in measure
            )
            if same and (entry.get("unit") == "mm") == (measure.get("unit") == "mm"):
                return entry
    if measure["kind"] == "outcome_measure":
        for entry in assessment.get("outcome_measures", []):
            if entry["instrument"] == measure.get("instrument"):
                return entry
    return None


def observations_addressed(bundle: dict[str, Any], goal: dict[str, Any]) -> list[dict[str, Any]]:
    made = of(bundle, "Observation")
    return [made[a["reference"]] for a in goal.get("addresses", []) if a["reference"] in made]


def check_baseline_observation(
    goal: dict[str, Any], observation: dict[str, Any], figure: Any, encounter: str
) -> None:
    """The Observation a Goal addresses is the assessment's figure of the goal's measure."""
    assert observation["encounter"]["reference"] == encounter
    codes = [c["code"] for c in observation["code"]["coding"]]
    measure = goal["measure"]
    if measure["kind"] == "pain":
        assert PAIN_LOINC in codes and observation["valueQuantity"]["value"] == goal["baseline"]
    elif measure["kind"] == "range_of_motion":
        assert measure["movement"] in codes
        assert observation["bodySite"]["coding"][0]["code"] == measure["joint"]
        assert observation["valueQuantity"]["value"] == figure["degrees"] == goal["baseline"]
    else:
        assert measure["instrument"] in codes


def test_a_goals_baseline_is_its_note_and_it_addresses_the_observation_that_measured_it(
    demo: tuple[Path, dict[str, Any]],
) -> None:
    store, bundles = demo
    addressed = 0
    for patient, bundle in bundles.items():
        goals = of(bundle, "Goal")
        for plan in records(store, patient, "plans"):
            assessment = load_file(
                store / "patients" / patient / "assessments" / f"{plan['assessment']}.yaml",
                "assessment.yaml",
            )
            encounter = ids.encounter(patient, "assessment", plan["assessment"])["reference"]
            for goal in plan["goals"]:
                made = goals[ids.goal(patient, plan["id"], goal["id"])["reference"]]
                assert made["note"][0]["text"].startswith(f"Baseline: {goal['baseline']} ")
                found = observations_addressed(bundle, made)
                figure = assessment_figure(goal, assessment)
                assert len(found) == (figure is not None), (patient, plan["id"], goal["id"])
                for observation in found:
                    check_baseline_observation(goal, observation, figure, encounter)
                    addressed += 1
    assert addressed > 10


def test_a_baseline_typed_from_elsewhere_is_only_said_in_the_note(tmp_path: Path) -> None:
    # A pain baseline that is not the pain the assessment recorded (a warning, not an
    # error): the Goal says it in words and names no Observation as its baseline.
    store = fhir_stores.copy_demo(tmp_path / "store")
    path = sorted(store.glob("patients/*/plans/*.yaml"))[0]
    plan = load_file(path, path.name)
    place, goal = next(
        (n, g) for n, g in enumerate(plan["goals"]) if g["measure"]["kind"] == "pain"
    )
    goal["baseline"] = 10 if goal["baseline"] != 10 else 9
    plan["goals"][place] = goal
    path.write_text(dump(plan), encoding="utf-8")
    patient = path.parent.parent.name
    bundle = fhir_stores.exported(store, tmp_path / "out")[patient]
    made = of(bundle, "Goal")[ids.goal(patient, plan["id"], goal["id"])["reference"]]
    assert made["note"][0]["text"].startswith(f"Baseline: {goal['baseline']} ")
    assert observations_addressed(bundle, made) == []
    assert made["addresses"], "the plan's diagnoses are still addressed"
