"""`medmassage amend`: a dated, attributed, signed addendum, correction or late entry
to a signed session note (SPEC §2.4, §4). The note itself is never touched: the
addendum is a new file, patients/<p>/addenda/<id>.yaml, written atomically and
exclusively, and signed at creation by its author."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO

from medmassage.errors import MedmassageError, Problem, RecordError, RecordExists, UsageError
from medmassage.signature import checked_timestamp, instant, is_signed, now, signed_copy
from medmassage.store import Entry, Store, newid, record_rel, refs
from medmassage.store.files import write_new
from medmassage.yamlio import MAX_BYTES, decode, dump, load_file, read_file

KINDS = ("addendum", "correction", "late_entry")
_EDITOR_HEADER = """\
# {kind} to session {ref}: write the text below, then save and close the editor.
# Reason: {reason}
# Lines starting with '#' are ignored. To cancel, leave the text empty and save.
"""


@dataclass(frozen=True)
class AmendRequest:
    """What was asked on the command line (text: --text; source: --from FILE or -)."""

    ref: str
    kind: str
    reason: str
    text: str | None = None
    source: str | None = None
    by: str | None = None
    at: str | None = None
    today: str | None = None


@dataclass
class AmendOutcome:
    """The addendum written (its path and record) or the problems that stopped it; `draft`
    is the editor's file still holding the person's text when nothing was written."""

    record: dict[str, Any]
    path: Path | None = None
    ref: str = ""
    problems: list[Problem] = field(default_factory=list)
    draft: Path | None = None


@dataclass(frozen=True)
class Target:
    """A session that may be amended, as checked before any text is asked for."""

    entry: Entry
    ref: str
    author: str
    at: str


def check_target(store: Store, request: AmendRequest) -> Target:
    """Every refusal that needs no text (kind, reason, a signed session, a known author, a
    time after the signature), so that no one types an addendum that cannot be written."""
    if request.kind not in KINDS:
        raise UsageError(f"--kind {request.kind!r}: kinds are {', '.join(KINDS)}")
    if not request.reason.strip():
        raise UsageError("--reason: say why the addendum is needed, e.g. 'wrong side recorded'")
    entry = refs.resolve(store, request.ref, ("session",))
    ref = refs.display(entry)
    session = load_file(store.root / entry.rel, entry.rel)
    if not is_signed(session):
        raise MedmassageError(
            f"{ref} is not signed yet, so it is not final: correct the note itself, "
            f"then sign it (medmassage sign {ref})"
        )
    author = request.by if request.by is not None else str(session.get("therapist"))
    if not store.has("therapist", author):
        raise UsageError(
            f"--by {author!r}: there is no such therapist (no {record_rel('therapist', author)})"
        )
    at = checked_timestamp(request.at) if request.at else now()
    signed_at = session["signature"].get("at")
    if _before(at, signed_at):
        raise UsageError(
            f"--at {at} is before {ref} was signed ({signed_at}); an addendum comes after the note"
        )
    return Target(entry, ref, author, at)


def take_text(
    store: Store, request: AmendRequest, stdin: BinaryIO | None
) -> tuple[AmendRequest, Path | None]:
    """Check the session, then read the text (only now may the editor open): the request
    carrying its text, and the editor's draft that holds it, if any. Run it outside the
    store lock, which no one should hold while typing."""
    target = check_target(store, request)
    text, draft = read_text(store, request, target.ref, stdin)
    return replace(request, text=text, source=None), draft


def amend(
    store: Store,
    request: AmendRequest,
    stdin: BinaryIO | None = None,
    draft: Path | None = None,
) -> AmendOutcome:
    """Write a signed addendum to a signed session; run it under the store lock. `draft`
    is the editor's file holding the text: removed once the addendum is written, kept (and
    named in the outcome or the error) on any failure."""
    try:
        outcome = _amend(store, request, stdin)
    except MedmassageError as exc:
        if draft is None:
            raise
        kept = MedmassageError(f"{exc}; your text is kept in {draft}")
        kept.exit_code = exc.exit_code
        raise kept from None
    if outcome.path is None:
        outcome.draft = draft
    elif draft is not None:
        draft.unlink(missing_ok=True)
    return outcome


def _amend(store: Store, request: AmendRequest, stdin: BinaryIO | None) -> AmendOutcome:
    target = check_target(store, request)
    text = read_text(store, request, target.ref, stdin)[0]
    patient = target.entry.patient or ""
    record = _addendum(store, patient, target.entry.id, request, target.author, target.at, text)
    outcome = AmendOutcome(
        record, ref=target.ref, problems=_problems(store, patient, record, request.today)
    )
    if not any(p.severity == "error" for p in outcome.problems):
        outcome.path, outcome.record = _write(store, patient, outcome.record)
    return outcome


def _before(at: str, signed_at: Any) -> bool:
    try:
        return instant(at) < instant(str(signed_at))
    except ValueError:
        return False  # a malformed signature time is validate's to report


def _addendum(
    store: Store, patient: str, session: str, request: AmendRequest, author: str, at: str, text: str
) -> dict[str, Any]:
    folder = store.folder_of("addendum", patient)
    record = {
        "id": newid.next_dated_id(folder, at[:10]),
        "refers_to": session,
        "kind": request.kind,
        "written_at": at,
        "author": author,
        "reason": request.reason.strip(),
        "text": text,
    }
    return signed_copy(record, author, at)


def read_text(
    store: Store, request: AmendRequest, ref: str, stdin: BinaryIO | None
) -> tuple[str, Path | None]:
    """The addendum's text (--text, --from FILE, --from - for standard input, or the
    editor) and, when it came from the editor, the draft file that holds it."""
    if request.text is not None and request.source is not None:
        raise UsageError("give the text once: --text or --from, not both")
    draft = None
    if request.text is not None:
        text = request.text
    elif request.source == "-":
        if stdin is None:
            raise UsageError("--from - reads standard input, and there is none")
        text = decode(stdin.read(MAX_BYTES + 1), "<stdin>")
    elif request.source is not None:
        text = decode(read_file(Path(request.source), request.source), request.source)
    else:
        text, draft = _from_editor(store, request, ref)
    if not text.strip():
        if draft is not None:
            draft.unlink(missing_ok=True)  # emptied on purpose: the way to cancel
        raise MedmassageError("the addendum's text is empty; nothing was written")
    return text.strip(), draft


def _from_editor(store: Store, request: AmendRequest, ref: str) -> tuple[str, Path]:
    """Open the editor on a fresh draft; the draft is left in place for the caller to remove
    once the addendum is written."""
    import subprocess

    from medmassage.charting.editor import editor_command, new_draft

    draft = new_draft(
        store.root,
        "addendum",
        _EDITOR_HEADER.format(kind=request.kind, ref=ref, reason=request.reason),
    )
    command = [*editor_command(), str(draft)]
    try:
        status = subprocess.run(command, check=False).returncode
    except OSError as exc:
        draft.unlink(missing_ok=True)  # nothing was typed into it
        raise MedmassageError(
            f"cannot start the editor {command[0]!r} ({exc.strerror}); set $EDITOR or use --text"
        ) from None
    kept = f"nothing was written; your text is kept in {draft}"
    if status != 0:
        raise MedmassageError(f"the editor exited with status {status}; {kept}")
    try:
        written = decode(read_file(draft, str(draft)), str(draft))
    except RecordError as exc:
        raise MedmassageError(f"{exc}; your text is kept in {draft}") from None
    return "\n".join(line for line in written.splitlines() if not line.startswith("#")), draft


def _problems(
    store: Store, patient: str, record: dict[str, Any], today: str | None
) -> list[Problem]:
    from medmassage.validate import validate_candidate

    rel = store.rel_of("addendum", record["id"], patient)
    return validate_candidate(store, Entry(rel, "addendum", record["id"], patient), record, today)


def _write(store: Store, patient: str, record: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """Write exclusively; when another process took the id, move on to the next one."""
    folder = store.folder_of("addendum", patient)
    for _ in range(100):
        path = store.path_of("addendum", record["id"], patient)
        try:
            write_new(path, dump(record).encode("utf-8"), store.root)
            return path, record
        except RecordExists:
            bare = {key: value for key, value in record.items() if key != "signature"}
            bare["id"] = newid.next_dated_id(folder, record["written_at"][:10])
            record = signed_copy(bare, record["signature"]["by"], record["signature"]["at"])
    raise RecordExists(path)
