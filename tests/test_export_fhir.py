"""`medmassage export fhir`, the administrative half: through the CLI (a real process for
the whole demo's export, stdout piped and the terminal; the refusals in this process) on a
copy of the demo clinic, every bundle and every resource validated with fhir.resources
(R4B models), every reference resolved, the output byte-stable, and every record field
the mapping table (medmassage/export/fhir_map.py, the README's table) gives a FHIR home
found there with the record's value, read from the YAML."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO, PROJECT, TODAY, run_cli, run_here
from fhir_stores import references
from hypothesis import given
from hypothesis import strategies as st

from medmassage.export import fhir_ids as ids
from medmassage.export.fhir_map import CODES, MAPPING, Mapped, markdown_rows
from medmassage.yamlio import load_file


@dataclass
class Export:
    """One run of `export fhir` over the whole demo clinic."""

    store: Path
    out: Path
    summary: dict[str, Any]
    bundles: dict[str, dict[str, Any]]
    err: str


def export(store: Path, *args: str, run: Any = run_here) -> Any:
    """`export fhir` in this process unless `run` says otherwise: the whole demo's export
    and the bundles piped to stdout are real processes, the refusals are judged here."""
    return run("--root", str(store), "export", "fhir", *args, "--today", TODAY)


def copy_demo(folder: Path) -> Path:
    target = folder / "store"
    shutil.copytree(DEMO, target, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    return target


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Export:
    folder = tmp_path_factory.mktemp("fhir")
    store = copy_demo(folder)
    result = export(store, "--out", str(folder / "out"), "--format", "json", run=run_cli)
    assert result.code == 0, result
    bundles = {
        path.name.removesuffix(".fhir.json"): json.loads(path.read_text(encoding="utf-8"))
        for path in sorted((folder / "out").glob("*.fhir.json"))
    }
    return Export(store, folder / "out", result.json(), bundles, result.err)


def resources(bundle: dict[str, Any]) -> list[dict[str, Any]]:
    return [entry["resource"] for entry in bundle["entry"]]


def by_id(bundle: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {resource["id"]: resource for resource in resources(bundle)}


def records(store: Path, pattern: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """The records matching a glob, as (path relative to the store, data with dates kept
    as written)."""
    for path in sorted(store.glob(pattern)):
        rel = path.relative_to(store).as_posix()
        yield rel, load_file(path, rel)


def patients(store: Path) -> list[str]:
    return sorted(path.name for path in (store / "patients").iterdir())


# --- The bundles ---


def test_every_patient_gets_one_bundle_and_the_summary_says_so(demo: Export) -> None:
    assert sorted(demo.bundles) == patients(demo.store)
    assert [b["patient"] for b in demo.summary["bundles"]] == sorted(demo.bundles)
    assert demo.summary["refused"] == []
    for row in demo.summary["bundles"]:
        found = demo.bundles[row["patient"]]
        assert Path(row["path"]).resolve() == (demo.out / f"{row['patient']}.fhir.json").resolve()
        assert row["resources"] == len(found["entry"])
        assert sum(row["by_type"].values()) == row["resources"]
    assert demo.summary["resources"] == sum(len(b["entry"]) for b in demo.bundles.values())


def test_every_bundle_and_every_resource_validates_as_fhir_r4(demo: Export) -> None:
    from fhir.resources.R4B import get_fhir_model_class

    for patient_id, bundle in demo.bundles.items():
        assert bundle["type"] == "collection"
        assert bundle["id"] == ids.resource_id("Bundle", patient_id)
        get_fhir_model_class("Bundle").model_validate(bundle)
        for resource in resources(bundle):
            get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def test_every_reference_resolves_inside_its_bundle(demo: Export) -> None:
    for bundle in demo.bundles.values():
        urls = [entry["fullUrl"] for entry in bundle["entry"]]
        assert len(urls) == len(set(urls))
        assert urls == [f"urn:uuid:{r['id']}" for r in resources(bundle)]
        made = list(references(resources(bundle)))
        assert made and set(made) <= set(urls)


def test_display_only_references_are_the_ones_that_name_no_resource(demo: Export) -> None:
    # The license's state and a provider's organization are names, not resources.
    for bundle in demo.bundles.values():
        for resource in resources(bundle):
            for role in resource.get("qualification", []):
                assert set(role.get("issuer", {"display": ""})) == {"display"}


def test_two_runs_write_the_same_bytes_and_stdout_is_one_bundle_a_line(
    demo: Export, tmp_path: Path
) -> None:
    again = export(demo.store, "--out", str(tmp_path / "again"))
    assert again.code == 0, again
    for patient_id in demo.bundles:
        name = f"{patient_id}.fhir.json"
        assert (tmp_path / "again" / name).read_bytes() == (demo.out / name).read_bytes()
    chosen = patients(demo.store)[:2]
    piped = export(demo.store, *chosen, "--out", "-", run=run_cli)
    assert piped.code == 0, piped
    files = [(demo.out / f"{p}.fhir.json").read_text(encoding="utf-8") for p in chosen]
    assert piped.out == "".join(files)  # NDJSON: each file's one line, in the order named
    assert all(text.count("\n") == 1 for text in files)


def test_a_second_run_replaces_its_own_files(demo: Export) -> None:
    before = {path.name: path.read_bytes() for path in demo.out.iterdir()}
    result = export(demo.store, "--out", str(demo.out))
    assert result.code == 0, result
    assert {path.name: path.read_bytes() for path in demo.out.iterdir()} == before


def test_nothing_from_a_chart_reaches_stderr_or_the_summary(demo: Export) -> None:
    assert demo.err == ""
    text = export(demo.store, "--out", str(demo.out))
    assert text.err == ""
    for _, data in records(demo.store, "patients/*/patient.yaml"):
        for word in (data["name"]["family"], data["name"]["given"], data["date_of_birth"]):
            assert word not in text.out
            assert word not in json.dumps(demo.summary)


@pytest.mark.skipif(not hasattr(os, "openpty"), reason="needs a pseudo-terminal")
def test_on_a_terminal_a_progress_bar_names_no_one(demo: Export, tmp_path: Path) -> None:
    master, slave = os.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDMASSAGE_")}
    args = ["--root", str(demo.store), "export", "fhir", "--out", str(tmp_path / "out")]
    proc = subprocess.run(
        [sys.executable, "-m", "medmassage", *args, "--today", TODAY],
        stdout=subprocess.PIPE,
        stderr=slave,
        env={**env, "NO_COLOR": "1"},
        timeout=300,
    )
    os.close(slave)
    shown = b""
    with contextlib.suppress(OSError):  # EIO once the terminal's other end is closed
        while chunk := os.read(master, 65536):
            shown += chunk
    os.close(master)
    assert proc.returncode == 0
    text = shown.decode("utf-8", "replace")
    assert "Exporting FHIR bundles" in text
    for _, data in records(demo.store, "patients/*/patient.yaml"):
        assert data["name"]["family"] not in text


# --- Values against the records ---


def test_each_referral_is_a_service_request_with_a_condition_per_code(demo: Export) -> None:
    for patient_id, bundle in demo.bundles.items():
        found = by_id(bundle)
        for _, data in records(demo.store, f"patients/{patient_id}/referrals/*.yaml"):
            request = found[ids.resource_id("ServiceRequest", patient_id, data["id"])]
            assert request["requester"] == ids.provider(data["provider"])
            assert request["subject"] == ids.patient(patient_id)
            wanted = [ids.condition(patient_id, data["id"], d["code"]) for d in data["diagnoses"]]
            assert request["reasonReference"] == wanted
            for diagnosis in data["diagnoses"]:
                condition = found[
                    ids.resource_id("Condition", patient_id, data["id"], diagnosis["code"])
                ]
                coding = condition["code"]["coding"]
                assert coding == [
                    {"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": diagnosis["code"]}
                ]
                # con-3: a problem or diagnosis says whether it is active and confirmed.
                assert (
                    condition["clinicalStatus"]["coding"]
                    and condition["verificationStatus"]["coding"]
                )
                assert condition["category"]
                assert condition["subject"] == ids.patient(patient_id)


def test_each_plan_is_a_care_plan_naming_its_goals(demo: Export) -> None:
    for patient_id, bundle in demo.bundles.items():
        found = by_id(bundle)
        for _, data in records(demo.store, f"patients/{patient_id}/plans/*.yaml"):
            plan = found[ids.resource_id("CarePlan", patient_id, data["id"])]
            goals = [ids.goal(patient_id, data["id"], g["id"]) for g in data["goals"]]
            assert plan["goal"] == goals
            assert ids.referral(patient_id, data["referral"]) in plan["supportingInfo"]
            for goal in data["goals"]:
                resource = found[ids.resource_id("Goal", patient_id, data["id"], goal["id"])]
                # gol-1: a target with a detail names its measure.
                assert all(t["measure"] for t in resource["target"])


def test_the_practitioners_are_the_people_the_chart_names(demo: Export) -> None:
    people = {
        (folder, path.stem)
        for folder in ("therapist", "provider")
        for path in (demo.store / f"{folder}s").glob("*.yaml")
    }
    for patient_id, bundle in demo.bundles.items():
        named = set()
        for _, data in records(demo.store, f"patients/{patient_id}/**/*.yaml"):
            named |= {person for person in people if person[1] in json.dumps(data)}
        made = {
            (i["system"].rsplit(":", 1)[1], i["value"])
            for r in resources(bundle)
            if r["resourceType"] == "Practitioner"
            for i in r["identifier"]
            if i["system"].startswith("urn:medmassage:")
        }
        assert made == named


STEP = re.compile(r"where\(([\w.]+)='([^']*)'\)|(\w+)")


def select(node: Any, path: str) -> list[Any]:
    """The values at a FHIRPath-like `path` (names and `.where(element='value')`)."""
    items = [node]
    for match in STEP.finditer(path):
        if match[3]:
            found = [
                item[match[3]] for item in items if isinstance(item, dict) and match[3] in item
            ]
            items = [v for value in found for v in (value if isinstance(value, list) else [value])]
        else:
            items = [i for i in items if match[2] in [str(v) for v in select(i, match[1])]]
    return items


def field_values(data: Any, path: str) -> list[Any]:
    """The values of a record field path (`[]` steps into each item of a list)."""
    items = [data]
    for step in path.split("."):
        name, many = step.removesuffix("[]"), step.endswith("[]")
        items = [i[name] for i in items if isinstance(i, dict) and name in i]
        if many:
            items = [value for i in items for value in i]
    return items


def expected(row: Mapped, value: Any, patient_id: str) -> Any:
    if row.how == "codes":
        return CODES[(row.kind, row.field)][value]
    if row.how.startswith("ref:"):
        kind = row.how[4:]
        if kind in ("provider", "therapist"):
            return getattr(ids, kind)(value)["reference"]
        if kind == "referral":
            return ids.referral(patient_id, value)["reference"]
        return ids.encounter(patient_id, "assessment", value)["reference"]
    return value


def holds(row: Mapped, resource: dict[str, Any], value: Any, patient_id: str) -> bool:
    found = select(resource, row.fhir.split(".", 1)[1])
    if row.how == "words":
        return any(str(value).replace("_", " ").lower() in str(f).lower() for f in found)
    return expected(row, value, patient_id) in found


def units(demo: Export, row: Mapped) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(patient, resource, the record or list item the row's field is read from) for each
    record of the row's kind in the demo."""
    resource_type = row.fhir.split(".", 1)[0]
    if row.kind == "settings":
        data = load_file(demo.store / "medmassage.yaml", "medmassage.yaml")
        for patient_id, bundle in demo.bundles.items():
            yield patient_id, by_id(bundle)[ids.resource_id("Organization", "clinic")], data
    elif row.kind in ("therapist", "provider"):
        for _, data in records(demo.store, f"{row.kind}s/*.yaml"):
            key = ids.resource_id(resource_type, row.kind, data["id"])
            if resource_type == "PractitionerRole" and not field_values(data, row.field):
                continue  # a provider's role holds only the specialty and organization
            holding = [p for p, b in demo.bundles.items() if key in by_id(b)]
            assert holding, f"no bundle holds the {row.kind} {data['id']} as {resource_type}"
            yield holding[0], by_id(demo.bundles[holding[0]])[key], data
    else:
        for patient_id, bundle in demo.bundles.items():
            found = by_id(bundle)
            yield from _chart_units(demo, row, patient_id, found)


# A patient's lists whose items are resources of their own, keyed by place (1, 2, ...).
PATIENT_LISTS = {
    "allergies": "AllergyIntolerance",
    "precautions": "Flag",
    "medications": "MedicationStatement",
}


def _chart_units(
    demo: Export, row: Mapped, patient_id: str, found: dict[str, dict[str, Any]]
) -> Iterator[tuple[str, dict[str, Any], dict[str, Any]]]:
    folder = {"patient": "", "referral": "referrals/", "plan": "plans/"}[row.kind]
    pattern = f"patients/{patient_id}/" + (f"{folder}*.yaml" if folder else "patient.yaml")
    for _, data in records(demo.store, pattern):
        head = row.field.split("[]", 1)[0]
        if row.kind == "patient" and head in PATIENT_LISTS:
            for number, item in enumerate(data.get(head, []), 1):
                key = ids.resource_id(PATIENT_LISTS[head], patient_id, str(number))
                yield patient_id, found[key], item
        elif row.kind == "patient":
            yield patient_id, found[ids.resource_id("Patient", patient_id)], data
        elif row.field.startswith("diagnoses[]."):
            for item in data["diagnoses"]:
                key = ids.resource_id("Condition", patient_id, data["id"], item["code"])
                yield patient_id, found[key], item
        elif row.field.startswith("goals[]."):
            for item in data["goals"]:
                key = ids.resource_id("Goal", patient_id, data["id"], item["id"])
                yield patient_id, found[key], item
        else:
            kind = "ServiceRequest" if row.kind == "referral" else "CarePlan"
            yield patient_id, found[ids.resource_id(kind, patient_id, data["id"])], data


def _per_item(row: Mapped) -> bool:
    """True when the row's field is read from each item of a list made a resource each."""
    head = row.field.split("[].", 1)[0]
    return "[]." in row.field and (head in PATIENT_LISTS or head in ("diagnoses", "goals"))


def test_every_mapped_field_of_the_demo_is_found_at_its_fhir_path(demo: Export) -> None:
    missing, checked = [], 0
    for row in [row for row in MAPPING if row.fhir]:
        field = row.field.split("[].", 1)[1] if _per_item(row) else row.field
        for patient_id, resource, data in units(demo, row):
            for value in field_values(data, field):
                checked += 1
                if not holds(row, resource, value, patient_id):
                    missing.append(f"{row.kind} {row.field} = {value!r} not at {row.fhir}")
    assert missing == []
    assert checked > 500


def test_every_record_field_of_the_schemas_has_a_row(demo: Export) -> None:
    # A field no row names would be dropped without the table saying so.
    rows = {(row.kind, row.field) for row in MAPPING}
    for kind in ("patient", "therapist", "provider", "settings", "referral", "plan"):
        schema = json.loads((PROJECT / "schemas" / f"{kind}.schema.json").read_text())
        for leaf in leaves(schema, schema):
            assert any(covers(field, leaf) for k, field in rows if k == kind), (kind, leaf)


def leaves(node: dict[str, Any], schema: dict[str, Any], prefix: str = "") -> Iterator[str]:
    if node.get("$ref", "").startswith("#/$defs/"):
        node = schema["$defs"][node["$ref"].rsplit("/", 1)[1]]
    properties = node.get("properties")
    if not properties:
        items = node.get("items")
        if isinstance(items, dict) and (
            items.get("properties") or items.get("$ref", "")[:1] == "#"
        ):
            yield from leaves(items, schema, prefix + "[]")
        else:
            yield prefix
        return
    for name, sub in properties.items():
        yield from leaves(sub, schema, f"{prefix}.{name}" if prefix else name)


def covers(field: str, leaf: str) -> bool:
    """A row's field covers a schema leaf it equals, contains or is part of."""
    field, leaf = field.removesuffix("[]"), leaf.removesuffix("[]")
    pairs = ((field, leaf), (leaf, field))
    return any(a == b or a.startswith((b + ".", b + "[]")) for a, b in pairs)


def test_the_readme_table_is_the_mapping() -> None:
    readme = (PROJECT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### FHIR R4\n", 1)[1].split("#### Visits, measures and documents", 1)[0]
    table = [line for line in section.splitlines() if line.startswith("|")]
    assert table == markdown_rows()


# --- Refusals ---


def test_a_chart_with_errors_is_refused_and_the_others_exported(tmp_path: Path) -> None:
    store = copy_demo(tmp_path)
    broken = sorted((store / "patients").glob("*/referrals/*.yaml"))[0]
    patient_id = broken.parent.parent.name
    text = broken.read_text(encoding="utf-8")
    broken.write_text(re.sub(r"(?m)^visits_authorized: .*\n", "", text), encoding="utf-8")
    result = export(store, "--out", str(tmp_path / "out"))
    assert result.code == 1, result
    rel = broken.relative_to(store).as_posix()
    assert re.search(rf"{re.escape(rel)}:\d+:\d+: ", result.err), result.err
    assert f"not exported because of the errors above: {patient_id}" in result.err
    written = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert written == [f"{p}.fhir.json" for p in patients(store) if p != patient_id]


def test_an_error_in_a_provider_stops_only_the_charts_that_name_them(tmp_path: Path) -> None:
    store = copy_demo(tmp_path)
    naming: dict[str, set[str]] = {}
    for rel, data in records(store, "patients/*/**/*.yaml"):
        for path in (store / "providers").glob("*.yaml"):
            if path.stem in json.dumps(data):
                naming.setdefault(path.stem, set()).add(rel.split("/")[1])
    provider_id = min(naming, key=lambda p: (len(naming[p]), p))
    record = store / "providers" / f"{provider_id}.yaml"
    record.write_text(re.sub(r"(?m)^credentials: .*\n", "", record.read_text(encoding="utf-8")))
    result = export(store, "--out", str(tmp_path / "out"), "--format", "json")
    assert result.code == 1, result
    assert f"providers/{provider_id}.yaml:" in result.err
    assert result.json()["refused"] == sorted(naming[provider_id])
    assert len(result.json()["bundles"]) == len(patients(store)) - len(naming[provider_id])


def test_an_unknown_patient_is_a_usage_error_and_nothing_is_written(tmp_path: Path) -> None:
    store = copy_demo(tmp_path)
    result = export(store, patients(store)[0], "p-9999", "--out", str(tmp_path / "out"))
    assert result.code == 2, result
    assert "p-9999" in result.err and "Traceback" not in result.err
    assert not (tmp_path / "out").exists()


def test_a_file_in_the_way_is_never_overwritten(tmp_path: Path) -> None:
    store = copy_demo(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    mine = out / f"{patients(store)[-1]}.fhir.json"
    mine.write_text('{"resourceType": "Bundle", "note": "mine"}', encoding="utf-8")
    result = export(store, "--out", str(out))
    assert result.code == 1, result
    assert mine.read_text(encoding="utf-8") == '{"resourceType": "Bundle", "note": "mine"}'
    assert sorted(out.iterdir()) == [mine]


def test_the_bundles_never_go_into_a_folder_the_store_reads(tmp_path: Path) -> None:
    store = copy_demo(tmp_path)
    result = export(store, "--out", str(store / "patients" / "fhir"))
    assert result.code == 2, result
    assert not (store / "patients" / "fhir").exists()
    assert export(store, "--out", str(store / "exports")).code == 0


def test_a_patient_who_said_no_to_sharing_is_left_out_and_named(tmp_path: Path) -> None:
    store = copy_demo(tmp_path)
    patient_id = patients(store)[1]
    record = store / "patients" / patient_id / "patient.yaml"
    text = record.read_text(encoding="utf-8")
    assert "share_with_providers: true" in text
    record.write_text(text.replace("share_with_providers: true", "share_with_providers: false"))
    result = export(store, "--out", str(tmp_path / "out"), "--format", "json")
    assert result.code == 0, result
    assert result.json()["withheld"] == [patient_id]
    assert patient_id in result.err and "share_with_providers" in result.err
    written = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert written == [f"{p}.fhir.json" for p in patients(store) if p != patient_id]
    named = export(store, patient_id, "--out", "-")
    assert named.code == 2 and named.out == "", named


# --- The two halves apart ---


def test_without_the_visits_the_administrative_half_stands_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from medmassage.export.fhir import FhirExport
    from medmassage.store import Store

    monkeypatch.setitem(sys.modules, "medmassage.export.fhir_visits", None)
    job = FhirExport(Store(DEMO), TODAY, use_cache=False)
    for patient_id in job.patients([]):
        bundle = job.export(patient_id).bundle
        assert bundle is not None
        kinds = {entry["resource"]["resourceType"] for entry in bundle["entry"]}
        assert "Encounter" not in kinds and {"Patient", "CarePlan", "Goal"} <= kinds
        urls = {entry["fullUrl"] for entry in bundle["entry"]}
        assert set(references(bundle)) <= urls


@given(st.integers(min_value=1, max_value=14))
def test_visits_a_week_are_whole_frequencies_per_period(halves: int) -> None:
    from medmassage.export.fhir_care import per_week

    timing = per_week(halves / 2)
    assert timing["frequency"] / timing["period"] == halves / 2
    assert timing["periodUnit"] == "wk" and timing["period"] in (1, 2)


def codings(node: Any) -> Iterator[dict[str, Any]]:
    """Every Coding (a mapping with a system and a code) anywhere under `node`."""
    if isinstance(node, dict):
        if isinstance(node.get("system"), str) and "code" in node:
            yield node
        for value in node.values():
            yield from codings(value)
    elif isinstance(node, list):
        for value in node:
            yield from codings(value)


def test_a_term_of_the_vocabulary_has_one_system_in_every_resource(demo: Export) -> None:
    """A technique ordered on the referral and the same technique given at a visit are one
    code: both halves of the bundle name the store's vocabularies alike."""

    def systems(resource_type: str, element: str) -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for bundle in demo.bundles.values():
            for resource in resources(bundle):
                if resource["resourceType"] == resource_type:
                    for coding in codings(resource.get(element, [])):
                        found.setdefault(coding["code"], set()).add(coding["system"])
        return found

    ordered = systems("ServiceRequest", "orderDetail")
    given = systems("Procedure", "code")
    both = ordered.keys() & given.keys()
    assert both, "the demo orders and gives at least one technique"
    for code in both:
        assert ordered[code] & given[code], (code, ordered[code], given[code])
