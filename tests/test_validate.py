"""`medmassage validate` through the CLI on mutated copies of the demo clinic: every level and
rule reports the right file, line and rule code. The rules run in this process; the exit
status and summary of a real process, and the store named by the environment, are checked
on real ones."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from charts import invoke
from conftest import TODAY, line_of, run_cli, run_here

from medmassage.rules import REGISTRY

P1 = "patients/p-0001"
SESSION = f"{P1}/sessions/2026-10-29.yaml"
PLAN = f"{P1}/plans/2026-10-26.yaml"


def edit(root: Path, rel: str, old: str, new: str) -> Path:
    path = root / rel
    text = path.read_text()
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1))
    return path


def check(root: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    """`validate --format json` in this process (the rules are the point here, not the
    process; the tests at the end run the real one): exit status and problems."""
    result = invoke(
        "--root", str(root), "validate", "--format", "json", "--today", TODAY, "--jobs", "1", *args
    )
    assert result.exit_code in (0, 1), result.stderr
    document = json.loads(result.stdout)
    assert document["ok"] == (
        result.exit_code == 0 or not any(p["severity"] == "error" for p in document["problems"])
    )
    assert all(p["rule"] in REGISTRY for p in document["problems"])
    return result.exit_code, document["problems"]


def only(problems: list[dict[str, Any]], rule: str) -> list[dict[str, Any]]:
    found = [p for p in problems if p["rule"] == rule]
    assert found, f"no {rule} in {problems}"
    return found


@pytest.mark.compile_per_run  # the kinds with a handful of records judged by jsonschema
def test_demo_store_is_valid(demo_store: Path) -> None:
    code, problems = check(demo_store, "--no-cache")  # every file judged, none taken as known
    assert code == 0 and problems == []


def test_demo_store_text_summary_and_exit_code(demo_store: Path) -> None:
    store = demo_store
    result = run_cli("--root", str(store), "validate", "--today", TODAY)  # a real process
    assert result.code == 0, result
    files = sum(1 for _ in store.rglob("*.yaml"))
    assert files > 50
    assert result.out == f"{files} files checked: 0 errors, 0 warnings\n"


# ---------------------------------------------------------------- syntax and schema


def test_syntax_error_is_located_and_other_files_still_checked(store: Path) -> None:
    edit(store, SESSION, "duration_minutes:", "date: 2026-01-01\nduration_minutes:")
    edit(store, PLAN, "therapist: amara-okafor", "therapist: nobody-here")
    code, problems = check(store)
    assert code == 1
    dup = only(problems, "syntax/duplicate-key")[0]
    assert dup["file"] == SESSION and dup["line"] == line_of(store / SESSION, "date: 2026-01-01")
    assert only(problems, "ref/unknown-therapist")[0]["file"] == PLAN


def test_missing_required_field_points_at_its_mapping(store: Path) -> None:
    path = edit(store, SESSION, "  pain: ", "  pain_was: ")
    code, problems = check(store)
    assert code == 1
    missing = only(problems, "schema/required")[0]
    assert (missing["file"], missing["path"]) == (SESSION, "$.subjective.pain")
    assert missing["line"] == line_of(path, "subjective:")
    unknown = only(problems, "schema/additional-properties")[0]
    assert (
        unknown["line"] == line_of(path, "pain_was:")
        and "did you mean 'pain'" in unknown["message"]
    )


def test_unknown_technique_suggests_the_term(store: Path) -> None:
    path = edit(store, SESSION, "technique: myofascial_release", "technique: myofascial_relase")
    code, problems = check(store)
    enum = only(problems, "schema/enum")[0]
    assert enum["line"] == line_of(path, "myofascial_relase") and enum["path"].startswith(
        "$.treatment["
    )
    assert "myofascial_release" in enum["message"] and code == 1


@pytest.mark.parametrize(
    ("old", "new", "rule"),
    [
        ("  pain: ", "  pain: 11 #", "schema/maximum"),
        ("duration_minutes: ", "duration_minutes: sixty #", "schema/type"),
        ("date: 2026-10-29", "date: 2026-02-30", "schema/format"),
        ('time: "', 'time: "25:', "schema/pattern"),
    ],
)
def test_schema_rules(store: Path, old: str, new: str, rule: str) -> None:
    path = edit(store, SESSION, old, new)
    code, problems = check(store)
    found = only(problems, rule)[0]
    assert code == 1 and found["file"] == SESSION
    assert found["line"] == line_of(path, new.split("#", maxsplit=1)[0].strip())


KIND_FILES = {
    "settings": "medmassage.yaml",
    "therapist": "therapists/amara-okafor.yaml",
    "provider": "providers/dr-lena-hartwell.yaml",
    "patient": f"{P1}/patient.yaml",
    "referral": f"{P1}/referrals/2026-10-19.yaml",
    "assessment": f"{P1}/assessments/2026-10-26.yaml",
    "plan": PLAN,
    "session": SESSION,
}


@pytest.mark.parametrize("kind", sorted(KIND_FILES))
def test_a_mutated_copy_of_each_kind_is_caught(store: Path, kind: str) -> None:
    rel = KIND_FILES[kind]
    path = store / rel
    path.write_text(path.read_text() + "colour: blue\n")
    code, problems = check(store)
    found = only(problems, "schema/additional-properties")
    assert (
        code == 1 and found[0]["file"] == rel and found[0]["line"] == line_of(path, "colour: blue")
    )


# ---------------------------------------------------------------- layout


def test_id_must_equal_file_name(store: Path) -> None:
    shutil.copy(store / SESSION, store / P1 / "sessions" / "2026-10-30.yaml")
    code, problems = check(store)
    found = only(problems, "layout/id-mismatch")[0]
    assert found["file"] == f"{P1}/sessions/2026-10-30.yaml" and found["line"] == 1 and code == 1


def test_bad_file_name_and_bad_patient_folder(store: Path) -> None:
    shutil.copy(store / SESSION, store / P1 / "sessions" / "Visit_One.yaml")
    (store / "patients" / "John Smith").mkdir()
    code, problems = check(store)
    assert code == 1
    assert {p["file"] for p in only(problems, "layout/bad-id")} == {
        f"{P1}/sessions/Visit_One.yaml",
        "patients/John Smith",
    }


def test_stray_files_are_warnings_and_strict_fails_them(store: Path) -> None:
    (store / P1 / "sessions" / "notes.txt").write_text("call back\n")
    (store / P1 / "sessions" / ".2026-11-30.ab12.tmp").write_text("id: 2026-11")
    (store / P1 / "visits").mkdir()
    code, problems = check(store)
    assert code == 0
    rules = {(p["file"], p["rule"], p["severity"]) for p in problems}
    assert rules == {
        (f"{P1}/sessions/notes.txt", "layout/stray-file", "warning"),
        (f"{P1}/sessions/.2026-11-30.ab12.tmp", "layout/stray-temp-file", "warning"),
        (f"{P1}/visits", "layout/unknown-folder", "warning"),
    }
    strict = run_here("--root", str(store), "validate", "--strict", "--today", TODAY)
    assert strict.code == 1, strict


def test_record_in_the_wrong_folder(store: Path) -> None:
    shutil.copy(store / SESSION, store / P1 / "plans" / "2026-10-29.yaml")
    code, problems = check(store)
    assert code == 1
    found = only(problems, "layout/wrong-folder")[0]
    assert found["file"] == f"{P1}/plans/2026-10-29.yaml" and "session" in found["message"]


def test_patient_folder_without_patient_record(store: Path) -> None:
    (store / P1 / "patient.yaml").unlink()
    code, problems = check(store)
    assert code == 1
    assert only(problems, "layout/missing-patient")[0]["file"] == f"{P1}/patient.yaml"


# ---------------------------------------------------------------- references


@pytest.mark.parametrize(
    ("rel", "old", "new", "rule"),
    [
        (SESSION, "therapist: amara-okafor", "therapist: amara-okafr", "ref/unknown-therapist"),
        (SESSION, "treatment_plan: 2026-10-26", "treatment_plan: 2026-10-25", "ref/unknown-plan"),
        (SESSION, "goal: g1", "goal: g9", "ref/unknown-goal"),
        (PLAN, "referral: 2026-10-19", "referral: 2026-10-18", "ref/unknown-referral"),
        (PLAN, "assessment: 2026-10-26", "assessment: 2026-10-27", "ref/unknown-assessment"),
        (
            f"{P1}/patient.yaml",
            "primary_provider: ",
            "primary_provider: dr-nobody #",
            "ref/unknown-provider",
        ),
        (
            f"{P1}/referrals/2026-10-19.yaml",
            "provider: ",
            "provider: dr-nobody #",
            "ref/unknown-provider",
        ),
        (
            "medmassage.yaml",
            "default_therapist: amara-okafor",
            "default_therapist: someone",
            "ref/unknown-therapist",
        ),
    ],
)
def test_references(store: Path, rel: str, old: str, new: str, rule: str) -> None:
    path = edit(store, rel, old, new)
    code, problems = check(store)
    found = only(problems, rule)[0]
    assert (
        code == 1
        and found["file"] == rel
        and found["line"] == line_of(path, new.split("#", maxsplit=1)[0].strip())
    )


def test_reference_to_a_file_that_does_not_parse_is_not_reported_missing(store: Path) -> None:
    (store / PLAN).write_text("id: [broken\n")
    code, problems = check(store)
    assert code == 1
    assert not [p for p in problems if p["rule"] == "ref/unknown-plan"]
    assert only(problems, "syntax/invalid-yaml")[0]["file"] == PLAN


# ---------------------------------------------------------------- clinical rules


def test_future_and_early_dates(store: Path) -> None:
    edit(store, SESSION, "date: 2026-10-29", "date: 2027-01-05")
    edit(store, f"{P1}/sessions/2026-11-02.yaml", "date: 2026-11-02", "date: 2026-10-01")
    edit(store, f"{P1}/sessions/2026-11-05.yaml", "date: 2026-11-05", "date: 1950-01-01")
    code, problems = check(store)
    assert code == 1
    assert only(problems, "clinical/future-date")[0]["file"] == SESSION
    assert only(problems, "clinical/before-intake")[0]["file"] == f"{P1}/sessions/2026-11-02.yaml"
    assert only(problems, "clinical/before-birth")[0]["file"] == f"{P1}/sessions/2026-11-05.yaml"


def test_treatment_longer_than_the_session(store: Path) -> None:
    path = edit(store, SESSION, "duration_minutes: ", "duration_minutes: 10 #")
    code, problems = check(store)
    found = only(problems, "clinical/treatment-exceeds-session")[0]
    assert (
        code == 1 and found["file"] == SESSION and found["line"] == line_of(path, "treatment:") + 1
    )


def test_expired_license_on_the_date_of_service(store: Path) -> None:
    edit(store, "therapists/amara-okafor.yaml", "expires: 2027-06-30", "expires: 2026-10-27")
    code, problems = check(store)
    files = {p["file"] for p in only(problems, "clinical/license-expired")}
    assert SESSION in files and f"{P1}/sessions/2026-10-26.yaml" not in files and code == 1


def test_absolute_precaution_is_an_error(store: Path) -> None:
    path = store / P1 / "patient.yaml"
    text = path.read_text()
    assert "precautions:" not in text
    path.write_text(
        text + "precautions:\n  - condition: Deep vein thrombosis, untreated\n    kind: absolute\n"
    )
    code, problems = check(store)
    files = {p["file"] for p in only(problems, "clinical/absolute-precaution")}
    assert code == 1 and SESSION in files


def test_local_precaution_is_a_warning_at_the_region(store: Path) -> None:
    path = store / P1 / "patient.yaml"
    path.write_text(
        path.read_text()
        + "precautions:\n  - condition: Recent bruise\n    kind: local\n    regions: [low_back]\n"
    )
    code, problems = check(store)
    found = [p for p in only(problems, "clinical/local-precaution") if p["file"] == SESSION]
    assert code == 0 and found and found[0]["severity"] == "warning"
    assert found[0]["line"] == line_of(store / SESSION, "- low_back")


def test_referral_validity_and_visit_count(store: Path) -> None:
    referral = f"{P1}/referrals/2026-10-19.yaml"
    edit(store, referral, "visits_authorized: ", "visits_authorized: 2 #")
    edit(store, referral, "valid_until: ", "valid_until: 2026-11-10 #")
    code, problems = check(store)
    exceeded = {p["file"] for p in only(problems, "clinical/visits-exceeded")}
    outside = {p["file"] for p in only(problems, "clinical/outside-referral")}
    assert f"{P1}/sessions/2026-11-02.yaml" in exceeded and SESSION not in exceeded
    assert outside == {
        f"{P1}/sessions/{d}.yaml" for d in ("2026-11-12", "2026-11-16", "2026-11-19")
    }
    assert code == 0  # warnings only


def test_pain_goal_off_the_scale(store: Path) -> None:
    path = edit(store, PLAN, "baseline: 6", "baseline: 12")
    code, problems = check(store)
    found = only(problems, "clinical/pain-range")[0]
    assert found["file"] == PLAN and found["line"] == line_of(path, "baseline: 12") and code == 1


# ---------------------------------------------------------------- output formats and usage


def test_text_format_is_file_line_col(store: Path) -> None:
    path = edit(store, SESSION, "therapist: amara-okafor", "therapist: amara-okafr")
    result = run_here("validate", "--today", TODAY, cwd=store)
    line = line_of(path, "amara-okafr")
    assert result.code == 1
    assert f"{SESSION}:{line}:12: error ref/unknown-therapist: " in result.out


def test_github_annotations(store: Path) -> None:
    edit(store, SESSION, "therapist: amara-okafor", "therapist: amara-okafr")
    result = run_here(
        "--root", str(store), "validate", "--format", "github", "--today", TODAY, cwd=store
    )
    assert (
        f"::error file={SESSION},line=" in result.out
        and "title=ref/unknown-therapist::" in result.out
    )


def test_validating_some_files_still_resolves_references(store: Path) -> None:
    edit(store, PLAN, "therapist: amara-okafor", "therapist: nobody")
    code, problems = check(store, str(store / SESSION))
    assert code == 0 and problems == []
    result = run_here(
        "--root", str(store), "validate", "--format", "json", str(store / P1 / "plans")
    )
    following = [*(store / P1).glob("sessions/*.yaml"), *(store / P1).glob("updates/*.yaml")]
    # the plan, and the notes that follow it (SPEC §6: what depends on the files named)
    assert result.code == 1 and result.json()["files"] == 1 + len(following)


def test_root_from_environment_and_from_the_working_folder(store: Path) -> None:
    # a real process started with the variable set and elsewhere as its working folder
    assert (
        run_cli(
            "validate", "--today", TODAY, env={"MEDMASSAGE_ROOT": str(store)}, cwd=store.parent
        ).code
        == 0
    )
    # run_here reads the same working folder and environment (both looked up per call)
    assert run_here("validate", "--today", TODAY, cwd=store / P1 / "sessions").code == 0
    # --root wins over the environment
    assert (
        run_here(
            "--root",
            str(store),
            "validate",
            "--today",
            TODAY,
            env={"MEDMASSAGE_ROOT": "/nonexistent"},
        ).code
        == 0
    )


@pytest.mark.parametrize(
    "args",
    [
        ("validate", "--format", "xml"),
        ("validate", "no/such/file.yaml"),
        ("validate", "/"),
        ("validate", "--today", "yesterday"),
        ("nonsense",),
    ],
)
def test_usage_errors_exit_2(demo_store: Path, args: tuple[str, ...]) -> None:
    result = run_here("--root", str(demo_store), *args)
    assert result.code == 2 and "Traceback" not in result.err and result.out == ""
    # The message names what was wrong: the value given (or the option, for a bad choice).
    assert args[-1] in result.err, result


def test_no_store_found_exit_2(tmp_path: Path) -> None:
    result = run_here("validate", cwd=tmp_path)
    assert result.code == 2 and "medmassage.yaml" in result.err


@pytest.mark.parametrize(
    "content",
    [
        b"\x00\x01\x02",
        b"id: [" * 5000,
        b"- 1\n- 2\n",
        b"a: !!binary aGk=\n",
        "\u2028".encode(),
        b"{" * 100000,
    ],
)
def test_garbage_never_crashes(store: Path, content: bytes) -> None:
    (store / SESSION).write_bytes(content)
    code, problems = check(store)
    mine = [p for p in problems if p["file"] == SESSION]
    # One located refusal of the file itself; nothing else is blamed on it.
    assert code == 1 and len(mine) == 1, problems
    assert mine[0]["rule"].startswith("syntax/") and mine[0]["line"] >= 1, mine
