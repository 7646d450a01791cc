"""Signed is final: `sign`, `amend`, the integrity checks of `validate`, `--commit`
and `log`, through the real CLI on private copies of the demo clinic and in real
temporary git repositories."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO, PROJECT, TODAY, Result, line_of, run_cli, run_here

from medmassage.signature import signed_copy
from medmassage.yamlio import dump, load_file

HAS_GIT = shutil.which("git") is not None
needs_git = pytest.mark.skipif(not HAS_GIT, reason="git is not installed")

# The demo clinic leaves its most recent notes unsigned (inside the signing window).
UNSIGNED = ("p-0001/2026-11-19", "p-0004/2026-11-19", "p-0006/2026-11-20")
SIGNED = "p-0001/2026-10-29"
AT_LATE = "2026-11-21T09:00:00-08:00"  # two days after p-0001/2026-11-19: past the window
AT = {
    "p-0001/2026-11-19": "2026-11-19T11:00:00-08:00",
    "p-0004/2026-11-19": "2026-11-19T17:10:00-08:00",
    "p-0006/2026-11-20": "2026-11-20T13:45:00-08:00",
}


def path_of(root: Path, ref: str) -> Path:
    patient, session = ref.split("/")
    return root / "patients" / patient / "sessions" / f"{session}.yaml"


def mm(root: Path, *args: str, **kwargs: Any) -> Result:
    """The CLI in this process: these tests are about what gets signed, written and
    reported, which the process adds nothing to (the first test and the concurrent
    signs run real processes)."""
    return run_here("--root", str(root), *args, **kwargs)


def sign(root: Path, ref: str, *args: str) -> Result:
    return mm(
        root, "sign", ref, "--at", AT.get(ref, "2026-11-21T09:00:00-08:00"), "--today", TODAY, *args
    )


def problems(root: Path) -> list[dict[str, Any]]:
    result = mm(root, "validate", "--format", "json", "--today", TODAY)
    assert result.code in (0, 1) and "Traceback" not in result.err, result
    return list(result.json()["problems"])


def rules(root: Path) -> set[tuple[str, str]]:
    return {(p["file"], p["rule"]) for p in problems(root)}


def recompute(record: dict[str, Any]) -> str:
    """The README's recipe for checking a signature by hand."""
    content = json.loads(json.dumps(record))
    content["signature"].pop("sha256")
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def git(root: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    )
    return proc.stdout


@pytest.fixture(scope="module")
def _repo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store in a fresh git repository with one commit, made once per module."""
    store = tmp_path_factory.mktemp("signing-repo") / "store"
    shutil.copytree(DEMO, store, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    git(store, "init", "--quiet")
    for key, value in (
        ("user.name", "Test Therapist"),
        ("user.email", "test@example.org"),
        ("commit.gpgsign", "false"),
    ):
        git(store, "config", key, value)
    (store / ".gitignore").write_text(".medmassage-cache/\n")
    git(store, "add", ".")
    git(store, "commit", "--quiet", "-m", "start")
    return store


@pytest.fixture
def repo(_repo_template: Path, tmp_path: Path) -> Path:
    """A private copy of that repository (working tree and .git), free to change."""
    target = tmp_path / "store"
    shutil.copytree(_repo_template, target, symlinks=True)
    return target


# ------------------------------------------------------------------------------ sign


def test_sign_adds_a_signature_anyone_can_check(store: Path) -> None:
    ref = UNSIGNED[0]
    path = path_of(store, ref)
    before = path.read_text()
    result = run_cli("--root", str(store), "sign", ref, "--at", AT[ref], "--today", TODAY)
    assert result.code == 0, result
    assert result.out.strip().endswith("patients/p-0001/sessions/2026-11-19.yaml")
    after = path.read_text()
    assert after.startswith(before), (
        "the signature is appended; the note's own text stays as it was"
    )
    record = load_file(path, "note")
    assert record["signature"]["by"] == "amara-okafor" and record["signature"]["at"] == AT[ref]
    assert list(record["signature"]) == ["by", "at", "sha256"]
    assert record["signature"]["sha256"] == recompute(record)
    assert problems(store) == []


def test_one_changed_character_is_a_signature_mismatch_at_that_note(store: Path) -> None:
    path = path_of(store, SIGNED)
    assert problems(store) == []
    path.write_text(path.read_text().replace("pain: 5", "pain: 4", 1))
    found = [p for p in problems(store) if p["rule"] == "integrity/signature-mismatch"]
    assert len(found) == 1, found
    problem = found[0]
    assert (
        problem["file"] == "patients/p-0001/sessions/2026-10-29.yaml"
        and problem["severity"] == "error"
    )
    assert problem["line"] == line_of(path, "signature:") and problem["path"] == "$.signature"
    assert "p-0001/2026-10-29" in problem["message"] and "subjective" in problem["message"]
    # Fix commands carry the --root the run was given, so they work as pasted.
    assert re.search(r"medmassage (--root \S+ )?amend p-0001/2026-10-29", problem["message"])
    assert re.search(r"medmassage (--root \S+ )?log", problem["message"])
    assert "sign" not in problem["message"].replace("signed", "").replace("signature", "")
    text = mm(store, "validate", "--today", TODAY)
    assert text.code == 1 and "integrity/signature-mismatch" in text.out


@pytest.mark.parametrize("change", ["signer", "time"])
def test_who_signed_and_when_are_covered_too(store: Path, change: str) -> None:
    path = path_of(store, SIGNED)
    old, new = (
        ("by: amara-okafor", "by: mateo-lindqvist")
        if change == "signer"
        else ("T10:45:00", "T09:45:00")
    )
    path.write_text(path.read_text().replace(old, new, 1))
    assert (path.relative_to(store).as_posix(), "integrity/signature-mismatch") in rules(store)


def test_key_order_comments_and_quoting_are_not_changes(store: Path) -> None:
    path = path_of(store, SIGNED)
    lines = path.read_text().splitlines(keepends=True)
    # Move `therapist:` to the end, quote the date, add comments: same record, same hash.
    therapist = next(line for line in lines if line.startswith("therapist:"))
    lines.remove(therapist)
    text = "# reviewed at the front desk\n" + "".join(lines) + therapist + "# end of note\n"
    path.write_text(text.replace("date: 2026-10-29", 'date: "2026-10-29"', 1))
    assert problems(store) == []


def test_a_signed_note_is_not_signed_twice(demo_store: Path) -> None:
    store = demo_store  # refused: nothing is written (the shared copy checks it)
    path = path_of(store, SIGNED)
    before = path.read_bytes()
    result = sign(store, SIGNED)
    # The suggested fix carries the --root this test gave, so it works as typed.
    assert result.code == 1 and "already signed" in result.err, result
    assert f"medmassage --root {store} amend" in result.err, result
    assert "Traceback" not in result.err and result.out == ""
    assert path.read_bytes() == before


def test_a_note_that_does_not_validate_is_not_signed(store: Path) -> None:
    ref = UNSIGNED[0]
    path = path_of(store, ref)
    path.write_text(path.read_text().replace("duration_minutes: 60", "duration_minutes: 20", 1))
    before = path.read_bytes()
    result = sign(store, ref)
    assert result.code == 1, result
    assert (
        "clinical/treatment-exceeds-session" in result.err
        and "not signed: p-0001/2026-11-19" in result.err
    )
    assert path.read_bytes() == before


def test_only_the_notes_therapist_signs_unless_cosigning_is_allowed(store: Path) -> None:
    ref = UNSIGNED[0]
    refused = sign(store, ref, "--by", "mateo-lindqvist")
    assert refused.code == 1 and "only they may sign it" in refused.err, refused
    settings = store / "medmassage.yaml"
    settings.write_text(
        settings.read_text().replace("signing:\n", "signing:\n  allow_cosigner: true\n", 1)
    )
    assert sign(store, ref, "--by", "nobody-here").code == 1
    cosigned = sign(store, ref, "--by", "mateo-lindqvist")
    assert cosigned.code == 0, cosigned
    assert load_file(path_of(store, ref), "note")["signature"]["by"] == "mateo-lindqvist"
    assert problems(store) == []


def test_bad_signing_times_are_usage_errors(demo_store: Path) -> None:
    store = demo_store  # refused: nothing is written (the shared copy checks it)
    for at in ("2026-11-19 11:00", "2026-11-19T11:00-08:00", "2026-11-19T25:00:00-08:00"):
        result = mm(store, "sign", UNSIGNED[0], "--at", at, "--today", TODAY)
        assert result.code == 2 and "--at" in result.err, result
    before = mm(store, "sign", UNSIGNED[0], "--at", "2026-11-18T23:00:00-08:00", "--today", TODAY)
    assert before.code == 1 and "before the visit" in before.err, before


@pytest.mark.skipif(os.name == "nt", reason="POSIX permissions")
def test_signing_keeps_the_files_mode_and_leaves_no_temporary_file(store: Path) -> None:
    path = path_of(store, UNSIGNED[0])
    path.chmod(0o600)
    assert sign(store, UNSIGNED[0]).code == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(".")) == []


def test_a_file_that_cannot_be_extended_is_rewritten_in_the_standard_layout(store: Path) -> None:
    path = path_of(store, UNSIGNED[0])
    record = load_file(path, "note")
    path.write_text(json.dumps(record))  # flow style: appending a block would not parse
    assert sign(store, UNSIGNED[0]).code == 0
    signed = load_file(path, "note")
    assert {k: v for k, v in signed.items() if k != "signature"} == record
    assert signed["signature"]["sha256"] == recompute(signed)
    assert problems(store) == []


def test_all_unsigned_signs_one_therapists_notes(store: Path) -> None:
    result = mm(
        store,
        "sign",
        "--all-unsigned",
        "--by",
        "mateo-lindqvist",
        "--at",
        "2026-11-20T18:00:00-08:00",
        "--today",
        TODAY,
    )
    assert result.code == 0, result
    assert sorted(Path(line).name for line in result.out.splitlines()) == [
        "2026-11-19.yaml",
        "2026-11-20.yaml",
    ]
    assert "signature" not in load_file(path_of(store, UNSIGNED[0]), "note")  # amara-okafor's
    again = mm(store, "sign", "--all-unsigned", "--by", "mateo-lindqvist", "--today", TODAY)
    assert again.code == 0 and "no unsigned notes" in again.err, again
    assert mm(store, "sign", "--all-unsigned", "--today", TODAY).code == 2


# -------------------------------------------------------------------- late, unsigned


def test_unsigned_notes_are_warnings_after_the_signing_window(demo_store: Path) -> None:
    store = demo_store  # only read
    result = mm(store, "validate", "--format", "json", "--today", "2026-11-23")
    found = {p["file"] for p in result.json()["problems"] if p["rule"] == "integrity/unsigned"}
    assert result.code == 0 and found == {
        "patients/p-0001/sessions/2026-11-19.yaml",
        "patients/p-0004/sessions/2026-11-19.yaml",
    }


def test_a_late_signature_is_a_warning_unless_labelled_or_explained(store: Path) -> None:
    ref, rel = UNSIGNED[0], "patients/p-0001/sessions/2026-11-19.yaml"
    # `sign` refuses this without --late; a note signed by hand (or another tool) can be late.
    late = mm(store, "sign", ref, "--at", "2026-11-21T09:00:00-08:00", "--today", TODAY)
    assert late.code == 1 and "--late" in late.err, late
    path = path_of(store, ref)
    path.write_text(dump(signed_copy(load_file(path, "note"), "amara-okafor", AT_LATE)))
    found = [p for p in problems(store) if p["rule"] == "integrity/late-signature"]
    assert [(p["file"], p["severity"], p["path"]) for p in found] == [
        (rel, "warning", "$.signature.at")
    ]
    amended = mm(
        store,
        "amend",
        ref,
        "--kind",
        "late_entry",
        "--reason",
        "Signed two days late",
        "--text",
        "Written from the visit's notes on 2026-11-21.",
        "--at",
        "2026-11-21T09:10:00-08:00",
        "--today",
        TODAY,
    )
    assert amended.code == 0, amended
    assert problems(store) == []


def test_sign_late_labels_the_note_before_signing(store: Path) -> None:
    ref = UNSIGNED[0]
    result = mm(store, "sign", ref, "--late", "--at", "2026-11-21T09:00:00-08:00", "--today", TODAY)
    assert result.code == 0 and "late_entry" not in result.err, result
    assert load_file(path_of(store, ref), "note")["late"] is True
    assert problems(store) == []


# ----------------------------------------------------------------------------- amend


def test_amend_writes_a_signed_addendum_and_leaves_the_note_byte_identical(store: Path) -> None:
    note = path_of(store, SIGNED)
    before = note.read_bytes()
    result = mm(
        store,
        "amend",
        SIGNED,
        "--kind",
        "correction",
        "--reason",
        "Wrong side recorded",
        "--text",
        "The trigger point was on the right, not the left.",
        "--at",
        "2026-11-21T08:00:00-08:00",
        "--today",
        TODAY,
    )
    assert result.code == 0, result
    path = Path(result.out.strip())
    path = path if path.is_absolute() else PROJECT / path
    assert path == store / "patients/p-0001/addenda/2026-11-21.yaml"
    assert note.read_bytes() == before
    record = load_file(path, "addendum")
    assert list(record) == [
        "id",
        "refers_to",
        "kind",
        "written_at",
        "author",
        "reason",
        "text",
        "signature",
    ]
    assert (
        record["refers_to"] == "2026-10-29"
        and record["author"] == "amara-okafor" == record["signature"]["by"]
    )
    assert record["signature"]["sha256"] == recompute(record)
    if os.name != "nt":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert problems(store) == []
    second = mm(
        store,
        "amend",
        SIGNED,
        "--kind",
        "addendum",
        "--reason",
        "More",
        "--from",
        "-",
        "--at",
        "2026-11-21T08:30:00-08:00",
        "--today",
        TODAY,
        input="Patient called: no soreness.\n",
    )
    assert second.code == 0 and second.out.strip().endswith("2026-11-21-2.yaml"), second
    assert (
        load_file(store / "patients/p-0001/addenda/2026-11-21-2.yaml", "a")["text"]
        == "Patient called: no soreness."
    )


def test_amend_takes_its_text_from_the_editor(store: Path, tmp_path: Path) -> None:
    editor = tmp_path / "editor.py"
    editor.write_text("import sys\nopen(sys.argv[1], 'a').write('Seen again on the phone.\\n')\n")
    result = mm(
        store,
        "amend",
        SIGNED,
        "--kind",
        "addendum",
        "--reason",
        "Follow-up call",
        "--today",
        TODAY,
        "--at",
        "2026-11-21T08:00:00-08:00",
        env={"EDITOR": f'"{sys.executable}" "{editor}"', "VISUAL": ""},
    )
    assert result.code == 0, result
    assert (
        load_file(store / "patients/p-0001/addenda/2026-11-21.yaml", "a")["text"]
        == "Seen again on the phone."
    )


def test_amend_refuses_unsigned_and_missing_notes(demo_store: Path) -> None:
    store = demo_store  # refused: nothing is written (the shared copy checks it)
    unsigned = mm(
        store,
        "amend",
        UNSIGNED[0],
        "--kind",
        "correction",
        "--reason",
        "x",
        "--text",
        "y",
        "--today",
        TODAY,
    )
    assert unsigned.code == 1 and "not signed yet" in unsigned.err, unsigned
    missing = mm(
        store, "amend", "p-0001/2026-01-01", "--kind", "correction", "--reason", "x", "--text", "y"
    )
    assert missing.code == 2 and "no such session" in missing.err, missing
    assert not (store / "patients/p-0001/addenda").exists()


def test_an_addendum_to_a_missing_or_unsigned_note_fails_validation(store: Path) -> None:
    addenda = store / "patients/p-0003/addenda"
    existing = next(addenda.glob("*.yaml"))
    orphan = addenda / "2026-11-21.yaml"
    orphan.write_text(
        existing.read_text()
        .replace("id: 2026-11-04", "id: 2026-11-21")
        .replace("refers_to: 2026-11-03", "refers_to: 2026-11-02")
    )
    found = [p for p in problems(store) if p["file"] == "patients/p-0003/addenda/2026-11-21.yaml"]
    assert ("integrity/addendum-target", "error", "$.refers_to") in {
        (p["rule"], p["severity"], p["path"]) for p in found
    }
    assert any("does not exist" in p["message"] and "did you mean" in p["message"] for p in found)
    orphan.write_text(orphan.read_text().replace("refers_to: 2026-11-02", "refers_to: 2026-11-17"))
    path_of(store, "p-0003/2026-11-17").write_text(
        path_of(store, "p-0003/2026-11-17").read_text().split("signature:")[0]
    )
    messages = [p["message"] for p in problems(store) if p["rule"] == "integrity/addendum-target"]
    assert any("is not signed" in m for m in messages), messages


def test_a_changed_addendum_is_a_signature_mismatch(store: Path) -> None:
    path = next((store / "patients/p-0003/addenda").glob("*.yaml"))
    path.write_text(path.read_text().replace("right shoulder", "left shoulder", 1))
    assert (path.relative_to(store).as_posix(), "integrity/signature-mismatch") in rules(store)


# ------------------------------------------------------------------------------- git


@needs_git
def test_commit_commits_only_the_files_written_with_ids_only(repo: Path) -> None:
    other = path_of(repo, UNSIGNED[1])
    other.write_text(
        other.read_text() + "# work in progress\n"
    )  # a change of the person's own, not ours
    (repo / "notes.txt").write_text("untracked\n")
    staged = repo / "patients/p-0002/patient.yaml"
    staged.write_text(staged.read_text() + "# staged\n")
    git(repo, "add", str(staged))
    result = sign(repo, UNSIGNED[0], "--commit")
    assert result.code == 0, result
    assert git(repo, "log", "-1", "--format=%s").strip() == "sign p-0001/2026-11-19"
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [
        "patients/p-0001/sessions/2026-11-19.yaml"
    ]
    status = git(repo, "status", "--porcelain").splitlines()
    assert sorted(status) == sorted(
        [
            "M  patients/p-0002/patient.yaml",
            " M patients/p-0004/sessions/2026-11-19.yaml",
            "?? notes.txt",
        ]
    )
    amended = mm(
        repo,
        "amend",
        SIGNED,
        "--kind",
        "correction",
        "--reason",
        "Jordan's side was wrong",
        "--text",
        "Right side, not left.",
        "--at",
        "2026-11-21T08:00:00-08:00",
        "--today",
        TODAY,
        "--commit",
    )
    assert amended.code == 0, amended
    message = git(repo, "log", "-1", "--format=%B").strip()
    assert message == "amend p-0001/2026-10-29: correction 2026-11-21"
    assert git(repo, "show", "--name-only", "--format=", "HEAD").split() == [
        "patients/p-0001/addenda/2026-11-21.yaml"
    ]


@needs_git
def test_create_commit_commits_the_new_record(repo: Path) -> None:
    source = (
        path_of(repo, UNSIGNED[0])
        .read_text()
        .replace("id: 2026-11-19\ndate: 2026-11-19", "date: 2026-11-21")
    )
    result = mm(
        repo, "create", "session", "--patient", "p-0001", "--from", "-", "--commit", input=source
    )
    assert result.code == 0, result
    new = Path(result.out.strip())
    assert git(repo, "log", "-1", "--format=%s").strip() == f"create session p-0001/{new.stem}"
    assert git(repo, "status", "--porcelain") == ""


@needs_git
def test_two_concurrent_signs_with_commit_both_land(repo: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDMASSAGE_")}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "medmassage",
                "--root",
                str(repo),
                "sign",
                ref,
                "--at",
                AT[ref],
                "--today",
                TODAY,
                "--commit",
            ],
            cwd=PROJECT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for ref in UNSIGNED
    ]
    outputs = [proc.communicate(timeout=300) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], outputs
    subjects = git(repo, "log", "--format=%s").splitlines()
    assert (
        sorted(subjects[:3]) == sorted(f"sign {ref}" for ref in UNSIGNED) and subjects[3] == "start"
    )
    assert git(repo, "status", "--porcelain") == ""


@needs_git
def test_commit_outside_a_repository_says_the_file_is_written(store: Path) -> None:
    result = sign(store, UNSIGNED[0], "--commit")
    assert (
        result.code == 1
        and "not in a git repository" in result.err
        and "written but not committed" in result.err
    )
    assert "signature" in load_file(path_of(store, UNSIGNED[0]), "note")


@needs_git
def test_log_shows_who_when_and_what_changed(repo: Path) -> None:
    note = path_of(repo, UNSIGNED[0])
    before = note.read_text().splitlines()
    assert sign(repo, UNSIGNED[0], "--commit").code == 0
    added = len(note.read_text().splitlines()) - len(before)  # the signature's lines
    result = mm(repo, "log", UNSIGNED[0])
    assert result.code == 0, result
    assert result.out.count("commit ") == 2 and "Test Therapist <test@example.org>" in result.out
    assert result.out.index("sign p-0001/2026-11-19") < result.out.index("start")
    assert added > 0 and note.read_text().splitlines()[: len(before)] == before
    assert f"{note.relative_to(repo).as_posix()} | {added} {'+' * added}\n" in result.out
    patch = mm(repo, "log", str(path_of(repo, UNSIGNED[0])), "--patch")
    assert patch.code == 0 and "+  by: amara-okafor" in patch.out, patch
    assert mm(repo, "log", "p-0001/2026-01-01").code == 2


@needs_git
def test_log_names_the_fields_changed_since_the_signed_version(repo: Path) -> None:
    path = path_of(repo, SIGNED)
    path.write_text(path.read_text().replace("pain: 5", "pain: 4", 1))
    result = mm(repo, "log", SIGNED)
    assert result.code == 0, result
    first = result.out.splitlines()[0]
    assert (
        first.startswith("p-0001/2026-10-29: signed by amara-okafor")
        and "CHANGED since: $.subjective.pain differ" in first
    )
    assert "git checkout" in first
    addenda = mm(repo, "log", "p-0003/2026-11-03")
    assert (
        addenda.code == 0
        and "the signature holds" in addenda.out
        and "addendum 2026-11-04: correction" in addenda.out
    )


@needs_git
@pytest.mark.skipif(os.name == "nt", reason="a POSIX shell hook")
def test_commit_runs_the_persons_hooks_and_reports_their_refusal(repo: Path) -> None:
    hook = repo / ".git" / "hooks" / "pre-commit"
    hook.write_text("#!/bin/sh\necho 'hook says no' >&2\nexit 1\n")
    hook.chmod(0o755)
    result = sign(repo, UNSIGNED[0], "--commit")
    assert (
        result.code == 1
        and "hook says no" in result.err
        and "written but not committed" in result.err
    ), result
    assert git(repo, "log", "--format=%s").splitlines() == ["start"]
    assert "signature" in load_file(path_of(repo, UNSIGNED[0]), "note")


def test_an_addendum_cannot_predate_the_signature(demo_store: Path) -> None:
    store = demo_store  # refused: nothing is written (the shared copy checks it)
    result = mm(
        store,
        "amend",
        SIGNED,
        "--kind",
        "addendum",
        "--reason",
        "x",
        "--text",
        "y",
        "--at",
        "2026-10-29T09:00:00-07:00",
        "--today",
        TODAY,
    )
    assert result.code == 2 and "before p-0001/2026-10-29 was signed" in result.err, result
