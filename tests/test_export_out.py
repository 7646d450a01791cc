"""What the two exports that write a folder (`export deid OUT`, `export chart PATIENT OUT`)
share, through the real CLI on copies of the demo clinic: the same rules for OUT (a new or
empty folder outside the store, anything else refused with exit 2 and nothing written),
the same plain, located message when OUT cannot be written (exit 1, no traceback, no
hidden folder left), and the same place for the path written in the JSON summary."""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from conftest import DEMO, PROJECT, TODAY, Result, run_here

COMMANDS = {"deid": ("deid",), "chart": ("chart", "p-0002")}


def export(store: Path, command: str, out: Path | str, *extra: str) -> Result:
    args = ("--root", str(store), "export", *COMMANDS[command], str(out), "--today", TODAY)
    return run_here(*args, "--seed", "7", *extra) if command == "deid" else run_here(*args, *extra)


def copy_demo(target: Path) -> Path:
    shutil.copytree(DEMO, target, ignore=shutil.ignore_patterns("rendered", ".medmassage-*"))
    return target


def listing(folder: Path) -> list[str]:
    """Everything below `folder`, hidden entries too."""
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


def _records(store: Path) -> list[str]:
    """Everything below the store but its caches (the shared copy's, made by earlier runs)."""
    return [p for p in listing(store) if ".medmassage-cache" not in p]


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize(
    "case",
    ["not-empty", "a-file", "the-store", "inside-store", "inside-rendered", "symlink", "dangling",
     "no-parent"],
)  # fmt: skip
def test_out_is_judged_alike_by_both_exports(
    demo_store: Path, tmp_path: Path, command: str, case: str
) -> None:
    store = demo_store  # shared, only read: checked unchanged after the test
    outside = tmp_path / "outside"
    (outside / "empty").mkdir(parents=True)
    (outside / "full").mkdir()
    (outside / "full" / "mine.txt").write_text("keep me\n")
    (outside / "file.txt").write_text("keep me too\n")
    (outside / "link").symlink_to(outside / "empty", target_is_directory=True)
    (outside / "dangling").symlink_to(outside / "nowhere")
    out = {
        "not-empty": outside / "full",
        "a-file": outside / "file.txt",
        "the-store": store,
        "inside-store": store / "copy",
        "inside-rendered": store / "rendered" / "copy",
        "symlink": outside / "link",
        "dangling": outside / "dangling",
        "no-parent": outside / "no" / "such",
    }[case]
    before_store, before_outside = _records(store), listing(outside)
    result = export(store, command, out)
    assert result.code == 2, result
    assert result.err.startswith("medmassage: error: ") and "Traceback" not in result.err
    assert result.out == ""
    assert listing(outside) == before_outside
    assert _records(store) == before_store
    assert (outside / "full" / "mine.txt").read_text() == "keep me\n"
    twin = export(store, "chart" if command == "deid" else "deid", out)
    assert twin.err == result.err  # the same words for the same OUT


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_empty_folder_receives_the_export_readable_by_its_owner_only(
    demo_store: Path, tmp_path: Path, command: str
) -> None:
    store = demo_store
    out = tmp_path / "outside" / "out"
    out.mkdir(parents=True)
    result = export(store, command, out, "--format", "json")
    assert result.code == 0, result
    assert result.json()["path"] == str(out)
    assert [p.name for p in out.parent.iterdir()] == ["out"]  # no temporary sibling left
    assert len(listing(out)) > 10
    for path in out.rglob("*"):  # records of patients: readable by their owner only
        assert path.stat().st_mode & 0o777 == (0o700 if path.is_dir() else 0o600), path


@functools.cache
def _unprivileged_can_run() -> bool:
    """Whether the unprivileged user reaches this Python (asked once per test process)."""
    try:
        subprocess.run([sys.executable, "-c", "pass"], check=True, timeout=60, user=65534)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


def _unprivileged() -> dict[str, int]:
    """Root ignores folder permissions: run the command as an unprivileged user then, or
    skip when that user cannot reach this Python (a checkout in a private folder)."""
    if os.geteuid() != 0:
        return {}
    if not _unprivileged_can_run():
        pytest.skip("an unprivileged user cannot run this checkout's Python")
    return {"user": 65534}


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("empty", [False, True])
def test_an_out_that_cannot_be_written_is_a_plain_error(command: str, empty: bool) -> None:
    as_user = _unprivileged()
    with tempfile.TemporaryDirectory() as shared:  # reachable by an unprivileged user
        base = Path(shared)
        os.chmod(base, 0o755)
        store = copy_demo(base / "store")
        for path in (store, *store.rglob("*")):
            os.chmod(path, 0o777 if path.is_dir() else 0o666)
        locked = base / "locked"
        locked.mkdir()
        if empty:
            (locked / "release").mkdir(mode=0o777)
        os.chmod(locked, 0o555)
        before = listing(locked)
        args = [*COMMANDS[command], str(locked / "release"), "--today", TODAY]
        proc = subprocess.run(
            [sys.executable, "-m", "medmassage", "--root", str(store), "export", *args],
            capture_output=True,
            text=True,
            cwd=PROJECT,
            timeout=300,
            env={**os.environ, "NO_COLOR": "1"},
            **as_user,  # type: ignore[call-overload]
        )
        after = listing(locked)
        os.chmod(locked, 0o755)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    assert proc.stderr.startswith("medmassage: error: ") and proc.stderr.count("\n") == 1
    assert f"no permission to write in the folder {locked}" in proc.stderr
    assert after == before


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_ctrl_c_midway_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    from medmassage.export import output

    store = copy_demo(tmp_path / "store")
    written: list[Path] = []
    real_write = output._write_file

    def interrupted(path: Path, data: bytes) -> None:
        if len(written) == 20:
            raise KeyboardInterrupt
        written.append(path)
        real_write(path, data)

    monkeypatch.setattr(output, "_write_file", interrupted)
    out = tmp_path / "out"
    args = ("--root", str(store), "export", *COMMANDS[command], str(out), "--today", TODAY)
    result = run_here(*args)
    assert result.code == 130 and "interrupted" in result.err, result
    assert len(written) == 20 and not any(path.exists() for path in written)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]  # no hidden folder left


_KILLED_MIDWAY = """
import os, signal, sys
from medmassage.export import output
from medmassage.cli import main
written = []
real_write = output._write_file
def write(path, data):
    if len(written) == 20:
        os.kill(os.getpid(), signal.SIGTERM)  # `kill PID` while the folder is being written
    written.append(path)
    real_write(path, data)
output._write_file = write
main(sys.argv[1:])
"""


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_kill_midway_leaves_nothing(tmp_path: Path, command: str) -> None:
    store = copy_demo(tmp_path / "store")
    args = ["--root", str(store), "export", *COMMANDS[command], str(tmp_path / "out")]
    proc = subprocess.run(
        [sys.executable, "-c", _KILLED_MIDWAY, *args, "--today", TODAY],
        capture_output=True,
        text=True,
        cwd=PROJECT,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode == -15, proc.stderr  # ended by the signal it was sent
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]  # no hidden folder left
