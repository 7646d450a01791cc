"""The index page of a chart release: one row per record of the chart in date order
(what it is, signed or unsigned, and links to its YAML and to the documents rendered
from it), the chart's letters and reports, the copies of documents sent, the providers
and therapists it names, the notes still unsigned and the documents the chart does not
get. Plain data for the template `export-index.html.j2` (autoescaped, self-contained,
printable), rendered in the engine's sandbox."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from medmassage import kinds
from medmassage.chart import Record, StoreView
from medmassage.documents import DOCUMENTS
from medmassage.documents.common import label, practice
from medmassage.export.chart import DOCUMENTS_DIR, Copy, Release
from medmassage.export.chart_documents import FORMATS, Rendered
from medmassage.signature import is_signed
from medmassage.store import PATIENTS, record_rel

TEMPLATE = "export-index.html.j2"
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
_FORMAT_NAMES = {"html": "HTML", "txt": "text", "yaml": "YAML"}
# Order of rows on the same day: the registry's kinds, then documents, then sent copies.
_ORDER = {name: number for number, name in enumerate(kinds.names())}
_ASSESSMENTS = {"initial": "Initial assessment", "reassessment": "Re-assessment"}
_KIND_WORDS = {"plan": "Treatment plan"}


@dataclass
class Row:
    """One line of the index: a record or a document, with its files."""

    date: str
    what: str
    status: str = ""  # "Signed", "Unsigned" or "" (not a signed kind of record)
    files: list[dict[str, Any]] = field(default_factory=list)  # [{label, links: [{text, href}]}]
    order: tuple[int, str] = (0, "")

    def add(self, title: str, links: Sequence[tuple[str, str]]) -> None:
        """A group of links: a title and (format, href) pairs."""
        self.files.append(
            {
                "label": title,
                "links": [{"text": _FORMAT_NAMES.get(f, f), "href": h} for f, h in links],
            }
        )

    def key(self) -> tuple[str, int, str]:
        """Date order (undated last), then the kind's order, then the path."""
        return (self.date or "9999", *self.order)


def document_rel(rendered: Rendered, fmt: str) -> str:
    """Where a rendered document goes in the release."""
    return f"{DOCUMENTS_DIR}/{rendered.name(fmt)}"


def context(release: Release, rendered: Sequence[Rendered]) -> dict[str, Any]:
    """Everything the index template shows (record text only where the page shows it to
    the patient; the template escapes it)."""
    view, patient = release.view, release.patient
    rows: dict[str, Row] = {}
    people: list[Row] = []
    for copy in release.copies:
        if copy.what in ("provider", "therapist"):
            people.append(_person(copy))
        elif copy.what != "sent":
            rows[copy.rel.partition("/")[2]] = _record_row(view, copy)
    _attach_sent(release.copies, rows, patient)
    for document in rendered:
        _attach_document(rows, document, patient)
    ordered = sorted(rows.values(), key=Row.key)
    chart = view.chart(patient)
    name = chart.patient.data["name"] if chart.patient else {}
    return {
        "practice": practice(view),
        "patient": {
            "id": patient,
            "name": f"{name.get('given', '')} {name.get('family', '')}".strip(),
        },
        "rows": [_plain(row) for row in ordered],
        "people": [_plain(row) for row in people],
        "unsigned": [_plain(row) for row in ordered if row.status == "Unsigned"],
        "not_made": [
            {"title": label(DOCUMENTS[n.document].title), "target": n.target, "reason": n.reason}
            for n in release.documents.not_made
        ],
        "formats": [_FORMAT_NAMES[fmt] for fmt in FORMATS],
    }


def _plain(row: Row) -> dict[str, Any]:
    return {"date": row.date, "what": row.what, "status": row.status, "files": row.files}


def _day(value: Any) -> str:
    """The day of a date or timestamp field ('' when there is none)."""
    return value[:10] if isinstance(value, str) and _DAY.match(value) else ""


def _record_row(view: StoreView, copy: Copy) -> Row:
    """The row of one of the chart's record files."""
    record = copy.record
    data = record.data if record is not None else {}
    kind = kinds.get(copy.what)
    status = ""
    if is_signed(data):
        status = "Signed"
    elif kind.signable:
        status = "Unsigned"
    row = Row(_day(data.get(kind.day_field)), _record_what(view, record), status)
    row.order = (_ORDER.get(copy.what, 0), copy.rel)
    row.add("Record", [("yaml", _href(copy.rel))])
    return row


def _record_what(view: StoreView, record: Record | None) -> str:
    """What a record is, in plain words (with the names of whom it concerns)."""
    if record is None:
        return "Record"
    data, kind = record.data, record.kind
    if kind == "patient":
        return "Your details, health history, medications, allergies and consent"
    if kind == "referral":
        return f"{label(data.get('kind', 'referral'))} from {_name(view, 'provider', data)}"
    if kind == "assessment":
        assessment = str(data.get("kind", ""))
        return _ASSESSMENTS.get(assessment, f"{label(assessment)} assessment".strip())
    if kind == "session":
        return "Visit note (SOAP)"
    if kind == "attendance":
        return f"Visit not held ({label(str(data.get('status', ''))).lower()})"
    if kind == "addendum":
        what = label(str(data.get("kind", "addendum")))
        return f"{what} to the visit note of {data.get('refers_to', '')}"
    if kind == "update":
        return f"Sent to {_name(view, 'provider', data)} by {data.get('via', '')}"
    return _KIND_WORDS.get(kind, label(kind))


def _name(view: StoreView, kind: str, data: Mapping[str, Any]) -> str:
    """The name and credentials of the provider a record names (its id when it has none)."""
    found = view.get(kind, data.get(kind))
    if found is None:
        return str(data.get(kind))
    return ", ".join(str(found.data[key]) for key in ("name", "credentials") if found.data.get(key))


def _person(copy: Copy) -> Row:
    """A provider or therapist the chart names."""
    data = copy.record.data if copy.record is not None else {}
    who = ", ".join(str(part) for part in (data.get("name"), data.get("credentials")) if part)
    row = Row("", f"{label(copy.what)}: {who}")
    row.add("Record", [("yaml", _href(copy.rel))])
    return row


def _attach_sent(copies: Sequence[Copy], rows: dict[str, Row], patient: str) -> None:
    """Each copy of a document sent goes with the log of its sending (`updates/`), or on
    a row of its own when no log names it."""
    base = f"{PATIENTS}/{patient}/"
    logged = {
        base + str(copy.record.data.get("file")): copy.rel.partition("/")[2]
        for copy in copies
        if copy.what == "update" and copy.record is not None
    }
    for copy in copies:
        if copy.what != "sent":
            continue
        rel = copy.rel.partition("/")[2]
        fmt = Path(rel).suffix.lstrip(".").lower()
        owner = rows.get(logged.get(rel, ""))
        if owner is None:
            owner = rows[rel] = Row(_day(Path(rel).name), "Copy of a document sent")
            owner.order = (len(_ORDER), rel)
        owner.add("Copy as sent", [(fmt, _href(copy.rel))])


def _attach_document(rows: dict[str, Row], document: Rendered, patient: str) -> None:
    """A rendered document goes with the record it is made from, or (a letter or report
    about the whole chart) on a row of its own."""
    kind = DOCUMENTS[document.document]
    title = label(kind.title)
    links = [(fmt, _href(document_rel(document, fmt))) for fmt in FORMATS]
    if document.target.session:
        owner = rows.get(record_rel(kind.per, document.target.session, patient))
        if owner is not None:
            owner.add(title, links)
            return
    row = rows[f"{DOCUMENTS_DIR}/{document.name('')}"] = Row(_day(document.id), title)
    row.order = (len(_ORDER), document.name(""))
    row.add(title, links)


def _href(rel: str) -> str:
    """A relative link to a file of the release."""
    return quote(rel)


def render_index(env: Any, data: Mapping[str, Any]) -> str:
    """The index page, in the engine's sandboxed, autoescaping HTML environment `env` (a
    store's templates/export-index.html.j2 overrides the packaged one)."""
    from medmassage.render import jinja as templating

    return templating.fit(templating.render(env, TEMPLATE, dict(data, format="html")), "html")
