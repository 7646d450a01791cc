"""Speed must never cost correctness: the cache never hides a problem, parallel and
serial runs agree, and the compiled fast path never accepts what jsonschema rejects."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO, TODAY, edit_after_reading, line_of, run_here
from hypothesis import given, settings
from hypothesis import strategies as st

from medmassage.kinds import NAMES as KINDS
from medmassage.report import for_display
from medmassage.schema_loader import fast_validator, validator
from medmassage.store import Entry, Store
from medmassage.validate import check_data, validate_store
from medmassage.yamlio import load_file

# An unsigned note: edits to signed ones would add integrity/signature-mismatch to every answer.
SESSION = "patients/p-0001/sessions/2026-11-19.yaml"


def rules_of(root: Path, *args: str) -> list[tuple[str, int, str]]:
    """What `validate` reports, run in this process: the caches live in the store's files,
    so each run reads what the last one left there, as separate processes would."""
    result = run_here("--root", str(root), "validate", "--format", "json", "--today", TODAY, *args)
    assert result.code in (0, 1), result
    return [(p["file"], p["line"], p["rule"]) for p in result.json()["problems"]]


@pytest.fixture
def cached(store: Path, trusting: None) -> Path:
    """The demo copy, validated once so every chart is in the cache."""
    assert rules_of(store) == []
    assert (store / ".medmassage-cache" / "validate.json").is_file()
    return store


def test_same_size_edit_with_mtime_restored_is_seen(cached: Path) -> None:
    path = cached / SESSION
    before = path.stat()
    text = path.read_text()
    path.write_text(text.replace("therapist: amara-okafor", "therapist: amara-okafox", 1))
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_size == before.st_size and path.stat().st_mtime_ns == before.st_mtime_ns
    assert (SESSION, line_of(path, "amara-okafox"), "ref/unknown-therapist") in rules_of(cached)


def test_swapped_files_are_seen(cached: Path) -> None:
    sessions = cached / "patients/p-0001/sessions"
    a, b = sessions / "2026-10-29.yaml", sessions / "2026-11-02.yaml"
    a.rename(sessions / "swap")
    b.rename(a)
    (sessions / "swap").rename(b)
    found = {(f, r) for f, _, r in rules_of(cached)}
    assert {
        (f"patients/p-0001/sessions/{day}.yaml", "layout/id-mismatch")
        for day in ("2026-10-29", "2026-11-02")
    } <= found


def test_a_changed_shared_record_invalidates_every_chart(cached: Path) -> None:
    path = cached / SESSION
    path.write_text(
        path.read_text().replace("technique: myofascial_release", "technique: gua_sha", 1)
    )
    assert any(r == "schema/enum" for _, _, r in rules_of(cached))
    settings_file = cached / "medmassage.yaml"
    # The new term joins the vocabulary and, like the technique it replaces, bills 97140.
    settings = settings_file.read_text().replace(
        "  codes:\n", '  codes:\n    - technique: gua_sha\n      code: "97140"\n', 1
    )
    settings_file.write_text(settings + "vocabulary:\n  technique: [gua_sha]\n")
    # Only the store's editor schemas (schemas/) still lack the new term: `schema --write`.
    assert {r for _, _, r in rules_of(cached)} <= {"layout/stale-schema"}


def test_another_day_is_judged_again(cached: Path) -> None:
    command = ("--root", str(cached), "validate", "--format", "json", "--today", "2026-10-27")
    result = run_here(*command)
    assert any(p["rule"] == "clinical/future-date" for p in result.json()["problems"])


@pytest.mark.parametrize("damage", [b"", b"{not json", b'{"format": 1}\n{}', None])
def test_corrupt_or_foreign_cache_is_ignored_and_rebuilt(
    cached: Path, damage: bytes | None
) -> None:
    cache = cached / ".medmassage-cache" / "validate.json"
    path = cached / SESSION
    path.write_text(
        path.read_text().replace("therapist: amara-okafor", "therapist: amara-okafox", 1)
    )
    if damage is None:  # a well-formed cache whose checksum no longer matches its body
        header, _, body = cache.read_bytes().partition(b"\n")
        damage = header + b"\n" + body.replace(b'"problems": []', b'"problems": [] ', 1)
    cache.write_bytes(damage)
    expected = (SESSION, line_of(path, "amara-okafox"), "ref/unknown-therapist")
    assert expected in rules_of(cached)
    assert expected in rules_of(cached)


def test_no_cache_gives_the_same_answer(cached: Path) -> None:
    path = cached / SESSION
    path.write_text(path.read_text().replace("duration_minutes: 60", "duration_minutes: 6", 1))
    assert rules_of(cached) == rules_of(cached, "--no-cache")


def test_the_day_is_part_of_what_every_chart_depends_on(store: Path) -> None:
    from medmassage.store.cache import shared_digest

    entries = [e for e in Store(store).walk() if e.kind and e.patient is None]
    base = shared_digest(store, entries, TODAY, ())
    assert shared_digest(store, entries, "2026-11-23", ()) != base
    assert shared_digest(store, entries, TODAY, ()) == base


# Runs the command from a private copy of the package (the editable install set aside).
_FROM_COPY = (
    "import sys\n"
    "sys.meta_path[:] = [f for f in sys.meta_path if 'editable' not in repr(f)]\n"
    "sys.path.insert(0, sys.argv.pop(1))\n"
    "sys.argv[0] = 'medmassage'\n"
    "from medmassage.cli import main\n"
    "main()\n"
)


def test_a_changed_schema_is_never_answered_from_the_cache(store: Path, tmp_path: Path) -> None:
    """A real change to a shipped schema (pain capped at 4, in a copy of the package):
    the cached answers from the old schema must not be reused."""
    package = tmp_path / "package"
    project = DEMO.parent
    shutil.copytree(
        project / "medmassage",
        package / "medmassage",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    for data in ("schemas", "templates"):
        shutil.copytree(project / data, package / "medmassage" / data)

    def problems() -> list[tuple[str, str]]:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("MEDMASSAGE_")}
        command = ["--root", str(store), "validate", "--format", "json", "--today", TODAY]
        proc = subprocess.run(
            [sys.executable, "-c", _FROM_COPY, str(package), *command],
            env={**environment, "MEDMASSAGE_RACY_SECONDS": "0"},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode in (0, 1), proc.stderr
        return [(p["file"], p["rule"]) for p in json.loads(proc.stdout)["problems"]]

    assert problems() == []
    assert (store / ".medmassage-cache" / "validate.json").is_file()
    schema_file = package / "medmassage" / "schemas" / "session.schema.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    schema["properties"]["subjective"]["properties"]["pain"]["maximum"] = 4
    schema_file.write_text(json.dumps(schema), encoding="utf-8")
    painful = {
        path.relative_to(store).as_posix()
        for path in store.glob("patients/*/sessions/*.yaml")
        if load_file(path, path.name)["subjective"]["pain"] > 4
    }
    editor_schema = ("schemas/session.schema.json", "layout/stale-schema")  # now out of date
    assert painful and set(problems()) == {(rel, "schema/maximum") for rel in painful} | {
        editor_schema
    }


def test_a_file_edited_while_the_run_reads_it_is_checked_again(
    monkeypatch: pytest.MonkeyPatch, store: Path
) -> None:
    """The cache records a chart under the identity its files had before they were read:
    an edit landing after the read (here, long enough before the run saves its cache to
    look settled) makes the next run check the chart again, never trust the old result."""
    from medmassage import judging

    real_check = edit_after_reading(monkeypatch, judging, store / SESSION, SESSION)
    first = validate_store(Store(store), today=TODAY, jobs=1, use_cache=True, keep_view=False)
    assert first.problems == []  # the bytes it read were fine
    monkeypatch.setattr(judging, "check_chart", real_check)
    assert (SESSION, "schema/maximum") in {(f, r) for f, _, r in rules_of(store)}


def test_parallel_and_serial_report_identical_problems(tmp_path: Path) -> None:
    root = tmp_path / "big"
    shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns(".medmassage-cache", "rendered"))
    for copy_number in range(1, 7):
        for source in sorted((DEMO / "patients").iterdir()):
            new_id = f"{source.name}-{copy_number}"
            shutil.copytree(source, root / "patients" / new_id)
            patient = root / "patients" / new_id / "patient.yaml"
            patient.write_text(
                patient.read_text().replace(f"id: {source.name}", f"id: {new_id}", 1)
            )
    broken = sorted(root.glob("patients/*/sessions/*.yaml"))[::37]
    for path in broken:
        path.write_text(path.read_text().replace("pain: ", "pain: 12 #", 1))
    serial = validate_store(Store(root), today=TODAY, jobs=1, keep_view=False)
    assert serial.files > 400 and len(serial.problems) >= len(broken)
    # The parallel run is the command's with two processes (the same call: no cache, no
    # view kept): every problem whole, as the serial run's show once the command has added
    # its --root to their fixes (its -j 1 is the serial run, without another pass over 600
    # files).
    command = ("--root", str(root), "validate", "--format", "json", "--today", TODAY)
    parallel = run_here(*command, "-j", "2", "--no-cache")
    assert parallel.code == 1, parallel
    shown = for_display(serial, root, False, str(root)).problems
    assert parallel.json()["problems"] == [p.as_dict() for p in shown]
    assert parallel.json()["files"] == serial.files


# ---------------------------------------------------------------- the compiled fast path

DEMO_RECORDS = [
    (kind, load_file(path, path.name))
    for kind, pattern in [
        ("settings", "medmassage.yaml"),
        ("therapist", "therapists/*.yaml"),
        ("provider", "providers/*.yaml"),
        ("patient", "patients/*/patient.yaml"),
        ("referral", "patients/*/referrals/*.yaml"),
        ("assessment", "patients/*/assessments/*.yaml"),
        ("plan", "patients/*/plans/*.yaml"),
        ("session", "patients/*/sessions/*.yaml"),
    ]
    for path in sorted(DEMO.glob(pattern))[:3]
]
_odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 400),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "",
            "x",
            "2026-02-30",
            "2026-03-14",
            "25:00",
            "09:30",
            "low_back",
            "LMT",
            "a@b",
            "p-0001",
            "2026-03-14T10:00:00Z",
            "2026-03-14T10:00Z",
            "M54.50",
            "97140",
            "g1",
            "bilateral",
        ]
    ),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["a", "id"]), st.integers(), max_size=1),
)


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


KINDS_SAMPLED = sorted({kind for kind, _ in DEMO_RECORDS})


# 600 examples in all, as many for each kind (one test per kind, for parallel workers).
@pytest.mark.parametrize("kind", KINDS_SAMPLED)
@settings(max_examples=600 // len(KINDS_SAMPLED), deadline=None)
@given(data=st.data())
def test_fast_path_never_accepts_what_jsonschema_rejects(kind: str, data: st.DataObject) -> None:
    of_kind = [record for k, record in DEMO_RECORDS if k == kind]
    original = data.draw(st.sampled_from(of_kind))
    record = copy.deepcopy(original)
    for _ in range(data.draw(st.integers(1, 3))):
        paths = _paths(record)
        if not paths:
            break
        path = data.draw(st.sampled_from(paths))
        parent = record
        for part in path[:-1]:
            parent = parent[part]
        action = data.draw(st.sampled_from(["set", "delete", "extra"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "extra" and isinstance(parent, dict):
            parent["colour"] = "blue"
        else:
            parent[path[-1]] = data.draw(_odd_values)
    fast = fast_validator(kind)(record)
    slow = validator(kind).is_valid(record)
    assert not fast or slow, f"fast path accepted an invalid {kind}"
    # So a record gets the same findings whether its kind is checked through the fast path
    # (many records of it to check) or by jsonschema alone (a handful).
    folder = {"settings": "", "therapist": "therapists/", "provider": "providers/"}.get(
        kind, "patients/p-0001/x/"
    )
    entry = Entry(f"{folder}{record.get('id', 'x')}.yaml", kind, str(record.get("id", "x")), None)
    alone, compiled = check_data(entry, record, ()), check_data(entry, record, (), frozenset(KINDS))
    assert (alone.valid, alone.findings) == (compiled.valid, compiled.findings)


def test_a_record_in_the_wrong_folder_is_named_the_same_whichever_kinds_are_compiled() -> None:
    """The finding must not depend on whether the store holds enough providers to compile
    theirs (a trailing newline, once read differently by the two, is now refused by both,
    so it makes no provider: schema findings, the same either way)."""
    provider = {"id": "dr-x", "name": "Dr X", "credentials": "MD", "npi": "1234567893"}
    stray = {**provider, "npi": "1234567893\n"}
    entry = Entry("therapists/dr-x.yaml", "therapist", "dr-x")
    stray_answers = {
        tuple(check_data(entry, stray, (), compiled).findings)
        for compiled in (frozenset(), frozenset(KINDS))
    }
    assert len(stray_answers) == 1
    assert "layout/wrong-folder" not in [f.rule for f in stray_answers.pop()]
    answers = {
        tuple(check_data(entry, provider, (), compiled).findings)
        for compiled in (frozenset(), frozenset(KINDS))
    }
    assert len(answers) == 1 and [f.rule for f in answers.pop()] == ["layout/wrong-folder"]


def test_fast_path_accepts_the_demo_records() -> None:
    for kind, record in DEMO_RECORDS:
        assert fast_validator(kind)(record) and validator(kind).is_valid(record)
