"""`medmassage init`: a new, valid, empty store with its git set-up, or a refusal."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import Result, run_cli, run_here

from medmassage import kinds
from medmassage.charting import init as initstore
from medmassage.errors import WriteError

HAS_GIT = shutil.which("git") is not None
# pexpect drives a real pseudo-terminal, which Windows does not have.
needs_pty = pytest.mark.skipif(os.name == "nt", reason="needs a POSIX pseudo-terminal")
# A question on the terminal: `label [default]: `, or `Add another item to label? [y/N]: `.
FIELD = re.compile(r"(?m)^(?!medmassage:)([A-Za-z_][\w.]*)(?: \[([^\]\r\n]*)\])?: ")
MORE = re.compile(r"(?m)^Add (?:another|an) item to ([\w.]+)\? \[(Y/n|y/N)\]: ")


class Conversation:
    """A real pseudo-terminal session: answers by field label ("+label" for "add an item?")."""

    def __init__(self, args: list[str], cwd: Path, answers: dict[str, str | list[str]]) -> None:
        import io

        import pexpect

        env = {k: v for k, v in os.environ.items() if not k.startswith("MEDMASSAGE_")}
        env["NO_COLOR"] = "1"
        self.log = io.StringIO()
        child = pexpect.spawn(
            sys.executable,
            ["-m", "medmassage", *args],
            cwd=str(cwd),
            env=env,
            encoding="utf-8",
            timeout=60,
            dimensions=(60, 220),
        )
        child.logfile_read = self.log
        # Answers are typed only once the question is on the screen and nothing here turns
        # echo off, so pexpect's 50 ms pause before each line (meant for password prompts)
        # would only add up.
        child.delaybeforesend = None
        self.asked: dict[str, str | None] = {}
        pending = {
            label: list(value) if isinstance(value, list) else [value]
            for label, value in answers.items()
        }
        for _ in range(200):
            index = child.expect([FIELD, MORE, pexpect.EOF])
            if index == 2:
                break
            label = child.match.group(1) if index == 0 else "+" + child.match.group(1)
            self.asked[label] = child.match.group(2)
            queue = pending.get(label, [])
            child.sendline(queue.pop(0) if queue else "")  # Enter: the default, or skip
        if child.eof():  # ended by itself: reaped at once, so close() need not pause
            child.wait()
            child.ptyproc.delayafterclose = 0
        child.close()
        self.code = child.exitstatus
        self.out = self.log.getvalue()


def init(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> Result:
    """`medmassage init ARGS` with stdin that is never a terminal, in this process (the
    first test and the terminal conversations start real ones)."""
    return run_here("init", *args, cwd=cwd, env=env, input="")


def test_a_new_store_is_valid_and_complete(tmp_path: Path) -> None:
    root = tmp_path / "clinic"
    result = run_cli(
        "init",
        str(root),
        "--no-input",
        "--name",
        "Harbor Street Massage",
        "--phone",
        "555-0100",
        "--fax",
        "555-0101",
        "--email",
        "desk@example.org",
        input="",
    )
    assert result.code == 0, result
    assert result.out == f"{root}\n"  # stdout: the store; the rest is on stderr
    assert "Next steps" in result.err and "default_therapist" in result.err
    assert yaml.safe_load((root / "medmassage.yaml").read_text()) == {
        "format": 1,
        "practice": {
            "name": "Harbor Street Massage",
            "phone": "555-0100",
            "fax": "555-0101",
            "email": "desk@example.org",
        },
    }
    for folder in ("therapists", "providers", "patients", "templates"):
        assert (root / folder / ".gitkeep").read_bytes() == b""
    assert {".medmassage-cache/", "rendered/"} <= set(
        (root / ".gitignore").read_text().splitlines()
    )
    check = run_here("--root", str(root), "validate", "--format", "json")
    assert check.code == 0 and check.json() == {"ok": True, "files": 1, "problems": []}, check


def test_the_sample_pre_commit_config_uses_the_project_hook(tmp_path: Path) -> None:
    init(str(tmp_path / "s"), "--no-input", "--name", "X", "--no-git")
    config = yaml.safe_load((tmp_path / "s" / ".pre-commit-config.yaml").read_text())
    (hook,) = config["repos"][0]["hooks"]
    assert config["repos"][0]["repo"] == "local"
    assert (hook["id"], hook["entry"], hook["language"]) == (
        "medmassage-validate",
        "medmassage validate --gate",
        "system",
    )
    shipped = yaml.safe_load((Path(__file__).parent.parent / ".pre-commit-hooks.yaml").read_text())[
        0
    ]
    same = ("id", "entry", "pass_filenames", "always_run", "require_serial")
    assert [hook[name] for name in same] == [shipped[name] for name in same]
    assert (
        "#  - repo: " in (tmp_path / "s" / ".pre-commit-config.yaml").read_text()
    )  # the commented alternative


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_git_keeps_the_empty_folders_and_ignores_caches(tmp_path: Path) -> None:
    root = tmp_path / "clinic"
    assert init(str(root), "--no-input", "--name", "X").code == 0
    (root / ".medmassage-cache").mkdir()
    (root / ".medmassage-cache" / "x").write_text("cache")
    (root / "rendered").mkdir()
    (root / "rendered" / "note.md").write_text("doc")
    status = subprocess.run(
        ["git", "-C", str(root), "status", "--porcelain", "--untracked-files=all"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    listed = sorted(line[3:] for line in status.splitlines())
    editor_schemas = [f"schemas/{kind}.schema.json" for kind in kinds.names()]
    assert listed == sorted(
        [
            ".gitignore",
            ".pre-commit-config.yaml",
            "medmassage.yaml",
            "patients/.gitkeep",
            "providers/.gitkeep",
            "templates/.gitkeep",
            "therapists/.gitkeep",
            *editor_schemas,
        ]
    )


@pytest.mark.skipif(not HAS_GIT, reason="git is not installed")
def test_no_nested_repository_inside_one(tmp_path: Path) -> None:
    subprocess.run(["git", "init", "--quiet", str(tmp_path)], check=True)
    result = init(str(tmp_path / "records"), "--no-input", "--name", "X")
    assert result.code == 0 and "already inside the git repository" in result.err, result
    assert not (tmp_path / "records" / ".git").exists()


def test_no_git(tmp_path: Path) -> None:
    result = init(str(tmp_path / "a"), "--no-input", "--name", "X", "--no-git")
    assert result.code == 0 and not (tmp_path / "a" / ".git").exists()
    missing = init(
        str(tmp_path / "b"),
        "--no-input",
        "--name",
        "X",
        env={"PATH": os.path.dirname(sys.executable)},
    )
    assert missing.code == 0, missing
    assert "git is not installed" in missing.err and not (tmp_path / "b" / ".git").exists()


def test_an_existing_store_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "clinic"
    init(str(root), "--no-input", "--name", "First", "--no-git")
    before = {p: p.read_bytes() for p in root.rglob("*") if p.is_file()}
    again = init(str(root), "--no-input", "--name", "Second")
    assert again.code == 1 and "already holds a medmassage store" in again.err, again
    assert {p: p.read_bytes() for p in root.rglob("*") if p.is_file()} == before
    via_root = run_here("--root", str(root), "init", "--no-input", "--name", "Third", input="")
    assert via_root.code == 1 and "already holds a medmassage store" in via_root.err, via_root


def test_missing_name_is_named(tmp_path: Path) -> None:
    result = init(str(tmp_path / "clinic"), "--no-input")
    assert result.code == 1 and "missing required field 'practice.name' (--name)" in result.err, (
        result
    )
    bad = init(str(tmp_path / "clinic"), "--no-input", "--name", "X", "--email", "not-an-email")
    assert bad.code == 1 and "is not an email address (--email)" in bad.err, bad
    assert not (tmp_path / "clinic").exists()


def test_existing_files_are_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".gitignore").write_text("*.pyc\n")
    (root / "README.md").write_text("mine\n")
    result = init(str(root), "--no-input", "--name", "X", "--no-git")
    assert result.code == 0, result
    assert (root / ".gitignore").read_text() == "*.pyc\n" and (
        root / "README.md"
    ).read_text() == "mine\n"
    assert "add these lines to it" in result.err and ".medmassage-cache/ rendered/" in result.err


def test_files_and_folders_are_private(tmp_path: Path) -> None:
    root = tmp_path / "clinic"
    init(str(root), "--no-input", "--name", "X", "--no-git")
    assert stat.S_IMODE(root.stat().st_mode) == 0o700
    for path in root.rglob("*"):
        assert stat.S_IMODE(path.stat().st_mode) == (0o700 if path.is_dir() else 0o600), path


def test_a_failed_start_leaves_no_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import errno

    def full(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    (tmp_path / "clinic").mkdir()
    (tmp_path / "clinic" / "notes.txt").write_text("mine")
    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(WriteError, match="disk is full"):
        initstore.init_store(
            tmp_path / "clinic", {"format": 1, "practice": {"name": "X"}}, git=False
        )
    assert [p.name for p in (tmp_path / "clinic").iterdir()] == ["notes.txt"]


@needs_pty
def test_init_asks_on_a_terminal(tmp_path: Path) -> None:
    talk = Conversation(
        ["init", "clinic", "--no-git", "--fax", "555-0101"],
        tmp_path,
        {
            "practice.name": ["", "Harbor Street Massage"],
            "practice.email": ["nope", "desk@example.org"],
        },
    )
    assert talk.code == 0, talk.out
    assert "this field is required" in talk.out and "'nope' is not an email address" in talk.out
    assert set(talk.asked) == {
        "practice.name",
        "practice.phone",
        "practice.email",
    }  # --fax was given
    assert yaml.safe_load((tmp_path / "clinic" / "medmassage.yaml").read_text())["practice"] == {
        "name": "Harbor Street Massage",
        "fax": "555-0101",
        "email": "desk@example.org",
    }
