"""`medmassage sign`: add `signature: {by, at, sha256}` to notes that validate and
are not yet signed (SPEC §2.4). This is the one rewrite of a record the tool makes;
after it the note is final and changes go into addenda (`medmassage amend`).

The signature is appended to the file's own text when that reads back as exactly
the signed record, so the person's layout and comments stay; otherwise the note is
rewritten in the standard layout. Either way the write is atomic and keeps the
file's mode, and the hash does not depend on layout, key order or comments."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmassage import kinds
from medmassage.errors import (
    MedmassageError,
    NotSignable,
    Problem,
    RecordError,
    UsageError,
    WriteError,
)
from medmassage.signature import (
    CLOCK_SKEW,
    checked_timestamp,
    days_between,
    fingerprint,
    future_by,
    is_signed,
    now,
    signed_copy,
)
from medmassage.store import Entry, Store, record_rel, refs
from medmassage.store.files import replace_file
from medmassage.store.ids import is_valid_id
from medmassage.yamlio import decode, dump, load_file, parse_text, read_file


@dataclass(frozen=True)
class SignRequest:
    """What was asked: notes by REF, or every unsigned note of one therapist."""

    refs: tuple[str, ...] = ()
    all_unsigned: bool = False
    by: str | None = None
    at: str | None = None
    late: bool = False
    today: str | None = None


@dataclass
class Note:
    """A note to sign: where it is, its bytes as read, and the record they hold."""

    entry: Entry
    path: Path
    data: bytes
    record: dict[str, Any] | None = None
    signed: dict[str, Any] | None = None


@dataclass
class SignOutcome:
    """The notes signed (their paths) and those refused, with why; notes for stderr."""

    signed: list[Note] = field(default_factory=list)
    refused: list[tuple[str, NotSignable]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def sign(store: Store, request: SignRequest) -> SignOutcome:
    """Sign the notes asked for; each is judged on its own. Run it under the store lock."""
    current = now()
    at = checked_timestamp(request.at) if request.at else current
    if future_by(at, current) is not None:
        minutes = int(CLOCK_SKEW.total_seconds() // 60)
        raise UsageError(
            f"--at {at} is in the future (it is now {current}); a note is signed between "
            f"its visit and now, with at most {minutes} minutes of clock difference allowed"
        )
    if request.by is not None and not is_valid_id(request.by):
        raise UsageError(f"--by {request.by!r} is not a valid therapist id")
    notes = _targets(store, request)
    outcome = SignOutcome()
    if not notes:
        outcome.notes.append(
            f"no unsigned notes by {request.by}" if request.all_unsigned else "nothing to sign"
        )
        return outcome
    errors = _errors(store, notes, request.today)
    settings = signing_settings(store)
    cosigning = settings.get("allow_cosigner") is True
    window = late_after_days(settings)
    for note in notes:
        try:
            _prepare(store, note, request, at, errors.get(note.entry.rel, []), cosigning)
            _check_window(note, request, at, window)
            _write(note)
        except NotSignable as exc:
            outcome.refused.append((refs.display(note.entry), exc))
            continue
        except WriteError as exc:  # this note's file only; the others may still be signed
            outcome.refused.append((refs.display(note.entry), NotSignable(str(exc))))
            continue
        outcome.signed.append(note)
    return outcome


def _targets(store: Store, request: SignRequest) -> list[Note]:
    entries: dict[str, Entry] = {}
    for ref in request.refs:
        entry = refs.resolve(store, ref, kinds.signable())
        entries.setdefault(entry.rel, entry)
    if request.all_unsigned:
        if request.by is None:
            raise UsageError(
                "--all-unsigned signs one therapist's notes: name them with --by THERAPIST"
            )
        for entry in store.walk():
            if (
                entry.kind in kinds.signable()
                and entry.rel not in entries
                and _unsigned_by(store, entry, request.by)
            ):
                entries[entry.rel] = entry
    if not request.refs and not request.all_unsigned:
        raise UsageError(
            "name the notes to sign (PATIENT/ID or files), or use --all-unsigned --by THERAPIST"
        )
    return [_read(store, entry) for entry in entries.values()]


def _unsigned_by(store: Store, entry: Entry, therapist: str) -> bool:
    try:
        record = load_file(store.root / entry.rel, entry.rel)
    except RecordError:
        return False  # validate reports it; a batch signs only what it can read
    return not is_signed(record) and record.get(_signer_field(entry)) == therapist


def _signer_field(entry: Entry) -> str:
    return kinds.get(entry.kind or "").signer_field or ""


def _read(store: Store, entry: Entry) -> Note:
    path = store.root / entry.rel
    try:
        data = read_file(path, entry.rel)
    except RecordError:
        data = b""  # refused below with the located problem
    return Note(entry, path, data)


def _errors(store: Store, notes: list[Note], today: str | None) -> dict[str, list[Problem]]:
    """Each note's errors, judged exactly as `validate` judges them."""
    from medmassage.validate import validate_store

    report = validate_store(
        store, [n.path for n in notes], today=today, use_cache=True, keep_view=False, jobs=None
    )
    found: dict[str, list[Problem]] = {}
    for problem in report.problems:
        if problem.severity == "error":
            found.setdefault(problem.file, []).append(problem)
    return found


def signing_settings(store: Store) -> dict[str, Any]:
    """The `signing:` settings of medmassage.yaml (empty when absent or unreadable)."""
    try:
        settings = store.load_settings()
    except RecordError:
        return {}
    signing = settings.get("signing")
    return signing if isinstance(signing, dict) else {}


def late_after_days(settings: dict[str, Any]) -> int:
    """`signing.late_after_days`: how many days after the visit a note may be signed
    without being labelled late (1 when unset or not a whole number)."""
    limit = settings.get("late_after_days", 1)
    return limit if isinstance(limit, int) and not isinstance(limit, bool) else 1


def _check_window(note: Note, request: SignRequest, at: str, window: int) -> None:
    """Refuse, before anything is written, a session signed past the clinic's window
    without --late: `validate` would flag it (integrity/late-signature) once signed."""
    record = note.record or {}
    if note.entry.kind != "session" or request.late or record.get("late") is True:
        return
    day = str(record.get("date") or "")[:10]
    days = days_between(day, at) if day else 0
    if days <= window:
        return
    past = days - window
    raise NotSignable(
        f"this note is {past} day{'s' if past != 1 else ''} past the clinic's signing window "
        f"(signed {days} days after the visit on {day}; signing.late_after_days is {window}): "
        "sign it with --late to label it late (late: true); a late entry may then say why: "
        f"medmassage amend {refs.display(note.entry)} --kind late_entry --reason TEXT"
    )


def _prepare(
    store: Store, note: Note, request: SignRequest, at: str, errors: list[Problem], cosigning: bool
) -> None:
    """Decide whether the note may be signed and build its signed form, or NotSignable."""
    name = refs.display(note.entry)
    try:
        note.record = (
            parse_text(decode(note.data, note.entry.rel), note.entry.rel)
            if note.data
            else load_file(note.path, note.entry.rel)
        )
    except RecordError as exc:
        raise NotSignable("it is not a readable record", [exc.problem]) from None
    record = note.record
    if is_signed(record):
        signed = record["signature"]
        raise NotSignable(
            f"it is already signed (by {signed.get('by')} at {signed.get('at')}) "
            "and a signed note is final; to add or correct something write an addendum: "
            f"medmassage amend {name} --kind correction --reason TEXT"
        )
    if errors:
        count = len(errors)
        raise NotSignable(
            f"it has {count} error{'s' if count != 1 else ''}; "
            f"fix {'them' if count != 1 else 'it'} first (only a valid note can be signed)",
            errors,
        )
    by = _signer(store, note.entry, record, request.by, cosigning)
    day = str(record.get(kinds.get(note.entry.kind or "").day_field) or "")[:10]
    if day and days_between(day, at) < 0:
        what = "visit" if note.entry.kind == "session" else "addendum"
        raise NotSignable(f"the signing time {at} is before the {what} on {day}")
    content = dict(record)
    if request.late and note.entry.kind == "session":
        content["late"] = True
    note.signed = signed_copy(content, by, at)


def _signer(
    store: Store, entry: Entry, record: dict[str, Any], by: str | None, cosigning: bool
) -> str:
    owner = record.get(_signer_field(entry))
    if by is None or by == owner:
        return str(owner)
    if not cosigning:
        raise NotSignable(
            f"it is {owner}'s note and only they may sign it (--by {by}); "
            "a clinic that allows co-signing sets `signing: {allow_cosigner: true}` "
            "in medmassage.yaml"
        )
    if not store.has("therapist", by):
        raise NotSignable(
            f"--by {by}: there is no therapist {by!r} (no {record_rel('therapist', by)})"
        )
    return by


def _write(note: Note) -> None:
    """Replace the note with its signed text, unless it changed since it was checked."""
    assert note.signed is not None and note.record is not None
    text = signed_text(decode(note.data, note.entry.rel), note.record, note.signed)
    if read_file(note.path, note.entry.rel) != note.data:
        raise NotSignable(
            "the file changed while it was being signed; nothing was written, run sign again"
        )
    replace_file(note.path, text.encode("utf-8"))


def signed_text(original: str, record: dict[str, Any], signed: dict[str, Any]) -> str:
    """The note's text with the new fields appended (layout and comments kept) when
    that reads back as exactly `signed`; else `signed` in the standard layout."""
    added = {key: value for key, value in signed.items() if key not in record}
    changed = any(signed[key] != value for key, value in record.items() if key in signed)
    if not changed and added:
        newline = "\r\n" if "\r\n" in original else "\n"
        base = original if original.endswith("\n") else original + newline
        candidate = base + dump(added).replace("\n", newline)
        if _reads_as(candidate, signed):
            return candidate
    text = dump(signed)
    if not _reads_as(
        text, signed
    ):  # pragma: no cover - dump's round trip is tested property by property
        raise MedmassageError(
            "the signed note would not read back exactly; nothing was written (please report this)"
        )
    return text


def _reads_as(text: str, signed: dict[str, Any]) -> bool:
    try:
        parsed = parse_text(text, "<signed>")
    except RecordError:
        return False
    return (
        parsed == signed
        and list(parsed) == list(signed)
        and fingerprint(parsed) == signed["signature"]["sha256"]
    )
