"""Naming one record on the command line: `PATIENT/ID` for a session, or the path
of any record file in the store. Ids are checked before any path is built."""

from __future__ import annotations

from pathlib import Path

from medmassage import kinds
from medmassage.errors import UsageError
from medmassage.store import PATIENT_FILE, PATIENTS, SETTINGS_FILE, Entry, Store, record_rel
from medmassage.store.ids import describe_id_rule, is_valid_id


def resolve(store: Store, ref: str, kinds: tuple[str, ...] = ("session",)) -> Entry:
    """The record `ref` names: an existing file path, else PATIENT/ID (a session).
    UsageError when it names nothing, or a record of a kind not in `kinds`."""
    path = Path(ref)
    if path.is_file() or path.suffix == ".yaml":
        entry = entry_of(store, store.rel(_existing(path)))
    else:
        entry = _session_ref(store, ref)
    if entry.kind not in kinds:
        raise UsageError(
            f"{ref}: a {entry.kind} record; this command takes {' or '.join(kinds)} records"
        )
    return entry


def _existing(path: Path) -> Path:
    if not path.is_file():
        raise UsageError(f"{path}: no such record file")
    return path


def _session_ref(store: Store, ref: str) -> Entry:
    patient, slash, session = ref.partition("/")
    if not slash:
        raise UsageError(
            f"{ref!r}: name a session as PATIENT/ID (e.g. p-0001/2026-10-29) or give its file"
        )
    for value in (patient, session):
        if not is_valid_id(value):
            raise UsageError(f"{ref!r}: {value!r} is not a valid id: {describe_id_rule()}")
    rel = record_rel("session", session, patient)
    if not (store.root / rel).is_file():
        raise UsageError(f"{ref}: no such session (no {rel})")
    return Entry(rel, "session", session, patient)


def entry_of(store: Store, rel: str) -> Entry:
    """The record at `rel` (a path relative to the store root), by where it lies."""
    parts = rel.split("/")
    stem = parts[-1][: -len(".yaml")] if parts[-1].endswith(".yaml") else ""
    if rel == SETTINGS_FILE:
        return Entry(rel, "settings", "settings")
    store_kind = kinds.in_folder("store", parts[0]) if len(parts) == 2 else None
    if store_kind is not None and is_valid_id(stem):
        return Entry(rel, store_kind.name, stem)
    if len(parts) >= 3 and parts[0] == PATIENTS and is_valid_id(parts[1]):
        if len(parts) == 3 and parts[2] == PATIENT_FILE:
            return Entry(rel, "patient", parts[1], parts[1])
        kind = kinds.in_folder("patient", parts[2]) if len(parts) == 4 else None
        if kind is not None and is_valid_id(stem):
            return Entry(rel, kind.name, stem, parts[1])
    example = record_rel("session", "ID", "ID")
    raise UsageError(f"{rel} is not a record file of the store (records are e.g. {example})")


def display(entry: Entry) -> str:
    """How messages and commit messages name a record, by ids only: PATIENT/ID for a
    session, PATIENT for a patient, else its path without `patients/` and `.yaml`."""
    if entry.kind == "session" and entry.patient:
        return f"{entry.patient}/{entry.id}"
    if entry.kind == "patient":
        return entry.id
    rel = entry.rel.removeprefix(f"{PATIENTS}/")
    return rel.removesuffix(".yaml")
