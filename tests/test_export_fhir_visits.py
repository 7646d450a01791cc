"""The visit half of the FHIR export (SPEC §10), in-process on the demo clinic and on a copy
where a document was sent: every resource validates with fhir.resources (R4B models), and
each figure is checked against the records as read from their YAML, never against a
number written here."""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fhir_stores import references

from medmassage.care import instruments
from medmassage.chart import Record
from medmassage.charting.send import SendRequest, send
from medmassage.export import fhir_ids as ids
from medmassage.export.fhir_visits import resources_by_record, visit_resources
from medmassage.query import Clinic
from medmassage.store import Store
from medmassage.validate import validate_store
from medmassage.yamlio import dump, load_file
from tests.conftest import DEMO, TODAY

Grouped = list[tuple[Record, list[dict[str, Any]]]]
SENT_AT = f"{TODAY}T16:30:00-08:00"


def export(root: Path) -> dict[str, tuple[Any, Any, Grouped]]:
    """Every chart of the store at `root`: (view, chart, resources grouped by record)."""
    clinic = Clinic(Store(root), TODAY, use_cache=False)
    found = {}
    for patient in clinic.patients():
        view, chart = clinic.chart(patient)
        found[patient] = (view, chart, resources_by_record(view, chart, patient))
    return found


@pytest.fixture(scope="module")
def demo() -> dict[str, tuple[Any, Any, Grouped]]:
    return export(DEMO)


@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, Any, Grouped]]:
    """A copy of the demo where a physician update went to the referrer with a copy to
    another provider, an assessment records mouth opening in mm and a PSFS with its
    activities."""
    root = tmp_path_factory.mktemp("sent") / "store"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    patient = "p-0005"
    assessment = sorted((root / "patients" / patient / "assessments").glob("*.yaml"))[0]
    data = load_file(assessment, assessment.name)
    mouth = {"joint": "tmj", "movement": "opening", "side": "midline", "degrees": 34}
    data.setdefault("range_of_motion", []).append({**mouth, "unit": "mm", "painful": True})
    activities = [{"activity": "Chewing a bagel", "score": 3}, {"activity": "Yawning", "score": 5}]
    psfs = {"instrument": "PSFS", "score": 4, "unit": "points", "items": activities * 2}
    data.setdefault("outcome_measures", []).append(psfs)
    assessment.write_text(dump(data))
    referral = sorted((root / "patients" / patient / "referrals").glob("*.yaml"))[-1]
    to = load_file(referral, referral.name)["provider"]
    cc = sorted(p.stem for p in (root / "providers").glob("*.yaml") if p.stem != to)[0]
    send(
        Store(root),
        SendRequest("physician-update", patient, "fax", to, (cc,), "html", at=SENT_AT, today=TODAY),
    )
    report = validate_store(Store(root), today=TODAY)
    assert not [p for p in report.problems if p.severity == "error"], report.problems
    return export(root)


def both(demo: Any, sent: Any) -> Iterator[tuple[str, Any, Any, Grouped]]:
    for charts in (demo, sent):
        for patient, (view, chart, grouped) in charts.items():
            yield patient, view, chart, grouped


def flat(grouped: Grouped) -> list[dict[str, Any]]:
    return [r for _, found in grouped for r in found]


def of(found: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in found if r["resourceType"] == kind]


def test_every_resource_validates_as_fhir_r4(demo: Any, sent: Any) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    seen: set[str] = set()
    for _, _, _, grouped in both(demo, sent):
        for resource in flat(grouped):
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)
            seen.add(resource["resourceType"])
    wanted = {"Encounter", "Procedure", "Observation", "QuestionnaireResponse"}
    assert wanted | {"DocumentReference", "Provenance", "Communication"} <= seen


def test_the_bundle_builders_entry_point_is_the_grouped_resources_in_order(demo: Any) -> None:
    for patient, (view, chart, grouped) in demo.items():
        assert visit_resources(view, chart, patient) == flat(grouped)


def test_one_encounter_per_session_assessment_and_attendance(demo: Any) -> None:
    for patient, (_, chart, grouped) in demo.items():
        encounters = of(flat(grouped), "Encounter")
        expected = [
            ids.resource_id("Encounter", patient, kind, r.id)
            for kind in ("session", "assessment", "attendance")
            for r in chart.sorted(kind)
        ]
        assert sorted(e["id"] for e in encounters) == sorted(expected)
        for record, found in grouped:
            if record.kind not in ("session", "assessment", "attendance"):
                continue
            (encounter,) = of(found, "Encounter")
            assert encounter["period"]["start"] == record.data["date"]
            assert encounter["class"]["code"] == "AMB"
            therapist = ids.therapist(record.data["therapist"])["reference"]
            assert encounter["participant"][0]["individual"]["reference"] == therapist
            if record.kind == "attendance":  # a no-show as well as a cancellation
                assert encounter["status"] == "cancelled"
                codes = [c["code"] for t in encounter["type"] for c in t["coding"]]
                assert record.data["status"] in codes and record.data["by"] in codes
            else:
                assert encounter["status"] == "finished"
            if record.kind == "session":
                assert encounter["length"]["value"] == record.data["duration_minutes"]
                assert encounter["length"]["code"] == "min"


def _pain(found: list[dict[str, Any]], when: str) -> list[dict[str, Any]]:
    return [
        o
        for o in of(found, "Observation")
        if any(
            c["code"] == "72514-3" and c["system"] == "http://loinc.org"
            for c in o["code"].get("coding", [])
        )
        and when in o["code"]["text"]
    ]


def test_every_sessions_pain_before_and_after_is_loinc_72514_3(demo: Any) -> None:
    checked = 0
    for _, (_, _, grouped) in demo.items():
        for record, found in grouped:
            if record.kind != "session":
                continue
            (before,) = _pain(found, "before treatment")
            assert before["valueQuantity"]["value"] == record.data["subjective"]["pain"]
            assert before["effectiveDateTime"] == record.data["date"]
            assert before["valueQuantity"]["code"] == "{score}"
            after = _pain(found, "after treatment")
            if "pain" in record.data.get("response", {}):
                assert after[0]["valueQuantity"]["value"] == record.data["response"]["pain"]
                assert after[0]["effectiveDateTime"] == record.data["date"]
                checked += 1
            else:
                assert after == []
    assert checked


def _measures(record: Record, name: str) -> list[dict[str, Any]]:
    place = record.data.get("objective", {}) if record.kind == "session" else record.data
    found: list[dict[str, Any]] = place.get(name, [])
    return found


def test_range_of_motion_values_and_units(demo: Any, sent: Any) -> None:
    units = set()
    for patient, _, _, grouped in both(demo, sent):
        for record, found in grouped:
            by_id = {r["id"]: r for r in found}
            for n, entry in enumerate(_measures(record, "range_of_motion"), 1):
                key = ids.observation(patient, record.kind, record.id, f"rom-{n}")
                observed = by_id[key["reference"].removeprefix("urn:uuid:")]
                quantity = observed["valueQuantity"]
                assert quantity["value"] == entry["degrees"]
                unit = entry.get("unit", "degrees")
                assert quantity["code"] == {"degrees": "deg", "mm": "mm"}[unit]
                assert quantity["system"] == "http://unitsofmeasure.org"
                assert observed["bodySite"]["coding"][0]["code"] == entry["joint"]
                units.add(unit)
    assert units == {"degrees", "mm"}


def test_outcome_scores_equal_the_care_computation(demo: Any, sent: Any) -> None:
    scored = 0
    for patient, _, _, grouped in both(demo, sent):
        for record, found in grouped:
            by_id = {r["id"]: r for r in found}
            for n, entry in enumerate(_measures(record, "outcome_measures"), 1):
                key = ids.observation(patient, record.kind, record.id, f"outcome-{n}")
                observed = by_id[key["reference"].removeprefix("urn:uuid:")]
                row = instruments.instrument(entry["instrument"])
                unit = entry.get("unit") or (row.unit if row else "points")
                expected = float(entry["score"])
                if entry.get("items") and row is not None and row.scored:
                    answers = [a["score"] if isinstance(a, dict) else a for a in entry["items"]]
                    value = instruments.score(entry["instrument"], answers, unit).value
                    assert value is not None
                    expected, scored = value, scored + 1
                assert observed["valueQuantity"]["value"] == pytest.approx(expected, abs=1e-4)
                assert observed["valueQuantity"]["unit"] == unit
                assert observed["code"]["coding"][0]["code"] == entry["instrument"]
    assert scored


def test_questionnaire_responses_hold_the_item_answers(demo: Any, sent: Any) -> None:
    for patient, _, _, grouped in both(demo, sent):
        for record, found in grouped:
            responses = {r["id"]: r for r in of(found, "QuestionnaireResponse")}
            with_items = [e for e in _measures(record, "outcome_measures") if e.get("items")]
            assert len(responses) == len(with_items)
            for n, entry in enumerate(_measures(record, "outcome_measures"), 1):
                if not entry.get("items"):
                    continue
                key = ids.questionnaire_response(patient, record.kind, record.id, n)
                response = responses[key["reference"].removeprefix("urn:uuid:")]
                (group,) = response["item"]
                answered = [
                    i["answer"][0]["valueDecimal"] if "answer" in i else None for i in group["item"]
                ]
                raw = [a["score"] if isinstance(a, dict) else a for a in entry["items"]]
                assert answered == raw
                assert response["status"] in ("completed", "in-progress")


def test_minutes_of_the_procedures_sum_to_the_notes_minutes(demo: Any) -> None:
    for _, (_, _, grouped) in demo.items():
        for record, found in grouped:
            if record.kind != "session":
                continue
            procedures = of(found, "Procedure")
            assert len(procedures) == len(record.data["treatment"])
            minutes = [
                int(m.group(1))
                for p in procedures
                for note in p["note"]
                if (m := re.fullmatch(r"Minutes: (\d+)", note["text"]))
            ]
            assert sum(minutes) == sum(t["minutes"] for t in record.data["treatment"])
            plan = ids.care_plan(record.entry.patient or "", record.data["treatment_plan"])
            assert all(p["basedOn"] == [plan] for p in procedures)


def _signature_of(record: Record) -> dict[str, Any] | None:
    signature = record.data.get("signature")
    return signature if isinstance(signature, dict) else None


def test_signed_records_are_final_unsigned_notes_preliminary(demo: Any) -> None:
    seen = set()
    for _, (_, _, grouped) in demo.items():
        for record, found in grouped:
            if record.kind not in ("session", "addendum"):
                continue
            signed = _signature_of(record) is not None
            seen.add(signed)
            (document,) = of(found, "DocumentReference")
            assert document["docStatus"] == ("final" if signed else "preliminary")
            statuses = {o["status"] for o in of(found, "Observation")}
            assert statuses <= {"final" if signed else "preliminary"}
    assert seen == {True, False}, "the demo has signed and unsigned notes"


def test_one_provenance_per_signature_targeting_what_was_signed(demo: Any, sent: Any) -> None:
    kinds = set()
    for patient, _, _, grouped in both(demo, sent):
        for record, found in grouped:
            provenances = of(found, "Provenance")
            signature = _signature_of(record)
            if signature is None:
                assert provenances == []
                continue
            kinds.add(record.kind)
            (provenance,) = provenances
            assert provenance["id"] == ids.resource_id(
                "Provenance", patient, record.kind, record.id
            )
            assert provenance["recorded"] == signature["at"]
            signer = ids.therapist(signature["by"])["reference"]
            assert provenance["agent"][0]["who"]["reference"] == signer
            (block,) = provenance["signature"]
            assert block["when"] == signature["at"] and block["who"]["reference"] == signer
            assert base64.b64decode(block["data"]).decode() == signature["sha256"]
            others = {f"urn:uuid:{r['id']}" for r in found if r is not provenance}
            assert {t["reference"] for t in provenance["target"]} == others
    assert kinds == {"session", "addendum", "update"}


def _attached(document: dict[str, Any]) -> bytes:
    attachment = document["content"][0]["attachment"]
    data = base64.b64decode(attachment["data"])
    assert attachment["size"] == len(data)
    assert base64.b64decode(attachment["hash"]) == hashlib.sha1(data).digest()
    return data


def test_documents_attach_the_record_file_and_the_file_sent(sent: Any) -> None:
    root = next(iter(sent.values()))[0].root
    kept = 0
    for _, _, _, grouped in both({}, sent):
        for record, found in grouped:
            for document in of(found, "DocumentReference"):
                data = _attached(document)
                if record.kind != "update":
                    assert data == (root / record.rel).read_bytes()
                    continue
                folder = (root / record.rel).parent.parent
                assert data == (folder / record.data["file"]).read_bytes()
                digest = hashlib.sha256(data).digest()
                name = base64.urlsafe_b64encode(digest).decode().rstrip("=")
                assert document["masterIdentifier"]["value"] == f"ni:///sha-256;{name}"
                assert document["content"][0]["attachment"]["contentType"].startswith("text/html")
                kept += 1
    assert kept == 1


def _others(patient: str, view: Any, chart: Any) -> set[str]:
    """The urns of the administrative half's resources the chart gives rise to."""
    found = [ids.patient(patient), ids.clinic()]
    for person in view.therapists:
        found += [ids.therapist(person), ids.therapist_role(person)]
    found += [ids.provider(person) for person in view.providers]
    for referral in chart.sorted("referral"):
        found.append(ids.referral(patient, referral.id))
        found += [
            ids.condition(patient, referral.id, d["code"]) for d in referral.data["diagnoses"]
        ]
    for plan in chart.sorted("plan"):
        found.append(ids.care_plan(patient, plan.id))
        found += [ids.goal(patient, plan.id, g["id"]) for g in plan.data.get("goals", [])]
    return {ref["reference"] for ref in found}


def test_every_reference_resolves_to_a_visit_resource_or_the_other_halfs(
    demo: Any, sent: Any
) -> None:
    for patient, view, chart, grouped in both(demo, sent):
        found = flat(grouped)
        mine = {f"urn:uuid:{r['id']}" for r in found}
        assert len(mine) == len(found), "ids are unique"
        dangling = set(references(found)) - mine - _others(patient, view, chart)
        assert not dangling, patient


def test_the_export_is_deterministic(demo: Any) -> None:
    again = export(DEMO)
    for patient, (view, chart, grouped) in demo.items():
        assert again[patient][2] == grouped
        assert visit_resources(view, chart, patient) == visit_resources(view, chart, patient)
