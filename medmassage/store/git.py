"""The little the tool asks of git: is the store in a repository, is a file ignored,
`git init` for a new store, committing exactly the files a command wrote, and a
record's history. Git is the audit log (SPEC §2.2), so its absence is worth a
warning, never a failure — unless the person asked for a commit or a history."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from medmassage.errors import GitError

NO_GIT = (
    "git is not installed, so the store has no history or audit log; "
    "install git and run `git init` in {root}"
)


def _git(
    folder: Path, *args: str, timeout: float | None = 60
) -> subprocess.CompletedProcess[str] | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        return subprocess.run(
            [git, "-C", str(folder), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None


def work_tree(folder: Path) -> Path | None:
    """The top of the git work tree holding `folder`, or None (not in one, or no git)."""
    proc = _git(folder, "rev-parse", "--show-toplevel")
    if proc is None or proc.returncode != 0 or not proc.stdout.strip():
        return None
    return Path(proc.stdout.strip())


def git_available() -> bool:
    """True when a git executable is on PATH."""
    return shutil.which("git") is not None


def init(folder: Path) -> str | None:
    """`git init` in `folder`; None when it worked, else why not."""
    proc = _git(folder, "init", "--quiet")
    if proc is None:
        return NO_GIT.format(root=folder)
    if proc.returncode != 0:
        return f"`git init` failed in {folder}: {proc.stderr.strip() or proc.returncode}"
    return None


def write_warnings(root: Path, path: Path) -> list[str]:
    """Warnings about a file just created: no git, no repository, or ignored by git."""
    if not git_available():
        return [NO_GIT.format(root=root)]
    if work_tree(root) is None:
        return [
            f"the store at {root} is not in a git repository: the new record has no history; "
            "run `git init` there"
        ]
    proc = _git(root, "check-ignore", "--quiet", "--", str(path))
    if proc is not None and proc.returncode == 0:
        return [
            f"{path} is ignored by git and will not be committed (see `git check-ignore -v {path}`)"
        ]
    return []


def commit_paths(root: Path, paths: Sequence[Path], message: str) -> None:
    """Commit exactly `paths` (and nothing else staged) with `message`, running git
    as the person would, so their identity, hooks and commit signing apply."""
    if not git_available():
        raise GitError(NO_GIT.format(root=root))
    if work_tree(root) is None:
        raise GitError(f"the store at {root} is not in a git repository; run `git init` there")
    names = [str(path) for path in paths]
    for args in (("add", "--", *names), ("commit", "--quiet", "-m", message, "--", *names)):
        proc = _git(
            root, *args, timeout=None
        )  # no time limit: a hook or a signing passphrase may take a while
        if proc is None or proc.returncode != 0:
            detail = (
                (proc.stderr or proc.stdout).strip() if proc is not None else "git could not be run"
            )
            raise GitError(
                f"`git {args[0]}` failed: "
                f"{detail or f'exit status {proc.returncode if proc else -1}'}"
            )


def history(root: Path, path: Path, patch: bool = False) -> str:
    """The git history of one file, newest first, following renames: who, when, the
    message and a short stat (or the full diff with `patch`)."""
    if not git_available():
        raise GitError(NO_GIT.format(root=root))
    if work_tree(root) is None:
        raise GitError(
            f"the store at {root} is not in a git repository, so records have no history"
        )
    detail = "--patch" if patch else "--stat"
    proc = _git(
        root,
        "log",
        "--follow",
        "--no-color",
        "--date=iso-strict",
        "--abbrev-commit",
        "--format=medium",
        detail,
        "--",
        str(path),
        timeout=None,
    )
    if proc is None or proc.returncode != 0:
        raise GitError(
            f"`git log` failed: {(proc.stderr.strip() if proc else '') or 'git could not be run'}"
        )
    return proc.stdout


def file_versions(root: Path, path: Path) -> list[tuple[str, str]]:
    """(commit, path in that commit, from the repository's top) for each commit touching
    `path`, newest first, following renames; empty when there is none or no git."""
    proc = _git(
        root,
        "log",
        "--follow",
        "--no-color",
        "--format=%x00%H",
        "--name-only",
        "--",
        str(path),
        timeout=None,
    )
    if proc is None or proc.returncode != 0:
        return []
    versions = []
    for block in proc.stdout.split("\0")[1:]:
        lines = [line for line in block.splitlines() if line.strip()]
        if len(lines) >= 2:
            versions.append((lines[0], lines[1]))
    return versions


def show_file(root: Path, commit: str, name: str) -> bytes | None:
    """The bytes of `name` (from the repository's top) in `commit`, or None."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        proc = subprocess.run(
            [git, "-C", str(root), "show", f"{commit}:{name}"],
            capture_output=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None
