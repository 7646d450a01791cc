"""The little the tool asks of git: is the store in a repository, is a file ignored,
and `git init` for a new store. Git is the audit log (SPEC §2.2), so its absence is
worth a warning, never a failure."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

NO_GIT = "git is not installed, so the store has no history or audit log; install git and run `git init` in {root}"


def _git(folder: Path, *args: str) -> subprocess.CompletedProcess[str] | None:
    git = shutil.which("git")
    if git is None:
        return None
    try:
        return subprocess.run([git, "-C", str(folder), *args], capture_output=True, text=True, timeout=60, check=False)
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
        return [f"the store at {root} is not in a git repository: the new record has no history; run `git init` there"]
    proc = _git(root, "check-ignore", "--quiet", "--", str(path))
    if proc is not None and proc.returncode == 0:
        return [f"{path} is ignored by git and will not be committed (see `git check-ignore -v {path}`)"]
    return []
