"""`medmassage create KIND`: build one new record (from a file, `--set` values,
defaults, questions or the editor), validate it in the store exactly as `validate`
would, and only then write it, atomically and never over an existing file."""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from medmassage import kinds
from medmassage.charting.defaults import RECOMMENDED, default_for, load_context, reference_for
from medmassage.charting.form import Form, insert_ordered
from medmassage.charting.prompts import Asker
from medmassage.errors import MedmassageError, Problem, RecordError, RecordExists, UsageError
from medmassage.store import PATIENTS, Entry, Store, newid, record_rel
from medmassage.store.files import write_new
from medmassage.store.ids import describe_id_rule, is_valid_id
from medmassage.yamlio import (
    MAX_BYTES,
    decode,
    dump,
    load_file,
    parse_text,
    read_file,
    resolve_plain,
)

_INDEX = re.compile(r"[0-9]+")


@dataclass
class Request:
    """What was asked for on the command line."""

    kind: str
    patient: str | None = None
    record_id: str | None = None
    source: str | None = None  # a file, or "-" for stdin
    sets: tuple[str, ...] = ()
    dry_run: bool = False
    edit: bool = False
    today: str = field(default_factory=lambda: dt.date.today().isoformat())


@dataclass
class Outcome:
    """What happened: the record, where it went (None: nowhere), problems and notes for stderr."""

    record: dict[str, Any]
    text: str = ""
    path: Path | None = None
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    draft: Path | None = None

    @property
    def failed(self) -> bool:
        return any(p.severity == "error" for p in self.problems)


@dataclass(frozen=True)
class Source:
    """Text a record came from (a --from file, stdin, an edited draft) and its name in problems."""

    text: str
    name: str


def create(
    store: Store, request: Request, asker: Asker | None = None, stdin: BinaryIO | None = None
) -> Outcome:
    """Make, check and (unless a dry run or invalid) write one new record."""
    check_request(store, request)
    try:
        record, source = read_source(request.source, stdin)
    except RecordError as exc:
        return Outcome({}, problems=[exc.problem])
    for assignment in request.sets:
        apply_set(record, assignment)
    explicit = explicit_id(record, request.record_id)
    if explicit is not None:
        refuse_existing(store, request.kind, explicit, request.patient)
    outcome = Outcome(
        record, notes=[f"default {item}" for item in fill(store, request, record, asker)]
    )
    if request.edit:
        source, explicit = edit(store, request, outcome, explicit)
        if outcome.failed:
            return outcome
    # an invalid id written in the record stays, for validation to locate
    record_id = (
        explicit
        if explicit is not None or "id" in outcome.record
        else generate_id(store, request, outcome.record)
    )
    if record_id is not None:
        outcome.record.pop("id", None)
        insert_ordered(outcome.record, "id", record_id, ["id"])
    outcome.problems = validate(store, request, outcome.record, source)
    if request.kind == "patient":
        outcome.problems += duplicates(store, outcome.record)
    outcome.text = dump(outcome.record) if outcome.record else ""
    if outcome.failed:
        return outcome
    if not request.dry_run:
        outcome.path = write(store, request, outcome.record, explicit is not None)
        outcome.text = dump(outcome.record)
    if outcome.draft is not None:
        outcome.draft.unlink(missing_ok=True)
    return outcome


def fill(store: Store, request: Request, record: dict[str, Any], asker: Asker | None) -> list[str]:
    """Complete the record in place from defaults and questions (placeholders for --edit);
    return the defaults that were taken unasked."""
    from medmassage import schema_loader

    context = load_context(store, request.kind, request.patient, request.today)
    form = Form(
        schema_loader.bundled(request.kind, schema_loader.extensions_from(context.settings)),
        functools.partial(default_for, context),
        functools.partial(reference_for, context),
        asker=asker,
        template=request.edit,
        recommended=RECOMMENDED.get(request.kind, ())
        if asker is not None and request.source is None
        else (),
    )
    form.fill(record)
    return form.applied


def edit(
    store: Store, request: Request, outcome: Outcome, explicit: str | None
) -> tuple[Source, str | None]:
    """Open the editor on the record, which the edited one replaces. An id written in
    the editor counts as chosen (it must be free); without one, an id is generated after."""
    from medmassage.charting.editor import edit_draft

    where = f" for patient {request.patient}" if request.patient else ""
    text, outcome.draft = edit_draft(
        store.root, request.kind, f"A new {request.kind}{where}", outcome.record
    )
    source = Source(text, str(outcome.draft))
    try:
        outcome.record = parse_text(text, source.name)
        chosen = explicit_id(outcome.record, None)
        if chosen is not None and chosen != explicit:
            refuse_existing(store, request.kind, chosen, request.patient)
    except RecordError as exc:
        outcome.problems = [exc.problem]
        return source, explicit
    except MedmassageError as exc:
        raise MedmassageError(f"{exc}; your text is kept in {outcome.draft}") from None
    return source, chosen


def _owner(request: Request, record_id: str) -> str | None:
    return record_id if request.kind == "patient" else request.patient


def check_request(store: Store, request: Request) -> None:
    """Refuse requests that cannot work before asking anything."""
    creatable = kinds.creatable()
    if request.kind not in creatable:
        raise UsageError(f"cannot create a {request.kind!r}; kinds are: {', '.join(creatable)}")
    if request.kind in kinds.patient_scoped():
        if request.patient is None:
            raise UsageError(f"a {request.kind} belongs to a patient: name them with --patient ID")
        if not is_valid_id(request.patient):
            raise UsageError(
                f"--patient {request.patient!r} is not a valid id: {describe_id_rule()}"
            )
        if not store.has("patient", request.patient, request.patient):
            raise UsageError(
                f"there is no patient {request.patient!r} "
                f"(no {record_rel('patient', request.patient)})"
            )
    elif request.patient is not None:
        raise UsageError(
            f"--patient is for records that belong to a patient, not for a {request.kind}"
            + ("; use --id" if request.kind == "patient" else "")
        )
    if request.record_id is not None and not is_valid_id(request.record_id):
        raise UsageError(f"--id {request.record_id!r} is not a valid id: {describe_id_rule()}")


def read_source(source: str | None, stdin: BinaryIO | None) -> tuple[dict[str, Any], Source | None]:
    """The record given with --from (FILE, or - for stdin) and the text it came from."""
    if source is None:
        return {}, None
    if source == "-":
        if stdin is None:
            raise UsageError("--from - reads standard input, and there is none")
        name, data = "<stdin>", stdin.read(MAX_BYTES + 1)
    else:
        name, data = source, read_file(Path(source), source)
    text = decode(data, name)
    return parse_text(text, name), Source(text, name)


def explicit_id(record: dict[str, Any], option: str | None) -> str | None:
    """The id asked for with --id or written in the record (they must agree)."""
    written = record.get("id")
    if option is not None and written is not None and written != option:
        raise UsageError(f"--id {option!r} differs from the id {written!r} written in the record")
    if option is not None:
        return option  # checked by check_request
    return (
        written if isinstance(written, str) and is_valid_id(written) else None
    )  # else validation locates it


def refuse_existing(store: Store, kind: str, record_id: str, patient: str | None) -> None:
    """RecordExists (exit 1) when that record is already in the store."""
    owner = record_id if kind == "patient" else patient
    path = store.path_of(kind, record_id, owner)
    if path.exists():
        raise RecordExists(path, store.rel_of(kind, record_id, owner))


def generate_id(store: Store, request: Request, record: dict[str, Any]) -> str | None:
    """A new id: p-NNNN for patients, the date for dated records, a slug of the name otherwise."""
    kind = request.kind
    if kind == "patient":
        return newid.next_patient_id(store.folder_of("patient"))
    if kinds.get(kind).dated:
        folder = store.folder_of(kind, request.patient)
        return newid.next_dated_id(folder, newid.iso_day(record.get("date"), request.today))
    name = record.get("name")
    return newid.slug(name) if isinstance(name, str) else None


def _entry(store: Store, request: Request, record: dict[str, Any]) -> Entry:
    record_id = record.get("id")
    if not isinstance(record_id, str) or not is_valid_id(record_id):
        # Not a place yet: the id is missing or wrong.
        return Entry(
            _unplaced(request.kind),
            request.kind,
            record_id if isinstance(record_id, str) else "",
            request.patient,
        )
    owner = _owner(request, record_id)
    return Entry(store.rel_of(request.kind, record_id, owner), request.kind, record_id, owner)


def duplicates(store: Store, record: dict[str, Any]) -> list[Problem]:
    """ref/duplicate-patient warnings for a new patient: every patient already in the store
    with the same name and date of birth (the same intake imported twice)."""
    from medmassage.rules.references import duplicate_patient, patient_key

    key, patient = patient_key(record), str(record.get("id", ""))
    folder = store.root / PATIENTS
    if key is None or not is_valid_id(patient) or not folder.is_dir():
        return []
    rel = record_rel("patient", patient)
    found = []
    for other in sorted(p.name for p in folder.iterdir() if not p.is_symlink()):
        if other == patient or not is_valid_id(other):
            continue
        other_rel = record_rel("patient", other)
        try:
            existing = load_file(store.root / other_rel, other_rel)
        except RecordError:
            continue  # validate reports it
        if patient_key(existing) == key:
            finding = duplicate_patient(rel, patient, other)
            found.append(Problem(rel, 1, 1, "$", finding.rule, finding.severity, finding.message))
    return found


def _unplaced(kind: str) -> str:
    """How a new record without a usable id is named in its problems."""
    return f"{kinds.get(kind).folder or PATIENTS}/<new>.yaml"


def validate(
    store: Store, request: Request, record: dict[str, Any], source: Source | None
) -> list[Problem]:
    """The record's problems in the store, located in the text it came from, if any."""
    from medmassage.validate import validate_candidate

    text, name = (
        (source.text, source.name) if source is not None else (None, f"<new {request.kind}>")
    )
    return validate_candidate(
        store, _entry(store, request, record), record, request.today, text, name
    )


def write(store: Store, request: Request, record: dict[str, Any], explicit: bool) -> Path:
    """Write the record; a generated dated or patient id moves on when another process took it."""
    for _ in range(100):
        path = store.path_of(request.kind, record["id"], _owner(request, record["id"]))
        try:
            write_new(path, dump(record).encode("utf-8"), store.root)
            return path
        except RecordExists:
            if explicit or request.kind in ("therapist", "provider"):
                shown = store.rel_of(request.kind, record["id"], _owner(request, record["id"]))
                raise RecordExists(path, shown) from None
            record["id"] = generate_id(store, request, record)
    raise RecordExists(path)


# --------------------------------------------------------------------------- --set


def apply_set(record: dict[str, Any], assignment: str) -> None:
    """Apply one `--set PATH=VALUE` (dotted path, list positions as numbers)."""
    path_text, equals, raw = assignment.partition("=")
    parts = path_text.strip().split(".")
    if not equals or not all(parts):
        raise UsageError(
            f"--set {assignment!r}: write it as PATH=VALUE, "
            "e.g. subjective.pain=6 or treatment.0.minutes=20"
        )
    node: Any = record
    for position, part in enumerate(parts):
        key = _key(node, part, assignment)
        if position == len(parts) - 1:
            _put(node, key, set_value(raw, assignment))
            return
        child = (
            node[key]
            if (isinstance(node, dict) and key in node)
            or (isinstance(node, list) and key < len(node))
            else None
        )
        if child is None:
            child = [] if _INDEX.fullmatch(parts[position + 1]) else {}
            _put(node, key, child)
        elif not isinstance(child, (dict, list)):
            raise UsageError(
                f"--set {assignment!r}: {'.'.join(parts[: position + 1])} holds a value, "
                "not fields or a list"
            )
        node = child


def _key(node: Any, part: str, assignment: str) -> Any:
    if isinstance(node, dict):
        return part
    if not _INDEX.fullmatch(part):
        raise UsageError(
            f"--set {assignment!r}: {part!r} is not a list position; positions are 0, 1, 2..."
        )
    if int(part) > len(node):
        raise UsageError(
            f"--set {assignment!r}: position {part} leaves a gap; "
            f"the list has {len(node)} item(s), so the next is {len(node)}"
        )
    return int(part)


def _put(node: Any, key: Any, value: Any) -> None:
    if isinstance(node, list) and key == len(node):
        node.append(value)
    else:
        node[key] = value


def set_value(raw: str, assignment: str) -> Any:
    """A `--set` value: a YAML 1.2 core scalar; a quoted value stays text."""
    if raw[:1] in ("'", '"'):
        try:
            value = parse_text(f"v: {raw}\n", "--set").get("v")
        except RecordError:
            value = None
        if not isinstance(value, str):
            raise UsageError(f"--set {assignment!r}: the quoted value is not closed properly")
        return value
    return resolve_plain(raw.strip()) if raw.strip() else None
