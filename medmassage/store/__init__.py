"""The record store on disk (SPEC §3): finding the root, where each kind lives, and
walking the files (`Store.walk`; the walk itself is `store.walk`). The only code that
builds a path in the store: everything else asks a `Store` (or `record_rel`) where a
record, a folder, the settings or the cache is."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any, NamedTuple

from medmassage import kinds
from medmassage.errors import StoreNotFound, UsageError
from medmassage.store.ids import describe_id_rule, is_valid_id

SETTINGS_FILE = "medmassage.yaml"
ROOT_ENV = "MEDMASSAGE_ROOT"
PATIENTS = "patients"  # the folder of patient folders
PATIENT_FILE = "patient.yaml"  # a patient's own record, in their folder
CACHE_DIR = ".medmassage-cache"  # disposable and git-ignored: caches, the lock, drafts
RENDERED_DIR = "rendered"  # the default output folder of `render`
TEMPLATES_DIR = "templates"  # the store's own templates, overriding the packaged ones
SENT_DIR = "sent"  # in a patient's folder: the exact files of documents sent (tracked)


def record_rel(kind: str, record_id: str, patient: str | None = None) -> str:
    """Where a record lives, relative to the store root in posix form. The ids are not
    checked (this names a record in messages); `Store.path_of` checks them."""
    row = kinds.get(kind)
    if row.scope == "settings":
        return SETTINGS_FILE
    if row.name == "patient":
        return f"{PATIENTS}/{record_id}/{PATIENT_FILE}"
    if row.patient_scoped:
        if patient is None:
            raise UsageError(f"a {kind} belongs to a patient: name the patient")
        return f"{PATIENTS}/{patient}/{row.folder}/{record_id}.yaml"
    return f"{row.folder}/{record_id}.yaml"


class Entry(NamedTuple):
    """One file the walk found: a record of a known kind, or a layout finding."""

    rel: str  # posix path relative to the store root
    kind: str | None  # None: not a record (see `rule`)
    id: str = ""
    patient: str | None = None
    rule: str = ""  # layout rule code when this entry is a finding
    severity: str = "warning"
    message: str = ""


def _holds_settings(folder: Path) -> bool | None:
    """Whether `folder` holds medmassage.yaml; None when this user may not look into it."""
    try:
        return stat.S_ISREG(os.stat(folder / SETTINGS_FILE).st_mode)
    except PermissionError:
        return None
    except (OSError, ValueError):  # missing, not a folder, a name the system refuses
        return False


def find_root(explicit: str | os.PathLike[str] | None, start: Path | None = None) -> Path:
    """`--root` > $MEDMASSAGE_ROOT > the nearest ancestor holding medmassage.yaml (folders
    this user may not look into are passed over)."""
    named = explicit if explicit is not None else os.environ.get(ROOT_ENV) or None
    if named is not None:
        root = Path(named).expanduser()
        holds = _holds_settings(root)
        how = "--root" if explicit is not None else f"${ROOT_ENV}"
        if holds is None:
            raise StoreNotFound(f"{root} ({how}) cannot be opened: no permission to read it")
        if not holds:
            raise StoreNotFound(
                f"{root} ({how}) is not a medmassage store: it has no {SETTINGS_FILE}"
            )
        return root.resolve()
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if _holds_settings(folder):
            return folder
    raise StoreNotFound(
        f"no medmassage store here: no {SETTINGS_FILE} in {here} or any folder above it "
        f"(use --root DIR or set ${ROOT_ENV})"
    )


class Store:
    """A store rooted at `root`: paths for records, and the walk over them."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def settings_path(self) -> Path:
        """medmassage.yaml, the store's settings."""
        return self.root / SETTINGS_FILE

    @property
    def cache_dir(self) -> Path:
        """The disposable, git-ignored folder of caches, the lock and editor drafts."""
        return self.root / CACHE_DIR

    @property
    def rendered_dir(self) -> Path:
        """Where `render` writes when no --out is given."""
        return self.root / RENDERED_DIR

    @property
    def templates_dir(self) -> Path:
        """The store's own templates."""
        return self.root / TEMPLATES_DIR

    def load_settings(self) -> dict[str, Any]:
        """The parsed medmassage.yaml; RecordError (located) when it cannot be read."""
        from medmassage.yamlio import load_file  # YAML only for commands that read records

        return load_file(self.settings_path, SETTINGS_FILE)

    def path_of(self, kind: str, record_id: str, patient: str | None = None) -> Path:
        """Where a record of `kind` with `record_id` lives; ids are checked first."""
        for value in (record_id, patient):
            if value is not None and not is_valid_id(value):
                raise UsageError(f"{value!r} is not a valid id: {describe_id_rule()}")
        return self.root / record_rel(kind, record_id, patient)

    def rel_of(self, kind: str, record_id: str, patient: str | None = None) -> str:
        """Where a record lives, relative to the root; ids are checked as by `path_of`."""
        return self.path_of(kind, record_id, patient).relative_to(self.root).as_posix()

    def has(self, kind: str, record_id: str, patient: str | None = None) -> bool:
        """True when a record of `kind` with that (valid) id is a file of the store."""
        if not is_valid_id(record_id) or (patient is not None and not is_valid_id(patient)):
            return False
        return self.path_of(kind, record_id, patient).is_file()

    def folder_of(self, kind: str, patient: str | None = None) -> Path:
        """The folder holding the records of `kind` (of `patient`, for their records)."""
        row = kinds.get(kind)
        if row.name == "patient":
            return self.root / PATIENTS
        if row.patient_scoped:
            return self.patient_folder(patient or "") / row.folder
        if row.scope == "settings":
            return self.root
        return self.root / row.folder

    def patient_folder(self, patient: str) -> Path:
        """The folder of one patient's records; the id is checked first."""
        if not is_valid_id(patient):
            raise UsageError(f"{patient!r} is not a valid id: {describe_id_rule()}")
        return self.root / PATIENTS / patient

    def sent_path(self, patient: str, name: str) -> Path:
        """Where a copy of a document sent is kept: patients/<p>/sent/<name>."""
        return self.patient_folder(patient) / SENT_DIR / Path(name).name

    def rel(self, path: Path) -> str:
        """`path` relative to the root, in posix form; UsageError when outside the store."""
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            raise UsageError(f"{path} is outside the store at {self.root}") from None

    def walk(self, only: Iterable[Path] | None = None) -> list[Entry]:
        """Every record file and layout finding, sorted by path; `only` limits it to
        files or folders (see `medmassage.store.walk`)."""
        from medmassage.store.walk import walk

        return walk(self, only)
