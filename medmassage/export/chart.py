"""The chart released to the patient (SPEC §10; COMAR 10.65.03.04A(5), CLINICAL.md §1
"Records release": records are made available to the client on request).

A release holds, for one patient: every document of the chart rendered by the render
engine (html and txt, signed state shown as the documents show it), the chart's YAML
records and the copies of documents sent, byte for byte, the providers' and therapists'
records the chart names (nothing of any other patient), and an index page listing it
all in date order. It is read through the validation façade, as `render` reads: a chart
with errors is not released (`NotReleased` carries the located problems), since its
documents cannot all be rendered and a release missing some of them would not say so.

Layout of a release (paths inside OUT, or inside the archive's one top folder):

    index.html
    documents/<id>.<document>.<html|txt>
    records/patients/<p>/...            as in the store (sent/ included)
    records/providers/<id>.yaml, records/therapists/<id>.yaml
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from medmassage import kinds
from medmassage.chart import Record, StoreView
from medmassage.errors import MedmassageError, Problem, UsageError
from medmassage.export.chart_documents import Documents, choose_documents
from medmassage.store import PATIENTS, SENT_DIR, SETTINGS_FILE, Entry, Store, record_rel
from medmassage.store.ids import describe_id_rule, is_valid_id

RECORDS = "records"  # the folder of the release holding the YAML, laid out as in the store
DOCUMENTS_DIR = "documents"  # the folder of the release holding the rendered documents
INDEX = "index.html"


class NotReleased(MedmassageError):
    """The chart has errors, listed in `problems`: nothing was written."""

    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(message)
        self.problems = problems


@dataclass(frozen=True)
class Copy:
    """One file copied byte for byte: where it goes in the release, where it comes from,
    what it is (a record kind, or "sent" for the copy of a document sent) and its record."""

    rel: str
    source: Path
    what: str
    record: Record | None


@dataclass
class Release:
    """One chart ready to be released: its records, the documents to render, the files to
    copy and the view the records are loaded in."""

    patient: str
    view: StoreView
    records: list[Record]
    documents: Documents
    copies: list[Copy]
    warnings: int


def open_release(store: Store, patient: str, today: str | None = None) -> Release:
    """The release of `patient`'s chart: UsageError for a patient the store does not
    have, NotReleased when the chart (or a record it names) has errors."""
    from medmassage.validate import open_store

    if not is_valid_id(patient):
        raise UsageError(f"{patient!r} is not a valid patient id: {describe_id_rule()}")
    survey = open_store(store, today)
    folder = [e for e in survey.entries if e.rel.startswith(f"{PATIENTS}/{patient}/")]
    if not any(e.kind is not None for e in folder):
        raise UsageError(f"no patient {patient!r} in this store (no {PATIENTS}/{patient}/)")
    problems, records = survey.chart(patient)
    survey.save()
    view = survey.view()
    # The chart's own errors first: documents are chosen only from records that validate.
    outside = [*survey.layout, *survey.shared_problems()]
    judged = {e.rel for e in folder} | {p.file for p in problems} | {SETTINGS_FILE}
    warnings = _refuse_errors(patient, [*problems, *outside], judged)
    documents = choose_documents(store, view, patient, records, folder)
    shared = named_shared(view, records, documents)
    drawn_on = set(shared).union(*(chosen.holds for chosen in documents.chosen)) - judged
    warnings += _refuse_errors(patient, outside, drawn_on)
    copies = list(_chart_copies(store, patient, folder, records))
    copies.extend(_shared_copies(store, view, shared))
    return Release(patient, view, records, documents, copies, warnings)


def _refuse_errors(patient: str, problems: Sequence[Problem], files: set[str]) -> int:
    """NotReleased when any problem of `files` is an error; else how many warnings."""
    found = sorted({p for p in problems if p.file in files})
    errors = [p for p in found if p.severity == "error"]
    if errors:
        raise NotReleased(
            f"the chart of {patient} is not released: {len(errors)} "
            f"error{'s' if len(errors) != 1 else ''} above; fix them and export again",
            errors,
        )
    return len(found)


def named_shared(view: StoreView, records: Sequence[Record], documents: Documents) -> list[str]:
    """The store-level records (providers, therapists) the chart names: by the references
    of the kinds registry, and any the chart's documents draw on (a certifying provider).
    Sorted paths relative to the store root."""
    store_kinds = {kind.name for kind in kinds.with_folders("store")}
    found: set[str] = set()
    for record in records:
        for kind, fields, target in kinds.references():
            if record.kind == kind and target in store_kinds:
                found.update(
                    record_rel(target, value)
                    for _, value in kinds.referenced(record.data, fields)
                    if is_valid_id(value) and view.exists(target, value)
                )
    prefixes = tuple(f"{kind.folder}/" for kind in kinds.with_folders("store"))
    for chosen in documents.chosen:
        found.update(rel for rel in chosen.holds if rel.startswith(prefixes))
    return sorted(found)


def _chart_copies(
    store: Store, patient: str, folder: Sequence[Entry], records: Sequence[Record]
) -> Iterator[Copy]:
    """The patient's record files and the copies of documents sent, as the walk found
    them (stray files that are neither are not part of the chart)."""
    by_rel = {record.rel: record for record in records}
    sent = f"{PATIENTS}/{patient}/{SENT_DIR}/"
    for entry in folder:
        if entry.kind is not None:
            yield Copy(
                f"{RECORDS}/{entry.rel}", store.root / entry.rel, entry.kind, by_rel.get(entry.rel)
            )
        elif not entry.rule and entry.rel.startswith(sent) and not entry.id.startswith("."):
            if not entry.id.isprintable():
                raise UsageError(
                    f"{entry.rel}: the name of a sent copy holds control characters; "
                    "rename it (git mv) before releasing the chart"
                )
            source = store.patient_folder(patient) / SENT_DIR / entry.id
            yield Copy(f"{RECORDS}/{entry.rel}", source, "sent", None)


def _shared_copies(store: Store, view: StoreView, shared: Sequence[str]) -> Iterator[Copy]:
    """The providers' and therapists' record files the chart names."""
    for rel in shared:
        folder, _, name = rel.partition("/")
        kind = kinds.in_folder("store", folder)
        assert kind is not None
        record = view.get(kind.name, name.removesuffix(".yaml"))
        yield Copy(f"{RECORDS}/{rel}", store.root / rel, kind.name, record)
