"""Rendering (SPEC §7): choose what to render, hold back what does not validate,
build each document's context, run its templates and write the results atomically
to <out>/<patient>/<id>.<document>.<ext>. Returns values; the CLI prints.

This module knows one document at a time, from a view holding the shared records and
the charts loaded so far; `render_batch.py` drives a whole request over the store."""

from __future__ import annotations

import contextlib
import functools
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from medmassage.chart import Chart, Record, StoreView
from medmassage.errors import Problem, UsageError, WriteError
from medmassage.render.templates import FORMATS
from medmassage.store import SETTINGS_FILE, Entry, Store
from medmassage.store.ids import describe_id_rule, is_valid_id

DOCUMENTS = ("soap", "physician-update")
DEFAULT_OUT = "rendered"
# What a physician update can draw on in the patient's folder: errors here hold it back.
_UPDATE_SOURCES = ("patient.yaml", "referrals/", "assessments/", "plans/", "sessions/", "updates/")
NO_CONSENT = "no physician update, the patient has not consented to sharing with providers"
# What decides whether a document is rendered at all (see `Renderer.facts` and `selected`).
FACTS = {"soap": ("date",), "physician-update": ("listed", "share")}


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

    def check(self) -> None:
        """Refuse a request that names no known document or nothing to render."""
        if self.document not in DOCUMENTS:
            raise UsageError(
                f"unknown document {self.document!r}; documents are: {', '.join(DOCUMENTS)}"
            )
        if not (self.refs or self.all or self.patient):
            what = "PATIENT/SESSION" if self.document == "soap" else "PATIENT"
            raise UsageError(f"name what to render: {what}, a record path, --patient ID or --all")


class Target(NamedTuple):
    """One document to render: a patient and, for a SOAP note, the session id."""

    patient: str
    session: str = ""

    def __str__(self) -> str:
        return f"{self.patient}/{self.session}" if self.session else self.patient


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
    and the session targets; plus the shared record files."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self.folders: dict[str, list[Entry]] = {}
        self.shared: list[str] = []
        self.sessions: dict[str, list[Target]] = {}
        for entry in entries:
            if entry.rel.startswith("patients/"):
                self.folders.setdefault(entry.rel.split("/")[1], []).append(entry)
                if entry.kind == "session" and entry.patient is not None:
                    self.sessions.setdefault(entry.patient, []).append(
                        Target(entry.patient, entry.id)
                    )
            elif entry.kind is not None:
                self.shared.append(entry.rel)
        self.charts = sorted(
            p for p, found in self.folders.items() if any(e.kind is not None for e in found)
        )

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
    `consents(patient)` says whether a named patient may have a physician update."""
    chosen: dict[Target, bool] = {}
    named: list[Target] = []
    for ref in request.refs:
        named.extend(_from_ref(store, request, index, ref))
    if request.patient:
        named.extend(_of_patient(request, index, _patient_id(index, request.patient)))
    if request.document != "soap":
        for target in named:
            if not consents(target.patient):
                raise UsageError(
                    f"patient {target.patient!r} has not consented to sharing with providers (consent.share_with_providers)"
                )
    if request.all:
        everything = (
            [t for p in index.charts for t in index.sessions.get(p, [])]
            if request.document == "soap"
            else [Target(p) for p in index.charts]
        )
        chosen.update(dict.fromkeys(everything, False))
    chosen.update(dict.fromkeys(named, True))
    return [Candidate(t, chosen[t]) for t in sorted(chosen)]


def _patient_id(index: Index, patient: str) -> str:
    if not is_valid_id(patient):
        raise UsageError(f"{patient!r} is not a valid patient id: {describe_id_rule()}")
    if patient not in index.charts:
        raise UsageError(f"no patient {patient!r} in this store (no patients/{patient}/)")
    return patient


def _of_patient(request: Request, index: Index, patient: str) -> list[Target]:
    if request.document == "soap":
        return index.sessions.get(patient, [])
    if not index.has("referral", patient):
        raise UsageError(f"patient {patient!r} has no referral, so there is no physician to update")
    return [Target(patient)]


def _from_ref(store: Store, request: Request, index: Index, ref: str) -> list[Target]:
    if Path(ref).exists():
        entries = store.walk([Path(ref)])
        if request.document != "soap":
            patients = sorted({e.patient for e in entries if e.patient})
            if not patients:
                raise UsageError(f"{ref}: no patient records there")
            return [t for patient in patients for t in _of_patient(request, index, patient)]
        found = sorted(
            {Target(e.patient, e.id) for e in entries if e.patient and e.kind == "session"}
        )
        if not found:
            raise UsageError(f"{ref}: no session records there")
        return found
    patient, _, session = ref.partition("/")
    patient = _patient_id(index, patient)
    if not session or request.document != "soap":
        if session:
            raise UsageError(
                f"{ref}: a physician update is named by the patient alone, e.g. {patient}"
            )
        return _of_patient(request, index, patient)
    if not (is_valid_id(session) and index.has("session", patient, session)):
        raise UsageError(f"{ref}: no such session (no patients/{patient}/sessions/{session}.yaml)")
    return [Target(patient, session)]


def selected(request: Request, candidate: Candidate, facts: Mapping[str, Any]) -> tuple[bool, str]:
    """Whether a candidate is rendered, from its facts (see `Renderer.facts`), and the
    notice to print when --all leaves it out on purpose."""
    target = candidate.target
    if target.session:
        day = facts.get("date")
        if not isinstance(day, str):
            return True, ""  # undated: keep it, so its errors are reported
        return (request.since is None or day >= request.since) and (
            request.until is None or day <= request.until
        ), ""
    if candidate.named:
        return True, ""
    if not facts.get("listed"):
        return False, ""
    return (True, "") if facts.get("share") else (False, f"{target}: {NO_CONSENT}")


def held_problems(holds: Iterable[str], errors: Mapping[str, list[Problem]]) -> list[Problem]:
    """The errors that keep a document from being rendered (empty: render it)."""
    return [p for file in sorted(holds) for p in errors.get(file, [])]


def may_share(patient: Record | None) -> bool:
    """False only when the patient record says no to sharing with providers."""
    consent = patient.data.get("consent") if patient else None
    return not (isinstance(consent, dict) and consent.get("share_with_providers") is False)


# -- one document from a loaded chart -------------------------------------------------------


class Renderer:
    """The documents of one request, from a view of the shared records and the charts
    loaded into it (one at a time in a batch, so memory stays flat)."""

    def __init__(self, request: Request, view: StoreView, store_root: Path | None) -> None:
        self.request, self.view, self.store_root = request, view, store_root
        self._envs: dict[str, Any] | None = None

    @property
    def envs(self) -> dict[str, Any]:
        """One sandboxed environment per requested format, built on first use."""
        if self._envs is None:
            from medmassage.render import (
                jinja as templating,
            )  # Jinja only when something is rendered

            loader = templating.Loader(self.store_root)
            self._envs = {fmt: templating.environment(loader, fmt) for fmt in self.request.formats}
        return self._envs

    def template(self, fmt: str) -> str:
        """The template name for the requested document in one format."""
        return f"{self.request.document}.{fmt}.j2"

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
        chart = self.chart(target)
        if target.session:
            session = chart.of("session").get(target.session)
            day = session.data.get("date") if session else None
            return {"date": day if isinstance(day, str) else None}
        status = chart.patient.data.get("status") if chart.patient else None
        return {
            "listed": status in ("active", None) and bool(chart.of("referral")),
            "share": may_share(chart.patient),
        }

    def holds(self, target: Target, folder: Iterable[Entry]) -> set[str]:
        """The files whose errors hold the target back (`folder`: the walk of its patient folder)."""
        return self._soap_files(target) if target.session else self._update_files(target, folder)

    def _soap_files(self, target: Target) -> set[str]:
        from medmassage.documents.common import addenda

        base = f"patients/{target.patient}"
        files = {f"{base}/sessions/{target.session}.yaml", f"{base}/patient.yaml", SETTINGS_FILE}
        chart = self.chart(target)
        session = chart.of("session").get(target.session)
        if session is not None and session.valid:
            files.add(f"{base}/plans/{session.data['treatment_plan']}.yaml")
            files.update(
                _therapist_file(session.data["therapist"]),
                _therapist_file(session.data.get("signature", {}).get("by")),
            )
            for record in addenda(self.view, chart, target.session):
                files.update((record.rel, *_therapist_file(record.data["author"])))
        return files

    def _update_files(self, target: Target, folder: Iterable[Entry]) -> set[str]:
        from medmassage.documents.physician_update import referral_of

        chart = self.chart(target)
        base = f"patients/{target.patient}/"
        referral = (
            referral_of(self.view, chart, self.request.until)
            if chart.patient and chart.patient.valid
            else None
        )
        start = referral.data["date"] if referral else ""
        files = {SETTINGS_FILE, f"{base}patient.yaml"}
        for entry in folder:
            inside = entry.rel.startswith(base) and entry.rel[len(base) :].startswith(
                _UPDATE_SOURCES
            )
            if inside and not _dated_before(chart, entry.rel, start):
                files.add(entry.rel)
        if referral is not None:
            files.add(f"providers/{referral.data['provider']}.yaml")
            files.update(
                f for s in chart.sorted("session") for f in _therapist_file(s.data["therapist"])
            )
        return files

    def render(self, target: Target) -> Document:
        """Build the context and run the templates of every requested format."""
        from medmassage.documents.common import soap_context
        from medmassage.documents.physician_update import course, update_context
        from medmassage.render import jinja as templating

        chart = self.chart(target)
        if target.session:
            context, doc_id = (
                soap_context(self.view, chart, chart.of("session")[target.session]),
                target.session,
            )
        else:
            c = course(self.view, chart, self.request.since, self.request.until)
            context, doc_id = update_context(self.view, chart, c, self.request.date), c.end
        document = Document(target, doc_id)
        for fmt, env in self.envs.items():
            text = templating.render(env, self.template(fmt), dict(context, format=fmt))
            document.texts[fmt] = templating.fit(text, fmt)
        return document


def _therapist_file(therapist_id: object) -> Iterable[str]:
    return [f"therapists/{therapist_id}.yaml"] if isinstance(therapist_id, str) else []


def _dated_before(chart: Chart, rel: str, start: str) -> bool:
    """True for a record of the chart dated before `start` (an older episode of care)."""
    folder, _, name = rel.rpartition("/")
    kind = {
        "referrals": "referral",
        "assessments": "assessment",
        "plans": "plan",
        "sessions": "session",
    }.get(folder.rpartition("/")[2])
    record: Record | None = chart.of(kind).get(name.removesuffix(".yaml")) if kind else None
    day = record.data.get("date") if record else None
    return bool(start) and isinstance(day, str) and day < start


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


def output_path(out: Path, document: Document, name: str, fmt: str) -> Path:
    """<out>/<patient>/<id>.<document>.<ext>; ids were checked, so nothing can climb out."""
    for part in (document.target.patient, document.id):
        if not is_valid_id(part):
            raise UsageError(f"{part!r} is not a valid id: {describe_id_rule()}")
    return out / document.target.patient / f"{document.id}.{name}.{fmt}"


def write_atomic(path: str, data: bytes, out: Path, ready: set[str] | None = None) -> int:
    """Write through a temporary file in the same folder and os.replace; never outside `out`
    (`path` is <out>/<patient>/<file>, and neither the folder nor the file may be a symlink).
    Returns the file's mtime_ns as left (a file that already held `data` is left alone).
    `ready`: the folders this run has already made and checked (a batch writes thousands
    of files into a few folders); plain os calls, as this is all it does per file."""
    outside = f"{path} would be written outside {out} (through a symbolic link); nothing written"
    folder, name = os.path.split(path)
    try:
        if ready is None or folder not in ready:
            out.mkdir(mode=0o700, parents=True, exist_ok=True)
            if os.path.islink(folder):
                raise WriteError(outside)
            if not os.path.isdir(folder):
                os.mkdir(folder, 0o700)
            if ready is not None:
                ready.add(folder)
        try:
            present: os.stat_result | None = os.lstat(path)
        except FileNotFoundError:
            present = None
        if present is not None and stat.S_ISLNK(present.st_mode):
            raise WriteError(outside)
        if present is not None and present.st_size == len(data) and _holds(path, data):
            return present.st_mtime_ns  # unchanged: leave the file (and its time stamp) alone
        fd, temp = _temporary(folder, name)
    except OSError as exc:
        raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        # No fsync: rendered files are derived data, made again from the records at will.
        # os.replace still never shows a half-written file, and after a crash the render
        # cache sees any file whose size or sha256 is not what it recorded and renders it again.
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            written = os.fstat(fd).st_mtime_ns
        finally:
            os.close(fd)
        os.replace(temp, path)  # keeps the mtime
        return written
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        if isinstance(exc, OSError):
            raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise


def _holds(path: str, data: bytes) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read() == data
    except OSError:
        return False


def _temporary(folder: str, name: str) -> tuple[int, str]:
    """A new temporary file beside the target: named by this process, else by tempfile."""
    temp = os.path.join(folder, f".{name}.{os.getpid()}.tmp")
    try:
        return os.open(
            temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600
        ), temp
    except FileExistsError:  # left by an earlier process with the same number
        return tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
