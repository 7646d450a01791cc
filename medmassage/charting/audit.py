"""What `medmassage log` says about a note besides git's history: whether its
signature still holds, and if not, which fields differ from the last committed
version that matched it (validate cannot know: it sees only the file); and the
addenda that refer to it."""

from __future__ import annotations

from typing import Any

from medmassage import kinds
from medmassage.errors import RecordError
from medmassage.signature import matches
from medmassage.store import Entry, Store
from medmassage.store import git as vcs
from medmassage.store.refs import display
from medmassage.yamlio import json_path, load_bytes, load_file

MAX_FIELDS = 5


def note_status(store: Store, entry: Entry) -> list[str]:
    """One line on the note's signature, and one per addendum referring to it."""
    if entry.kind not in kinds.signable():
        return []
    try:
        record = load_file(store.root / entry.rel, entry.rel)
    except RecordError as exc:
        return [f"{display(entry)}: not readable ({exc})"]
    return [_signature_line(store, entry, record), *_addenda_lines(store, entry)]


def _signature_line(store: Store, entry: Entry, record: dict[str, Any]) -> str:
    signed = record.get("signature")
    if not isinstance(signed, dict):
        return f"{display(entry)}: not signed"
    who = f"signed by {signed.get('by')} at {signed.get('at')}"
    if matches(record):
        return f"{display(entry)}: {who}; the signature holds"
    intact = last_intact(store, entry)
    if intact is None:
        return (
            f"{display(entry)}: {who}, but CHANGED since; "
            "no committed version matches the signature"
        )
    commit, old = intact
    fields = changed_paths(old, record)
    shown = ", ".join(fields[:MAX_FIELDS]) + (", ..." if len(fields) > MAX_FIELDS else "")
    return (
        f"{display(entry)}: {who}, but CHANGED since: {shown or 'no field differs'} differ "
        f"from commit {commit[:10]}, the last version that matches the signature "
        f"(restore it with: git checkout {commit[:10]} -- {entry.rel})"
    )


def last_intact(store: Store, entry: Entry) -> tuple[str, dict[str, Any]] | None:
    """The newest committed version of the note whose signature holds, with its commit."""
    for commit, name in vcs.file_versions(store.root, store.root / entry.rel):
        data = vcs.show_file(store.root, commit, name)
        try:
            old = load_bytes(data, name) if data is not None else None
        except RecordError:
            continue
        if old is not None and matches(old):
            return commit, old
    return None


def changed_paths(old: Any, new: Any, path: tuple[str | int, ...] = ()) -> list[str]:
    """The JSON paths where `new` differs from `old`, in the order of `old` (then `new`)."""
    if isinstance(old, dict) and isinstance(new, dict):
        keys = [*old, *(key for key in new if key not in old)]
        if path == ("signature",):
            keys = [key for key in keys if key != "sha256"]
        return [
            p
            for key in keys
            for p in changed_paths(old.get(key, _MISSING), new.get(key, _MISSING), (*path, key))
        ]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [
            p
            for index, (a, b) in enumerate(zip(old, new, strict=True))
            for p in changed_paths(a, b, (*path, index))
        ]
    same = old is new or (type(old) is type(new) and old == new)
    return [] if same else [json_path(path)]


_MISSING = object()


def _addenda_lines(store: Store, entry: Entry) -> list[str]:
    if entry.kind != "session" or entry.patient is None:
        return []
    folder = store.folder_of("addendum", entry.patient)
    lines = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            data = load_file(path, path.name)
        except RecordError:
            continue
        if data.get("refers_to") == entry.id:
            state = (
                "signed"
                if matches(data)
                else ("CHANGED since signed" if "signature" in data else "unsigned")
            )
            lines.append(
                f"  addendum {path.stem}: {data.get('kind')} by {data.get('author')} "
                f"at {data.get('written_at')} ({state})"
            )
    return lines
