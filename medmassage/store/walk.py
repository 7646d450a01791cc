"""The walk over a store (SPEC §3): every record file it holds, by kind, id and patient,
and a layout finding for everything else: stray files and folders, misnamed records,
bad ids, symbolic links (never followed) and left-over temporary files. Names echoed in
findings are made printable, so no file name can break a line of output."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from medmassage import kinds
from medmassage.errors import UsageError
from medmassage.store import (
    CACHE_DIR,
    PATIENT_FILE,
    PATIENTS,
    SENT_DIR,
    SETTINGS_FILE,
    Entry,
    Store,
)
from medmassage.store.ids import describe_id_rule, is_valid_id


def walk(store: Store, only: Iterable[Path] | None = None) -> list[Entry]:
    """Every record file and layout finding of `store`, sorted by path; `only` limits
    it to files or folders."""
    entries = list(_walk_all(store.root))
    if only is not None:
        wanted = {printable(store.rel(_existing(path))).rstrip("/") for path in only}
        entries = [entry for entry in entries if _within(entry.rel, wanted)]
    entries.sort(key=lambda entry: entry.rel)
    return entries


def _walk_all(root: Path) -> Iterator[Entry]:
    top = {item.name: item for item in _scan(str(root))}
    settings = top.get(SETTINGS_FILE)
    if settings is not None and settings.is_symlink():
        yield _link(SETTINGS_FILE)
    elif settings is not None and settings.is_file():
        yield Entry(SETTINGS_FILE, "settings", "settings")
    cache = top.get(CACHE_DIR)
    if cache is not None and cache.is_symlink():
        yield _link(CACHE_DIR, "nothing is cached, locked or drafted through it")
    yield from _misnamed_at_top(top)
    for kind in kinds.with_folders("store"):
        item = top.get(kind.folder)
        if item is not None:
            yield from _kind_folder(item, kind.folder, kind.name, None)
    patients = top.get(PATIENTS)
    if patients is None or not patients.is_dir(follow_symlinks=False):
        if patients is not None:
            yield _not_read(PATIENTS, patients, "the folder of patient folders")
        return
    for item in _listing(patients.path):
        rel = f"{PATIENTS}/{printable(item.name)}"
        if item.is_dir(follow_symlinks=False):
            yield from _walk_patient(item.path, rel, item.name)
        else:
            yield _other(item, rel)


def _walk_patient(folder: str, rel: str, patient: str) -> Iterator[Entry]:
    if not is_valid_id(patient):
        yield Entry(
            rel,
            None,
            rule="layout/bad-id",
            severity="error",
            message=f"patient folder name {_quoted(patient)} is not a valid id: "
            f"{describe_id_rule()}",
        )
        return
    has_record = False
    for item in _listing(folder):
        item_rel = f"{rel}/{printable(item.name)}"
        kind = kinds.in_folder("patient", item.name)
        if item.name == PATIENT_FILE and item.is_file(follow_symlinks=False):
            has_record = True
            yield Entry(item_rel, "patient", patient, patient)
        elif kind is not None:
            yield from _kind_folder(item, item_rel, kind.name, patient)
        elif item.name == SENT_DIR and item.is_dir(follow_symlinks=False):
            yield from _sent_files(item.path, item_rel, patient)
        elif item.is_dir(follow_symlinks=False) and not item.is_symlink():
            yield _unknown_folder(item_rel, item.name)
        elif _looks_like_record(item.name):
            yield _not_read(item_rel, item, f"a patient's own record is {PATIENT_FILE}")
        else:
            yield _other(item, item_rel)
    if not has_record:
        yield Entry(
            f"{rel}/{PATIENT_FILE}",
            None,
            rule="layout/missing-patient",
            severity="error",
            message=f"patient folder {patient!r} has no patient.yaml",
        )


def printable(name: str) -> str:
    """A file name (or path) as shown in messages: a byte that is not UTF-8 (which the OS
    hands over as a lone surrogate) as \\xNN, a control or format character (newline,
    escape, a bidi override) as \\xNN or \\uNNNN, so that no name can break a line of
    output, drive the terminal or crash a report. Such a name is never a record's."""
    if name.isprintable():
        return name
    return "".join(char if char.isprintable() else _escaped(char) for char in name)


def _escaped(char: str) -> str:
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for the raw byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    return (
        f"\\x{code:02x}"
        if code < 0x100
        else f"\\u{code:04x}"
        if code < 0x10000
        else f"\\U{code:08x}"
    )


def _quoted(name: str) -> str:
    return f"'{printable(name)}'"


def _scan(folder: str) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(folder) as items:
            return list(items)
    except (FileNotFoundError, NotADirectoryError):
        return []


def _listing(folder: str) -> list[os.DirEntry[str]]:
    return [
        item
        for item in _scan(folder)
        if not (item.name.startswith(".") and not item.name.endswith(".tmp"))
    ]


def _kind_folder(
    item: os.DirEntry[str], rel: str, kind: str, patient: str | None
) -> Iterator[Entry]:
    """The records in a kind's folder; the folder itself must be a real folder (a link
    would pull records from outside the store into it)."""
    if item.is_symlink():
        yield _link(rel)
    elif not item.is_dir():
        yield _not_read(rel, item, "a folder of records is expected here")
    else:
        yield from _records_in(item.path, rel, kind, patient)


def _records_in(folder: str, rel: str, kind: str, patient: str | None) -> Iterator[Entry]:
    for item in _listing(folder):
        name = item.name
        stem, dot, extension = name.rpartition(".")
        if dot and extension == "yaml" and item.is_file(follow_symlinks=False):
            if is_valid_id(stem):
                yield Entry(f"{rel}/{name}", kind, stem, patient)
                continue
            yield Entry(
                f"{rel}/{printable(name)}",
                None,
                rule="layout/bad-id",
                severity="error",
                message=f"file name {_quoted(stem)} is not a valid id: {describe_id_rule()}",
            )
        elif _looks_like_record(name) and not item.is_symlink():
            yield _not_read(f"{rel}/{printable(name)}", item, "records are files named <id>.yaml")
        else:
            yield _other(item, f"{rel}/{printable(name)}")


def _sent_files(folder: str, rel: str, patient: str) -> Iterator[Entry]:
    """The copies of documents sent (SPEC §4.1): tracked files of the chart, not records;
    listed (kind None, no rule) so that a chart's caches see them change."""
    for item in _listing(folder):
        item_rel = f"{rel}/{printable(item.name)}"
        if item.is_file(follow_symlinks=False):
            yield Entry(item_rel, None, item.name, patient)
        else:
            yield _other(item, item_rel)


def _looks_like_record(name: str) -> bool:
    """Named as a record might be (.yaml or .yml, in any case): never silently skipped."""
    stem, dot, extension = name.rpartition(".")
    return bool(dot and stem) and extension.lower() in ("yaml", "yml")


def _misnamed_at_top(top: dict[str, os.DirEntry[str]]) -> Iterator[Entry]:
    """Top-level names that differ from the store's own only in case or extension
    (Patients/, Therapists/, medmassage.yml): what they hold would silently go unread."""
    wanted = {
        name.lower(): name for name in (PATIENTS, *(k.folder for k in kinds.with_folders("store")))
    }
    wanted.update({"medmassage.yml": SETTINGS_FILE, SETTINGS_FILE: SETTINGS_FILE})
    for name, item in sorted(top.items()):
        meant = wanted.get(name.lower())
        if meant is not None and meant != name:
            yield _not_read(printable(name), item, f"the store reads {meant!r}")


def _link(rel: str, consequence: str = "what it points to is not read") -> Entry:
    return Entry(
        rel,
        None,
        rule="layout/symlink",
        severity="error",
        message=f"a symbolic link; links in the store are never followed, so {consequence}: "
        "put the file or folder itself here",
    )


def _not_read(rel: str, item: os.DirEntry[str], hint: str) -> Entry:
    if item.is_symlink():
        return _link(rel)
    if item.is_dir(follow_symlinks=False):
        what = "it is a folder; "
    elif not item.is_file(follow_symlinks=False):
        what = "it is not a regular file; "
    else:
        what = ""
    return Entry(
        rel,
        None,
        rule="layout/not-read",
        severity="error",
        message=f"named like a record but not read ({what}{hint}); rename or move it so "
        "nothing is left out of the chart",
    )


def _unknown_folder(rel: str, name: str) -> Entry:
    folders = ", ".join(k.folder for k in kinds.with_folders("patient"))
    if name.lower() in {k.folder for k in kinds.with_folders("patient")}:
        return Entry(
            rel,
            None,
            rule="layout/not-read",
            severity="error",
            message=f"folder {_quoted(name)} is not read: folder names are lower case ({folders})",
        )
    return Entry(
        rel,
        None,
        rule="layout/unknown-folder",
        message=f"unknown folder {_quoted(name)}; a patient's folders are: {folders}",
    )


def _other(item: os.DirEntry[str], rel: str) -> Entry:
    """A name that is no record: a link (an error), else a stray file or folder."""
    if item.is_symlink():
        return _link(rel)
    return _stray(rel, item)


def _stray(rel: str, item: os.DirEntry[str]) -> Entry:
    name = item.name
    if name.startswith(".") and name.endswith(".tmp"):
        return Entry(
            rel,
            None,
            rule="layout/stray-temp-file",
            message=(
                "left over from an interrupted write; check the record it was for, then delete it"
            ),
        )
    if item.is_dir(follow_symlinks=False):
        return Entry(rel, None, rule="layout/stray-file", message="a folder here is not read")
    return Entry(rel, None, rule="layout/stray-file", message="not a record file; it is not read")


def _existing(path: Path) -> Path:
    if not path.exists():
        raise UsageError(f"{path}: no such file or folder")
    return path


def _within(rel: str, wanted: set[str]) -> bool:
    """True when `rel` is one of the wanted paths or lies in a wanted folder."""
    if "." in wanted or "" in wanted or rel in wanted:
        return True
    parts = rel.split("/")
    return any("/".join(parts[:cut]) in wanted for cut in range(1, len(parts)))
