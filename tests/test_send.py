"""`medmassage send` through the CLI on a git copy of the demo store: the exact file is
kept in the chart, the log carries its sha256, `due` drops the progress report, `validate`
catches a kept copy edited afterwards, and `--ascii` text is 7-bit."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from medmassage.documents import DOCUMENTS
from medmassage.render.ascii import to_ascii
from medmassage.yamlio import load_file
from tests.conftest import DEMO, TODAY, _fingerprint, run_cli, run_here

AT = f"{TODAY}T16:30:00-08:00"
needs_git = pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")


def _git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=True
    ).stdout


@pytest.fixture(scope="module")
def _repo_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo store in a fresh git repository with one commit, made once per module."""
    store = tmp_path_factory.mktemp("send-repo") / "store"
    shutil.copytree(DEMO, store, ignore=shutil.ignore_patterns("rendered", ".medmassage-cache"))
    _git(store, "init", "--quiet")
    for key, value in (("user.name", "Test Clinic"), ("user.email", "clinic@example.org")):
        _git(store, "config", key, value)
    (store / ".gitignore").write_text(".medmassage-cache/\nrendered/\n")
    _git(store, "add", ".")
    _git(store, "commit", "--quiet", "-m", "demo")
    return store


@pytest.fixture
def repo(_repo_template: Path, tmp_path: Path) -> Path:
    """A private copy of that repository (working tree and .git), free to change."""
    target = tmp_path / "store"
    shutil.copytree(_repo_template, target, symlinks=True)
    return target


def _load(path: Path) -> Any:
    return yaml.load(path.read_text(), Loader=yaml.BaseLoader)  # dates stay strings


def _progress_items(store: Path) -> list[dict[str, Any]]:
    result = run_here("--root", str(store), "due", "--today", TODAY, "--format", "json")
    assert result.code == 0, result
    return [i for i in result.json()["items"] if i["kind"] == "progress"]


@pytest.fixture(scope="module")
def due_progress(_shared_demo: tuple[Path, str]) -> list[dict[str, Any]]:
    """The progress reports `due` lists for the demo store (each test's repository holds
    the same records), asked once per module of the shared read-only copy."""
    root, before = _shared_demo
    items = _progress_items(root)
    assert items, "the demo has a progress report due"
    assert _fingerprint(root) == before, "`due` changed the store it read"
    return items


def _referrer(store: Path, patient: str) -> str:
    referrals = sorted((store / "patients" / patient / "referrals").glob("*.yaml"))
    return str(_load(referrals[-1])["provider"])


def _send(store: Path, patient: str, *extra: str, run: Any = run_here) -> Any:
    """`send` to the patient's referrer, in this process unless `run` is run_cli."""
    return run(
        "--root",
        str(store),
        "send",
        "physician-update",
        patient,
        "--via",
        "fax",
        "--to",
        _referrer(store, patient),
        "--at",
        AT,
        "--today",
        TODAY,
        *extra,
    )


def _sent(store: Path, result: Any) -> tuple[Path, dict[str, Any]]:
    kept, log = (store / line for line in _paths(store, result))
    return kept, _load(log)


def _paths(store: Path, result: Any) -> list[str]:
    paths = [Path(line) for line in result.out.splitlines()]
    return [p.resolve().relative_to(store.resolve()).as_posix() for p in paths]


@needs_git
def test_send_keeps_the_file_logs_its_hash_and_clears_due(
    repo: Path, due_progress: list[dict[str, Any]]
) -> None:
    items = _progress_items(repo)
    assert items == due_progress, "this repository's records are the demo's"
    patient = items[0]["patient"]
    result = _send(repo, patient, "--format", "txt", run=run_cli)  # a real process
    assert result.code == 0, result
    kept, log = _sent(repo, result)
    assert kept.parent == repo / "patients" / patient / "sent"
    assert kept.name == f"{TODAY}-physician-update.txt"
    assert log["sha256"] == hashlib.sha256(kept.read_bytes()).hexdigest()
    assert log["file"] == f"sent/{kept.name}" and log["via"] == "fax"
    assert log["provider"] == _referrer(repo, patient) and log["sent_at"] == AT
    assert log["signature"]["by"] == log["by"] and log["signature"]["at"] == AT
    assert patient not in {i["patient"] for i in _progress_items(repo)}
    clean = run_here("--root", str(repo), "validate", "--today", TODAY, "--format", "json")
    assert clean.code == 0 and clean.json()["ok"], clean
    # `git status` shows the kept copy: sent/ is tracked, not ignored.
    assert f"patients/{patient}/sent/" in _git(repo, "status", "--porcelain", "-uall")


@needs_git
def test_a_kept_copy_edited_after_sending_is_an_error(
    repo: Path, due_progress: list[dict[str, Any]]
) -> None:
    patient = due_progress[0]["patient"]
    result = _send(repo, patient)
    kept, _ = _sent(repo, result)
    assert run_here("--root", str(repo), "validate", "--today", TODAY).code == 0
    kept.write_bytes(kept.read_bytes().replace(b"Dear", b"Hello", 1))
    edited = run_here("--root", str(repo), "validate", "--today", TODAY, "--format", "json")
    assert edited.code == 1, edited
    rules = {(p["rule"], p["path"]) for p in edited.json()["problems"] if p["severity"] == "error"}
    assert rules == {("integrity/sent-changed", "$.sha256")}
    kept.unlink()
    gone = run_here("--root", str(repo), "validate", "--today", TODAY, "--format", "json")
    assert {p["rule"] for p in gone.json()["problems"] if p["severity"] == "error"} == {
        "integrity/sent-missing"
    }


@needs_git
def test_commit_holds_exactly_the_two_files_and_cc_is_logged(
    repo: Path, due_progress: list[dict[str, Any]]
) -> None:
    patient = due_progress[0]["patient"]
    others = sorted(p.stem for p in (repo / "providers").glob("*.yaml"))
    copy = next(p for p in others if p != _referrer(repo, patient))
    result = _send(repo, patient, "--cc", copy, "--format", "html", "--commit")
    assert result.code == 0, result
    committed = _git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(committed) == sorted(_paths(repo, result))
    _, log = _sent(repo, result)
    assert log["cc"] == [copy] and log["format"] == "html"
    assert _git(repo, "status", "--porcelain") == ""


def test_an_unknown_provider_sends_nothing(store: Path) -> None:
    patient = "p-0001"
    before = sorted(p.relative_to(store) for p in store.rglob("*") if p.is_file())
    result = _send(store, patient, "--cc", "dr-nobody-at-all")
    assert result.code == 1 and "dr-nobody-at-all" in result.err, result
    after = sorted(p.relative_to(store) for p in store.rglob("*") if p.is_file())
    assert [p for p in after if "sent" in p.parts or "updates" in p.parts] == [
        p for p in before if "sent" in p.parts or "updates" in p.parts
    ]


@needs_git
def test_ascii_letter_sent_is_seven_bit_and_the_plain_one_is_not(
    repo: Path, due_progress: list[dict[str, Any]]
) -> None:
    patient = due_progress[0]["patient"]
    plain, _ = _sent(repo, _send(repo, patient, "--date", TODAY))
    assert not plain.read_bytes().isascii()  # the letter uses °, –, → ...
    ascii_, log = _sent(repo, _send(repo, patient, "--ascii"))
    assert ascii_.name == f"{TODAY}-physician-update-2.txt"
    assert ascii_.read_bytes().isascii()
    assert log["sha256"] == hashlib.sha256(ascii_.read_bytes()).hexdigest()


@pytest.mark.parametrize("document", sorted(DOCUMENTS))
def test_every_demo_document_in_ascii_is_seven_bit(
    demo_store: Path, tmp_path: Path, document: str
) -> None:
    store, out = demo_store, tmp_path / "out"  # the store only read
    result = run_here(
        "--root", str(store), "render", document, "--all", "--status", "any",
        "--format", "txt", "--ascii", "--out", str(out),
    )  # fmt: skip
    written = sorted(out.rglob("*.txt"))
    assert written, result
    for path in written:
        data = path.read_bytes()
        assert all(byte < 128 for byte in data), path


def test_ascii_spells_out_the_signs_letters_use() -> None:
    text = "Flexion 90°, 2× a week – 3 weeks — pain ≤ 3, ≥ 5; “quoted” it’s Müller"
    assert to_ascii(text) == (
        'Flexion 90 deg, 2x a week - 3 weeks - pain <= 3, >= 5; "quoted" it\'s Muller'
    )
    assert to_ascii("漢") == "?"


def _num(value: float) -> str:
    return f"{value:g}"


@needs_git
def test_the_letter_sent_shows_attendance_and_a_computed_request(
    repo: Path, due_progress: list[dict[str, Any]]
) -> None:
    # An active episode: one on hold or discharged asks for no visits.
    patient = next(
        item["patient"]
        for item in due_progress
        if load_file(repo / "patients" / item["patient"] / "patient.yaml", "p")["status"]
        == "active"
    )
    kept, log = _sent(repo, _send(repo, patient, "--format", "txt"))
    folder = repo / "patients" / patient
    plans = sorted((folder / "plans").glob("*.yaml"))
    plan = _load(plans[-1])
    sessions = [_load(p) for p in sorted((folder / "sessions").glob("*.yaml"))]
    given = [s for s in sessions if s["treatment_plan"] == plan["id"]]
    kept_visits = [s for s in given if s["date"] <= log["period"]["to"]]
    left = int(plan["visits"]) - len(given)
    more = left if left > 0 else int(plan["visits"])
    per_week = float(plan["sessions_per_week"])
    weeks = -(-more // per_week)
    text = " ".join(kept.read_text().split())
    assert f"Attendance: {len(kept_visits)} of " in text
    request = (
        f"{more} more visit{'' if more == 1 else 's'}, {_num(per_week)} a week for "
        f"{int(weeks)} week{'' if weeks == 1 else 's'}"
    )
    assert f"REQUEST: {request}" in text
    assert "PHYSICIAN RESPONSE" in text and "Physician signature" in text
