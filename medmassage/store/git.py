"""The little the tool asks of git: is the store in a repository, is a file ignored,
`git init` for a new store, committing exactly the files a command wrote, and a
record's history. Git is the audit log (SPEC §2.2), so its absence is worth a
warning, never a failure — unless the person asked for a commit or a history."""

from __future__ import annotations

import os
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


# The gate (SPEC §6 "A bad chart never lands") compares the store as it is in the work
# tree with the store at a commit; these read the commit's side without touching the
# index or the work tree, so they are safe inside a pre-commit hook.


def _git_bytes(folder: Path, *args: str, stdin: bytes | None = None) -> bytes | None:
    """git's raw standard output (paths may be any bytes), or None when git failed."""
    git = shutil.which("git")
    if git is None:
        return None
    try:
        proc = subprocess.run(
            [git, "-C", str(folder), *args],
            input=stdin,
            capture_output=True,
            timeout=120,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 else None


def store_prefix(root: Path) -> tuple[Path, str] | None:
    """(top of the work tree, the store's folder from there in posix form, "" at the
    top), or None when the store is not in a git work tree."""
    top = work_tree(root)
    if top is None:
        return None
    try:
        prefix = root.resolve().relative_to(top.resolve()).as_posix()
    except ValueError:
        return None
    return top, "" if prefix == "." else prefix


def tree_id(top: Path, rev: str, prefix: str) -> str | None:
    """The id of the tree `prefix` holds in commit `rev`; None when there is no such
    commit (a repository with no commit yet) or the folder is not in it."""
    proc = _git(top, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}")
    if proc is None or proc.returncode != 0:
        return None
    proc = _git(top, "rev-parse", "--verify", "--quiet", f"{rev}:{prefix}")
    if proc is None or proc.returncode != 0:
        return None
    return proc.stdout.strip() or None


def _names(raw: bytes) -> list[str]:
    return [os.fsdecode(name) for name in raw.split(b"\0") if name]


def changed_paths(top: Path, rev: str, prefix: str) -> list[str] | None:
    """The files under `prefix` whose work-tree content differs from commit `rev`
    (changed, added, deleted) or that git does not track yet, relative to `prefix`;
    None when git cannot tell."""
    spec = prefix or "."
    diff = _git_bytes(
        top, "diff", "--no-ext-diff", "--no-renames", "--name-only", "-z", rev, "--", spec
    )
    untracked = _git_bytes(top, "ls-files", "-z", "--others", "--exclude-standard", "--", spec)
    if diff is None or untracked is None:
        return None
    cut = len(prefix) + 1 if prefix else 0
    # diff names files from the top; ls-files from the folder it ran in (the top here)
    return sorted({name[cut:] for name in _names(diff) + _names(untracked)})


def tree_files(top: Path, tree: str) -> list[tuple[str, str, str]] | None:
    """(mode, blob id, path inside the tree) of every file of `tree`, or None."""
    raw = _git_bytes(top, "ls-tree", "-r", "-z", "--full-tree", tree)
    if raw is None:
        return None
    rows = []
    for item in raw.split(b"\0"):
        if item:
            meta, _, name = item.partition(b"\t")
            mode, kind, blob = meta.decode().split()
            if kind == "blob":  # submodules (commits) hold nothing of the store's
                rows.append((mode, blob, os.fsdecode(name)))
    return rows


def read_blobs(top: Path, blobs: list[str]) -> list[bytes] | None:
    """The contents of `blobs`, in order, read by one `git cat-file --batch`."""
    if not blobs:
        return []
    raw = _git_bytes(top, "cat-file", "--batch", stdin="".join(f"{b}\n" for b in blobs).encode())
    if raw is None:
        return None
    found, at = [], 0
    for _ in blobs:
        end = raw.index(b"\n", at)
        header = raw[at:end].split()
        if len(header) != 3:  # "<id> missing"
            return None
        size = int(header[2])
        found.append(raw[end + 1 : end + 1 + size])
        at = end + 2 + size  # the content is followed by a newline
    return found
