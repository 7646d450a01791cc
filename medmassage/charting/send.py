"""Sending a document (SPEC §4.1 "Sent documents"): render one document through the render
engine, keep the exact file in the chart (patients/<p>/sent/), and log the sending as a
signed `updates/` record holding the kept file's sha256. Run it under the store lock; the
CLI commits the two files when asked."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmassage import signature
from medmassage.errors import MedmassageError, Problem, RecordExists, UsageError
from medmassage.store import Entry, Store
from medmassage.store.files import write_new
from medmassage.yamlio import dump

VIAS = ("fax", "email", "portal", "mail", "hand")
SEND_FORMATS = ("md", "html", "txt")
_OWN_RULES = ("integrity/sent-missing", "integrity/sent-changed")  # judged once written


@dataclass(frozen=True)
class SendRequest:
    """What the user asked to send, how and to whom."""

    document: str
    ref: str
    via: str
    to: str
    cc: tuple[str, ...] = ()
    fmt: str = "txt"
    ascii: bool = False
    at: str | None = None  # when it was sent (default: now)
    by: str | None = None  # the sender (default: the store's default therapist)
    since: str | None = None
    until: str | None = None
    date: str | None = None  # the date printed on the letter
    today: str | None = None


@dataclass
class SendOutcome:
    """The kept file and the log written (paths in the store), or the errors holding the
    document back (nothing written then)."""

    kept: Path | None = None
    log: Path | None = None
    record: dict[str, Any] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


class NotSent(MedmassageError):
    """The document was not sent: its records (or the log) have errors, listed in `problems`."""

    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(message)
        self.problems = problems


def send(store: Store, request: SendRequest) -> SendOutcome:
    """Render, keep and log one document sent (see the module's note)."""
    _check(request)
    at = signature.checked_timestamp(request.at) if request.at else signature.now()
    by = request.by or _default_therapist(store)
    patient, text, period, sessions = _render(store, request)
    data = text.encode("utf-8")
    day = at[:10]
    record: dict[str, Any] = {
        "id": _free_id(store, patient, day),
        "date": day,
        "provider": request.to,
        **({"cc": list(request.cc)} if request.cc else {}),
        "period": period,
        "via": request.via,
        **({"sessions": sessions} if sessions else {}),
        "document": request.document,
        "format": request.fmt,
        "file": "",
        "sha256": hashlib.sha256(data).hexdigest(),
        "sent_at": at,
        "by": by,
    }
    kept = _free_name(store, patient, f"{day}-{request.document}", request.fmt)
    record["file"] = f"{kept.parent.name}/{kept.name}"
    signed = signature.signed_copy(record, by, at)
    problems = _problems(store, patient, signed, request.today)
    if problems:
        raise NotSent("not sent: the log of the sending would have errors (above)", problems)
    write_new(kept, data, store.root)  # the store lock is held: the name is still free
    log = _write_log(store, patient, signed)
    return SendOutcome(kept, log, signed)


def _check(request: SendRequest) -> None:
    if request.via not in VIAS:
        raise UsageError(f"--via must be one of {', '.join(VIAS)}")
    if request.fmt not in SEND_FORMATS:
        raise UsageError(f"--format must be one of {', '.join(SEND_FORMATS)}")
    if request.ascii and request.fmt != "txt":
        raise UsageError("--ascii applies to the txt format only: add --format txt")
    if request.to in request.cc:
        raise UsageError(f"{request.to!r} is named with both --to and --cc")


def _default_therapist(store: Store) -> str:
    settings = store.load_settings()
    therapist = settings.get("default_therapist")
    if not isinstance(therapist, str) or not therapist:
        raise UsageError("name who sends it with --by THERAPIST (the store has no default)")
    return therapist


def _render(store: Store, request: SendRequest) -> tuple[str, str, dict[str, str], list[str]]:
    """The one document named, rendered in one format: (patient, text, period, sessions)."""
    from medmassage.render.batch import Batch
    from medmassage.render.request import Request

    wanted = Request(
        request.document,
        (request.ref,),
        since=request.since,
        until=request.until,
        formats=(request.fmt,),
        date=request.date,
        ascii=request.ascii,
    )
    batch = Batch(store, wanted, request.today)
    chosen = batch.choose_here()
    if len(chosen) != 1:
        raise UsageError(f"send names exactly one document; {request.ref!r} names {len(chosen)}")
    target, problems = chosen[0]
    if problems:
        raise NotSent(f"not sent: the records of {target} have errors (above)", problems)
    document = batch.render(target)
    period, sessions = _covered(batch, target, document.id, request)
    return target.patient, document.texts[request.fmt], period, sessions


def _covered(
    batch: Any, target: Any, doc_id: str, request: SendRequest
) -> tuple[dict[str, str], list[str]]:
    """The period a document covers and the visits it reports on: a physician update's
    course of care; a document of one record, that record's day."""
    renderer = batch.state(Path()).local()
    chart = renderer.chart(target)
    if request.document == "physician-update":
        from medmassage.care.episode import course

        c = course(renderer.view, chart, request.since, request.until)
        return {"from": c.start, "to": c.end}, [s.id for s in c.period]
    day = doc_id[:10]
    if target.session:
        return {"from": day, "to": day}, (
            [target.session] if chart.of("session").get(target.session) else []
        )
    return {"from": day, "to": day}, []


def _free_name(store: Store, patient: str, stem: str, fmt: str) -> Path:
    """patients/<p>/sent/<stem>.<fmt>, or <stem>-2.<fmt>... when earlier ones exist."""
    for number in range(1, 1000):
        name = f"{stem}.{fmt}" if number == 1 else f"{stem}-{number}.{fmt}"
        path = store.sent_path(patient, name)
        if not path.exists():
            return path
    raise RecordExists(store.sent_path(patient, f"{stem}.{fmt}"))


def _free_id(store: Store, patient: str, day: str) -> str:
    from medmassage.store import newid

    return newid.next_dated_id(store.folder_of("update", patient), day)


def _problems(
    store: Store, patient: str, record: dict[str, Any], today: str | None
) -> list[Problem]:
    from medmassage.validate import validate_candidate

    rel = store.rel_of("update", record["id"], patient)
    found = validate_candidate(store, Entry(rel, "update", record["id"], patient), record, today)
    return [p for p in found if p.severity == "error" and p.rule not in _OWN_RULES]


def _write_log(store: Store, patient: str, record: dict[str, Any]) -> Path:
    """Write the signed log exclusively; when another process took the id, take the next."""
    for _ in range(100):
        path = store.path_of("update", record["id"], patient)
        try:
            write_new(path, dump(record).encode("utf-8"), store.root)
            return path
        except RecordExists:
            bare = {key: value for key, value in record.items() if key != "signature"}
            bare["id"] = _free_id(store, patient, record["date"])
            record = signature.signed_copy(bare, record["by"], record["sent_at"])
    raise RecordExists(path)
