"""Rendering (SPEC §7): choose what to render, hold back what does not validate,
build each document's context, run its templates and write the results atomically
to <out>/<patient>/<id>.<document>.<ext>. Returns values; the CLI prints.

This module knows one document at a time, from a view holding the shared records and
the charts loaded so far; `render.batch` drives a whole request over the store. What
differs between documents is read from their row in `medmassage.documents`."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from medmassage.chart import Chart, Record, StoreView
from medmassage.documents import DOCUMENTS, shape
from medmassage.documents.common import may_share
from medmassage.documents.shape import PATIENT, Period, Target
from medmassage.errors import Problem, UsageError
from medmassage.render.templates import FORMATS
from medmassage.store import PATIENTS, Entry, Store, record_rel
from medmassage.store.ids import describe_id_rule, is_valid_id

__all__ = ["DOCUMENTS", "Target", "may_share"]  # re-exported for callers of the engine


# Patient statuses `render --all` includes by default, and the word for all of them.
ACTIVE = ("active",)
ANY = "any"


@dataclass(frozen=True)
class Request:
    """What the user asked for (already parsed by the CLI)."""

    document: str
    refs: tuple[str, ...] = ()
    all: bool = False
    patient: str | None = None
    since: str | None = None
    until: str | None = None
    formats: tuple[str, ...] = FORMATS
    date: str | None = None
    statuses: tuple[str, ...] = ACTIVE  # patient statuses --all includes; ANY: every one
    ascii: bool = False  # txt output in 7-bit ASCII (render.ascii)

    @property
    def kind(self) -> shape.Document:
        """The document's row in the registry (after `check`)."""
        return DOCUMENTS[self.document]

    @property
    def period(self) -> Period:
        """The options the documents read."""
        return Period(self.since, self.until, self.date)

    def check(self) -> None:
        """Refuse a request that names no known document or nothing to render."""
        if self.document not in DOCUMENTS:
            raise UsageError(
                f"unknown document {self.document!r}; documents are: {', '.join(DOCUMENTS)}"
            )
        if not (self.refs or self.all or self.patient):
            per = self.kind.per
            what = "PATIENT" if per == PATIENT else f"PATIENT/{per.upper()}"
            raise UsageError(f"name what to render: {what}, a record path, --patient ID or --all")
        missing = [fmt for fmt in self.formats if fmt not in self.kind.formats]
        if missing:
            raise UsageError(
                f"the {self.kind.title} is not made in {', '.join(missing)}; its formats are: "
                f"{', '.join(self.kind.formats)}"
            )


class Candidate(NamedTuple):
    """A target the request may render; `named` when the user named it (not only --all)."""

    target: Target
    named: bool


@dataclass
class Document:
    """One rendered target: its id in the output name and the text per format."""

    target: Target
    id: str
    texts: dict[str, str] = field(default_factory=dict)


# -- choosing candidates from the walk ---------------------------------------------------


class Index:
    """What the walk found, by patient folder: every entry (records and layout findings)
    and the targets of a document per record of kind `per`; plus the shared record files."""

    def __init__(self, entries: Iterable[Entry], per: str = PATIENT) -> None:
        self.per = per
        self.folders: dict[str, list[Entry]] = {}
        self.shared: list[str] = []
        self.records: dict[str, list[Target]] = {}
        for entry in entries:
            if entry.rel.startswith(f"{PATIENTS}/"):
                self.folders.setdefault(entry.rel.split("/")[1], []).append(entry)
                if entry.kind == per and entry.patient is not None:
                    self.records.setdefault(entry.patient, []).append(
                        Target(entry.patient, entry.id)
                    )
            elif entry.kind is not None:
                self.shared.append(entry.rel)
        self.charts = sorted(
            p for p, found in self.folders.items() if any(e.kind is not None for e in found)
        )

    def targets(self, patient: str) -> list[Target]:
        """The targets of one chart: its records of kind `per`, or the patient."""
        return [Target(patient)] if self.per == PATIENT else self.records.get(patient, [])

    def has(self, kind: str, patient: str, record_id: str | None = None) -> bool:
        """True when the patient's folder holds a record file of `kind` (with that id)."""
        return any(
            e.kind == kind and (record_id is None or e.id == record_id)
            for e in self.folders.get(patient, [])
        )


def choose(
    store: Store, request: Request, index: Index, consents: Callable[[str], bool]
) -> list[Candidate]:
    """The documents asked for, sorted, each once; usage errors for what cannot be rendered.
    `consents(patient)` says whether a named patient may have their chart shared."""
    chosen: dict[Target, bool] = {}
    named: list[Target] = []
    for ref in request.refs:
        named.extend(_from_ref(store, request, index, ref))
    if request.patient:
        named.extend(_of_patient(request, index, _patient_id(index, request.patient)))
    if request.kind.consent:
        for target in named:
            if not consents(target.patient):
                raise UsageError(
                    f"patient {target.patient!r} has not consented to sharing with providers "
                    "(consent.share_with_providers)"
                )
    if request.all:
        everything = [t for p in index.charts for t in index.targets(p)]
        chosen.update(dict.fromkeys(everything, False))
    chosen.update(dict.fromkeys(named, True))
    return [Candidate(t, chosen[t]) for t in sorted(chosen)]


def _patient_id(index: Index, patient: str) -> str:
    if not is_valid_id(patient):
        raise UsageError(f"{patient!r} is not a valid patient id: {describe_id_rule()}")
    if patient not in index.charts:
        raise UsageError(f"no patient {patient!r} in this store (no {PATIENTS}/{patient}/)")
    return patient


def _of_patient(request: Request, index: Index, patient: str) -> list[Target]:
    document = request.kind
    if document.requires and not index.has(document.requires, patient):
        raise UsageError(f"patient {patient!r} has no {document.requires}, {document.requires_why}")
    return index.targets(patient)


def _from_ref(store: Store, request: Request, index: Index, ref: str) -> list[Target]:
    per = request.kind.per
    if Path(ref).exists():
        entries = store.walk([Path(ref)])
        if per == PATIENT:
            patients = sorted({e.patient for e in entries if e.patient})
            if not patients:
                raise UsageError(f"{ref}: no patient records there")
            return [t for patient in patients for t in _of_patient(request, index, patient)]
        found = sorted({Target(e.patient, e.id) for e in entries if e.patient and e.kind == per})
        if not found:
            raise UsageError(f"{ref}: no {per} records there")
        return found
    patient, _, record_id = ref.partition("/")
    patient = _patient_id(index, patient)
    if not record_id or per == PATIENT:
        if record_id:
            raise UsageError(
                f"{ref}: a {request.kind.title} is named by the patient alone, e.g. {patient}"
            )
        return _of_patient(request, index, patient)
    if not (is_valid_id(record_id) and index.has(per, patient, record_id)):
        raise UsageError(f"{ref}: no such {per} (no {record_rel(per, record_id, patient)})")
    return [Target(patient, record_id)]


def selected(request: Request, candidate: Candidate, facts: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether a candidate is rendered, from its facts (see `Renderer.facts`), and the
    notice to print when --all leaves it out on purpose."""
    if left_out_by_status(request, candidate, facts):
        return False, ""
    choice = request.kind.select(dict(facts), candidate.named, request.period)
    notice = f"{candidate.target}: {request.kind.notice}" if choice == "withhold" else ""
    return choice == "render", notice


def left_out_by_status(request: Request, candidate: Candidate, facts: Mapping[str, Any]) -> bool:
    """True when --all leaves a patient out for their status alone (discharged or on hold,
    unless --status includes it): one it would otherwise list. A patient named is never
    left out, nor a document that does not choose by status."""
    if candidate.named or "status" not in facts or ANY in request.statuses:
        return False
    if (facts["status"] or "active") in request.statuses:
        return False
    return request.kind.select(dict(facts), candidate.named, request.period) != "skip"


def held_problems(holds: Iterable[str], errors: Mapping[str, list[Problem]]) -> list[Problem]:
    """The errors that keep a document from being rendered (empty: render it)."""
    return [p for file in sorted(holds) for p in errors.get(file, [])]


# -- one document from a loaded chart -------------------------------------------------------


class Renderer:
    """The documents of one request, from a view of the shared records and the charts
    loaded into it (one at a time in a batch, so memory stays flat)."""

    def __init__(self, request: Request, view: StoreView, store_root: Path | None) -> None:
        self.request, self.view, self.store_root = request, view, store_root
        self.document = request.kind
        self._envs: dict[str, Any] | None = None

    @property
    def envs(self) -> dict[str, Any]:
        """One sandboxed environment per requested format, built on first use."""
        if self._envs is None:
            # Jinja only when something is rendered.
            from medmassage.render import jinja as templating

            loader = templating.Loader(self.store_root)
            self._envs = {fmt: templating.environment(loader, fmt) for fmt in self.request.formats}
        return self._envs

    def template(self, fmt: str) -> str:
        """The template name for the requested document in one format."""
        return self.document.template(fmt)

    def check_templates(self) -> None:
        """Load and compile every template needed, so a broken one fails before any output."""
        from medmassage.render import jinja as templating

        for fmt, env in self.envs.items():
            templating.load(env, self.template(fmt))

    def load(self, patient: str, records: Iterable[Record]) -> None:
        """Put a patient's records in the view, replacing what was there."""
        self.view.charts.pop(patient, None)
        for record in records:
            self.view.add(record)

    def unload(self, patient: str) -> None:
        """Forget a patient's records."""
        self.view.charts.pop(patient, None)

    def chart(self, target: Target) -> Chart:
        """The loaded chart of the target's patient (empty when none of its records parsed)."""
        return self.view.charts.get(target.patient) or Chart(target.patient)

    def facts(self, target: Target) -> dict[str, Any]:
        """What decides, with the request, whether the target is rendered (see `selected`)."""
        return self.document.read_facts(self.view, self.chart(target), target)

    def holds(self, target: Target, folder: Sequence[Entry]) -> set[str]:
        """The files whose errors hold the target back (`folder`: the walk of its patient
        folder)."""
        chart = self.chart(target)
        return self.document.holds(self.view, chart, target, folder, self.request.period)

    def render(self, target: Target) -> Document:
        """Build the context and run the templates of every requested format."""
        return self.texts(target, *self.build(target))

    def build(self, target: Target) -> tuple[str, dict[str, Any]]:
        """The document's id and the context its templates are given."""
        return self.document.build(self.view, self.chart(target), target, self.request.period)

    def texts(self, target: Target, doc_id: str, context: dict[str, Any]) -> Document:
        """Run the templates of every requested format over a built context."""
        from medmassage.render import jinja as templating

        document = Document(target, doc_id)
        for fmt, env in self.envs.items():
            text = templating.render(env, self.template(fmt), dict(context, format=fmt))
            text = templating.fit(text, fmt)
            if fmt == "txt" and self.request.ascii:
                from medmassage.render.ascii import to_ascii

                text = to_ascii(text)
            document.texts[fmt] = text
        return document


# -- output files ---------------------------------------------------------------------------


def shown(path: str | Path) -> str:
    """A written path as printed: relative to the working folder when under it. Paths are
    <out>/<patient>/<file>, and files are only written into real patient folders, so
    only <out> is resolved (once)."""
    head, name = os.path.split(os.fspath(path))
    base, folder = os.path.split(head)
    relative = _relative_folder(base or os.curdir, os.getcwd())
    if relative is None:
        return str(path)
    return f"{relative}{folder}/{name}" if folder else relative + name


@functools.lru_cache(maxsize=4096)
def _relative_folder(folder: str, cwd: str) -> str | None:
    """`folder` under `cwd` as 'a/b/' ('' for cwd itself), or None when outside it; each
    folder resolved once, as a batch prints thousands of files in a few folders."""
    real, here = os.path.realpath(folder), os.path.realpath(cwd)
    if real == here:
        return ""
    prefix = here.rstrip(os.sep) + os.sep
    return real[len(prefix) :].replace(os.sep, "/") + "/" if real.startswith(prefix) else None


def check_out(out: Path) -> None:
    """UsageError (exit 2) when the output folder named is an existing file."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a folder")


def output_path(out: Path, document: Document, name: str, fmt: str) -> Path:
    """<out>/<patient>/<id>.<document>.<ext>; ids were checked, so nothing can climb out."""
    for part in (document.target.patient, document.id):
        if not is_valid_id(part):
            raise UsageError(f"{part!r} is not a valid id: {describe_id_rule()}")
    return out / document.target.patient / f"{document.id}.{name}.{fmt}"
