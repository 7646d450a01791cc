"""Hardening of the store walk and the writer (issue 12): nothing outside the store is read
or written through a link, no file that looks like a record is silently left out, odd
file names never crash a report, and concurrent or failing writes leave no debris."""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from conftest import DEMO, PROJECT, TODAY, first_file, run_cli, run_here
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

P1 = "patients/p-0001"
MARKER = "zz-outside-marker-7f3a"  # in files outside the store: never to be read or echoed
FORMATS = ("text", "json", "github")
CLI = (sys.executable, "-m", "medmassage")


def problems(root: Path, *args: str, run: Any = run_here) -> tuple[int, list[dict[str, Any]]]:
    """Exit status and the problems of `validate --format json` over the store, in this
    process unless `run` says otherwise (what a process writes is checked with run_cli)."""
    result = run("--root", str(root), "validate", "--format", "json", "--today", TODAY, *args)
    assert result.code in (0, 1), result
    return result.code, result.json()["problems"]


def found(items: list[dict[str, Any]], rule: str) -> set[str]:
    return {item["file"] for item in items if item["rule"] == rule}


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` (links included, unfollowed) with its bytes."""
    return {
        str(path.relative_to(folder)): b"link" if path.is_symlink() else path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_symlink() or path.is_file()
    }


def outside_session(tmp_path: Path, store: Path) -> Path:
    """A well-formed session of p-0001, kept outside the store, carrying the marker."""
    source = first_file(store, f"{P1}/sessions/*.yaml").read_text()
    outside = tmp_path / "elsewhere" / "note.yaml"
    outside.parent.mkdir()
    outside.write_text(source.replace("report: ", f"report: {MARKER} ", 1))
    return outside


# -- 1. links ------------------------------------------------------------------------------


def test_a_linked_record_is_refused_never_followed_nor_rendered(store: Path, tmp_path: Path):
    outside = outside_session(tmp_path, store)
    link = store / P1 / "sessions" / "2026-11-21.yaml"
    link.symlink_to(outside)
    code, found_problems = problems(store)
    assert code == 1
    assert found(found_problems, "layout/symlink") == {f"{P1}/sessions/2026-11-21.yaml"}
    out = tmp_path / "out"
    result = run_here("--root", str(store), "render", "soap", "--all", "--out", str(out))
    assert "Traceback" not in result.err
    rendered = tree(out) if out.exists() else {}
    assert not any("2026-11-21" in name for name in rendered)
    assert all(MARKER.encode() not in data for data in rendered.values())
    assert MARKER not in result.out + result.err


@pytest.mark.parametrize("linked", [P1, f"{P1}/sessions", "therapists", "patients"])
def test_a_linked_folder_is_refused_and_its_records_not_read(
    store: Path, tmp_path: Path, linked: str
) -> None:
    real = tmp_path / "moved"
    shutil.move(store / linked, real)
    (store / linked).symlink_to(real, target_is_directory=True)
    code, found_problems = problems(store)
    assert code == 1 and linked in found(found_problems, "layout/symlink")
    moved = {f"{linked}/{path.relative_to(real).as_posix()}" for path in real.rglob("*.yaml")}
    assert not moved & {item["file"] for item in found_problems if item["rule"] != "layout/symlink"}


def test_a_linked_cache_folder_is_never_written_through(store: Path, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (store / ".medmassage-cache").symlink_to(elsewhere, target_is_directory=True)
    code, found_problems = problems(store)
    assert code == 1 and found(found_problems, "layout/symlink") == {".medmassage-cache"}
    draft = run_here(
        "--root", str(store), "create", "patient", "--edit", env={"EDITOR": "true", "VISUAL": ""}
    )
    assert draft.code == 1 and f"{store}/.medmassage-cache is a symbolic link" in draft.err
    signing = run_here("--root", str(store), "sign", "--all-unsigned", "--late", "--today", TODAY)
    assert signing.code != 0 and ".medmassage-cache is a symbolic link" in signing.err
    render = run_here("--root", str(store), "render", "soap", "--all", "--out", str(tmp_path / "o"))
    assert render.code in (0, 1), render
    assert list(elsewhere.iterdir()) == []


# -- 4. names that are not UTF-8 -----------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_file_name_that_is_not_utf8_is_shown_escaped(store: Path, fmt: str) -> None:
    folder = os.fsencode(store / P1 / "sessions")
    open(folder + b"/notes-\xe9.txt", "wb").close()
    (store / P1 / "sessions" / "2026-11-30.yml").write_text("id: 2026-11-30\n")
    run = run_cli if fmt == "text" else run_here  # one real process writing the name out
    result = run("--root", str(store), "validate", "--format", fmt, "--today", TODAY)
    assert result.code == 1, result
    assert f"{P1}/sessions/notes-\\xe9.txt" in (
        result.out if fmt != "json" else "".join(p["file"] for p in result.json()["problems"])
    )
    assert "2026-11-30.yml" in result.out and "layout/not-read" in result.out


# -- 10. nothing silently left out ---------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "sessions/2026-11-30.yml",
        "sessions/2026-11-30.YAML",
        "sessions/2026-11-30.Yaml",
        "patient.yml",
        "Sessions/2026-11-30.yaml",
        "sessions/2026-11-30.yaml/",
    ],
)
def test_a_file_named_like_a_record_but_not_read_is_an_error(store: Path, name: str) -> None:
    session = first_file(store, f"{P1}/sessions/*.yaml").read_text()
    path = store / P1 / name.rstrip("/")
    path.parent.mkdir(exist_ok=True)
    if name.endswith("/"):
        path.mkdir()
    else:
        path.write_text(session)
    code, found_problems = problems(store)
    assert code == 1
    # A wrong-case folder is named itself: nothing in it is read.
    expected = f"{P1}/Sessions" if name.startswith("Sessions") else f"{P1}/{name.rstrip('/')}"
    assert found(found_problems, "layout/not-read") == {expected}


def test_a_pipe_named_like_a_record_is_an_error_and_never_opened(store: Path) -> None:
    os.mkfifo(store / P1 / "sessions" / "2026-11-30.yaml")
    code, found_problems = problems(store, run=run_cli)  # a process: a hang would time out
    assert code == 1
    assert found(found_problems, "layout/not-read") == {f"{P1}/sessions/2026-11-30.yaml"}


# -- 8. concurrent writers -----------------------------------------------------------------


def test_two_renders_into_one_folder_at_once_both_succeed(store: Path, tmp_path: Path) -> None:
    alone = tmp_path / "alone"
    first = run_here("--root", str(store), "render", "soap", "--all", "--out", str(alone))
    assert first.code == 0, first
    expected = tree(alone)
    assert expected
    for round_ in range(2):
        out = tmp_path / f"together-{round_}"
        args = ("--root", str(store), "render", "soap", "--all", "--out", str(out))
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(lambda given: run_cli(*given), [args, args]))
        assert [r.code for r in results] == [0, 0], results
        assert tree(out) == expected


# -- 12. smaller ---------------------------------------------------------------------------


def test_init_inside_a_store_is_refused(store: Path) -> None:
    result = run_here("init", "--no-input", "--no-git", "--name", "Inner", cwd=store / P1)
    assert result.code == 2 and str(store) in result.err
    assert not (store / P1 / "medmassage.yaml").exists()


def test_a_full_disk_leaves_no_temporary_file(store: Path) -> None:
    def small_files() -> None:  # writes past 512 bytes fail as on a full disk
        resource.setrlimit(resource.RLIMIT_FSIZE, (512, 512))

    proc = subprocess.run(
        [*CLI, "--root", str(store), "validate", "--today", TODAY],
        env={**os.environ, "MEDMASSAGE_RACY_SECONDS": "0"},
        preexec_fn=small_files,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr
    assert list(store.rglob("*.tmp")) == []


def _skip_unless_runnable(as_user: dict[str, int]) -> None:
    """Root ignores folder permissions, so the test runs the command as an unprivileged user;
    skip when that user cannot reach this Python (e.g. a checkout in a private folder)."""
    if not as_user:
        return
    try:
        subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60, **as_user)  # type: ignore[call-overload]
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("an unprivileged user cannot run this checkout's Python")


@pytest.mark.parametrize("command", [["validate"], ["create", "patient", "--no-input"]])
def test_a_store_the_user_may_not_open_is_a_usage_error(command: list[str]) -> None:
    with tempfile.TemporaryDirectory() as shared:  # reachable by an unprivileged user
        os.chmod(shared, 0o755)
        locked = Path(shared) / "locked"
        root = locked / "store"
        shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("rendered", ".medmassage-*"))
        os.chmod(locked, 0o700 if os.geteuid() == 0 else 0o000)  # only root may enter
        as_user = {"user": 65534} if os.geteuid() == 0 else {}
        _skip_unless_runnable(as_user)
        proc = subprocess.run(
            [*CLI, "--root", str(root), *command],
            capture_output=True,
            text=True,
            cwd=PROJECT,
            timeout=120,
            **as_user,  # type: ignore[call-overload]
        )
        os.chmod(locked, 0o700)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert f"{root} (--root) cannot be opened: no permission to read it" in proc.stderr


def test_create_in_a_read_only_store_names_the_folder(tmp_path: Path) -> None:
    with tempfile.TemporaryDirectory() as shared:  # reachable by an unprivileged user
        root = Path(shared) / "store"
        shutil.copytree(DEMO, root, ignore=shutil.ignore_patterns("rendered", ".medmassage-*"))
        os.chmod(shared, 0o755)
        record = (root / P1 / "patient.yaml").read_text().replace("id: p-0001", "id: p-0099")
        new = str(Path(shared) / "new.yaml")
        Path(new).write_text(record)
        os.chmod(root / "patients", 0o555)
        as_user = {"user": 65534} if os.geteuid() == 0 else {}
        _skip_unless_runnable(as_user)
        proc = subprocess.run(
            [*CLI, "--root", str(root), "create", "patient", "--no-input", "--from", new],
            capture_output=True,
            text=True,
            cwd=PROJECT,
            timeout=120,
            **as_user,  # type: ignore[call-overload]
        )
        os.chmod(root / "patients", 0o755)
    assert proc.returncode == 1, proc.stderr
    assert f"cannot create the folder {root}/patients/p-0099" in proc.stderr
    assert f"no permission to write in the folder {root}/patients" in proc.stderr


# -- the property: whatever lands in the store, validate answers cleanly -------------------

_NAMES = st.one_of(
    st.sampled_from(["2026-12-01.yaml", "x.yml", "Notes.YAML", "patient.yml", "g.txt"]),
    st.binary(min_size=1, max_size=12).map(
        lambda raw: raw.replace(b"/", b"_").replace(b"\0", b"_").lstrip(b".") or b"n"
    ),
)
_TYPES = st.sampled_from(["bytes", "fifo", "link-out", "folder"])
_PLACES = st.sampled_from(["", "patients/p-0001", "patients/p-0001/sessions", "therapists"])


@settings(
    max_examples=15,
    deadline=10_000,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(st.lists(st.tuples(_PLACES, _NAMES, _TYPES, st.binary(max_size=200)), max_size=4))
def test_whatever_lands_in_the_store_validate_answers_cleanly(
    tmp_path: Path, items: list[tuple[str, str | bytes, str, bytes]]
) -> None:
    with tempfile.TemporaryDirectory(dir=tmp_path) as base:
        root, outside = Path(base) / "store", Path(base) / "outside"
        (root / "patients" / "p-0001" / "sessions").mkdir(parents=True)
        (root / "therapists").mkdir()
        (root / "medmassage.yaml").write_text("format: 1\npractice:\n  name: Fuzz Clinic\n")
        patient = (DEMO / P1 / "patient.yaml").read_text()
        (root / P1 / "patient.yaml").write_text(patient)
        outside.mkdir()
        (outside / "secret.yaml").write_text(f"id: {MARKER}\nname: {MARKER}\n")
        secret = os.fsencode(outside / "secret.yaml")
        for place, name, kind, data in items:
            _plant(os.fsencode(root / place), name, kind, data, secret)
        before = tree(outside)
        with _stopped_after(60):  # a pipe opened would hang this process: fail instead
            result = run_here("--root", str(root), "validate", "--format", "json", "--today", TODAY)
        out = result.out + result.err
        assert result.code in (0, 1, 2), out
        assert "Traceback" not in out and "internal error" not in out
        assert MARKER not in out
        if result.code != 2:
            json.loads(result.out)  # a whole report, whatever the names held
        assert tree(outside) == before


class _Hung(Exception):
    """The command ran past its time (it waits on something, such as a pipe it opened)."""


@contextlib.contextmanager
def _stopped_after(seconds: float) -> Iterator[None]:
    """Interrupt what runs here once `seconds` have passed, as run_cli's timeout would a
    process: a pipe opened for reading by mistake fails the test instead of hanging it."""

    def expire(signum: int, frame: Any) -> None:
        raise _Hung(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _plant(folder: bytes, name: str | bytes, kind: str, data: bytes, secret: bytes) -> None:
    """Put one thing named `name` in `folder`: bytes, a pipe, a folder or a link out."""
    path = folder + b"/" + (name if isinstance(name, bytes) else name.encode())
    if os.path.lexists(path):
        return
    if kind == "bytes":
        with open(path, "wb") as handle:
            handle.write(data)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        os.mkdir(path)
    else:
        os.symlink(secret, path)
