"""`medmassage init`: a new, valid, empty store (SPEC §3) with the files a clinic
needs around it: a .gitignore for caches and rendered output, a sample pre-commit
configuration, and a git repository."""

from __future__ import annotations

import contextlib
import functools
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmassage import kinds as registry
from medmassage.charting.form import Form
from medmassage.charting.prompts import Asker
from medmassage.errors import MedmassageError, UsageError
from medmassage.store import CACHE_DIR, RENDERED_DIR, SETTINGS_FILE, Store
from medmassage.store import git as vcs
from medmassage.store.files import make_folders, remove_folders, write_new
from medmassage.yamlio import dump

IGNORED = (f"{CACHE_DIR}/", f"{RENDERED_DIR}/")
GITIGNORE = f"""\
# Disposable: rebuilt from the records whenever needed, never committed.
{IGNORED[0]}
{IGNORED[1]}
"""
PRE_COMMIT = """\
# pre-commit (https://pre-commit.com) runs `medmassage validate --gate` before each
# commit: the whole store is judged, and a commit that leaves it with an error it did
# not have before is refused, so a bad chart never lands. Turn it on with:
#   pre-commit install
# (`medmassage` must be installed where git runs, e.g. in the active virtualenv).
repos:
  - repo: local
    hooks:
      - id: medmassage-validate
        name: medmassage validate
        entry: medmassage validate --gate
        language: system
        pass_filenames: false
        always_run: true
        require_serial: true
# Alternative: let pre-commit install medmassage by itself from its git repository.
# Replace the local repo above with this; `repo` is the URL you install medmassage
# from, and `rev` the tag or commit of the release you installed (run
# `medmassage --version`; `pre-commit autoupdate` moves it to the newest tag).
#  - repo: <URL of the medmassage repository>
#    rev: <tag or commit of your release>
#    hooks:
#      - id: medmassage-validate
"""


@dataclass
class Started:
    """A store just made: where, what was created, and what to tell the person."""

    root: Path
    created: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def settings_problems(settings: dict[str, Any]) -> list[str]:
    """Why `settings` would not be a valid medmassage.yaml (empty when it is)."""
    from medmassage import schema_loader
    from medmassage.explain import explain

    validator = schema_loader.validator("settings")
    found = sorted(
        validator.iter_errors(settings), key=lambda error: list(map(str, error.absolute_path))
    )
    return [
        f"{f.message}{_OPTION_HINTS.get(f.path, '')}"
        for error in found
        for f in explain(SETTINGS_FILE, error, show_values=True)
    ]


_OPTION_HINTS: dict[tuple[str | int, ...], str] = {
    ("practice", name): f" (--{name})" for name in ("name", "phone", "fax", "email")
}


def ask_settings(settings: dict[str, Any], asker: Asker) -> None:
    """Ask for the practice details that are missing (the name; phone, fax and email may
    be skipped)."""
    from medmassage import schema_loader
    from medmassage.charting.defaults import RECOMMENDED, Context, default_for

    context = Context("settings", "")
    form = Form(
        schema_loader.bundled("settings"),
        functools.partial(default_for, context),
        lambda path: None,
        asker=asker,
        recommended=RECOMMENDED["settings"],
    )
    form.fill(settings)


def refuse_store(target: Path) -> None:
    """MedmassageError (exit 1) when `target` already holds a store or is not a folder;
    UsageError (exit 2) when it lies inside a store."""
    if os.path.lexists(Store(target).settings_path):
        raise MedmassageError(
            f"{target} already holds a medmassage store ({SETTINGS_FILE}); nothing was changed"
        )
    if target.exists() and not target.is_dir():
        raise MedmassageError(f"{target} exists and is not a folder; nothing was changed")
    for folder in target.resolve().parents:
        if (folder / SETTINGS_FILE).is_file():
            # Its records would be read as the outer store's (a stray folder there).
            raise UsageError(
                f"{target} is inside the medmassage store at {folder}; a store inside a "
                "store is refused: choose a folder outside it; nothing was changed"
            )


def init_store(target: Path, settings: dict[str, Any], git: bool = True) -> Started:
    """Create the store in `target` (made if missing). Files that exist are never
    touched; medmassage.yaml comes last, so a failed start is not yet a store."""
    refuse_store(target)
    problems = settings_problems(settings)
    if problems:
        raise MedmassageError("the store settings are not valid: " + "; ".join(problems))
    # Resolved, so that the folders made below it are checked against links, not above.
    started = Started(target.resolve())
    folders: list[Path] = []
    try:
        folders += make_folders(started.root, Path(started.root.anchor))
        store = Store(started.root)
        for folder in _folders(store):
            folders += make_folders(folder, started.root)
            _add(started, folder / ".gitkeep", "")
        _add_editor_schemas(started, settings, folders)
        _add(started, started.root / ".gitignore", GITIGNORE, _gitignore_note)
        _add(started, started.root / ".pre-commit-config.yaml", PRE_COMMIT, _pre_commit_note)
        _add(started, store.settings_path, dump(settings))
    except BaseException:
        _roll_back(started.created, folders)
        raise
    if git:
        started.notes.extend(_git_init(started.root))
    return started


def _folders(store: Store) -> list[Path]:
    """The folders of a new store: each store-wide kind's, the patients', the templates'."""
    kinds = [row.name for row in registry.with_folders("store")]
    return [*(store.folder_of(kind) for kind in (*kinds, "patient")), store.templates_dir]


def _add_editor_schemas(started: Started, settings: dict[str, Any], folders: list[Path]) -> None:
    """Every kind's self-contained schema in schemas/, for the editor line in the README
    (`schema --write` refreshes them; `validate` warns when they fall out of date)."""
    from medmassage import schema_loader

    folder = started.root / schema_loader.EDITOR_FOLDER
    folders += make_folders(folder, started.root)
    extensions = schema_loader.extensions_from(settings)
    for name, data in schema_loader.editor_files(extensions).items():
        _add(started, folder / name, data.decode("utf-8"))


def _add(started: Started, path: Path, text: str, when_present: Any = None) -> None:
    if path.exists():
        if when_present is not None:
            started.notes.append(when_present(path))
        return
    write_new(path, text.encode("utf-8"), started.root)
    started.created.append(path)


def _roll_back(created: list[Path], folders: list[Path]) -> None:
    for path in reversed(created):
        with contextlib.suppress(OSError):  # gone already: nothing of ours to undo
            path.unlink()
    remove_folders(folders)


def _gitignore_note(path: Path) -> str:
    lines = {line.strip() for line in path.read_text("utf-8", "replace").splitlines()}
    missing = [entry for entry in IGNORED if entry not in lines and entry.rstrip("/") not in lines]
    if not missing:
        return f"{path.name} exists and already ignores {', '.join(IGNORED)}; left unchanged"
    return (
        f"{path.name} exists and was left unchanged; add these lines to it so caches and "
        f"rendered documents stay out of git: {' '.join(missing)}"
    )


def _pre_commit_note(path: Path) -> str:
    return (
        f"{path.name} exists and was left unchanged; to validate records before each commit, "
        "add the `medmassage-validate` hook to it"
    )


def _git_init(root: Path) -> list[str]:
    if not vcs.git_available():
        return [vcs.NO_GIT.format(root=root)]
    top = vcs.work_tree(root)
    if top is not None:
        return [f"{root} is already inside the git repository at {top}; no new repository was made"]
    failure = vcs.init(root)
    return [failure] if failure else [f"made a git repository in {root}"]


def next_steps(started: Started, cd: str) -> list[str]:
    """What to do next, as commands to copy."""
    steps = [f"  cd {cd}"] if cd not in ("", ".") else []
    steps += [
        "  medmassage create therapist     "
        "# then add `default_therapist: <their id>` to medmassage.yaml",
        "  medmassage create provider",
        "  medmassage create patient",
        "  medmassage validate",
        '  git add . && git commit -m "Start the clinic\'s records"',
        "  pre-commit install              # optional: validate the records before every commit",
    ]
    return ["Next steps:", *steps]
