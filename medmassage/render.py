"""Rendering (SPEC §7): choose what to render, hold back what does not validate,
build each document's context, run its templates and write the results atomically
to <out>/<patient>/<id>.<document>.<ext>. Returns values; the CLI prints."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import templating
from .documents import addenda, soap_context
from .errors import Problem, UsageError, WriteError
from .ids import describe_id_rule, is_valid_id
from .physician_update import course, referral_of, update_context
from .store import SETTINGS_FILE, Store
from .validate import Report, validate_store
from .view import Chart, Record

DOCUMENTS = ("soap", "physician-update")
DEFAULT_OUT = "rendered"
# What a physician update can draw on in the patient's folder: errors here hold it back.
_UPDATE_SOURCES = ("patient.yaml", "referrals/", "assessments/", "plans/", "sessions/", "updates/")


@dataclass(frozen=True)
class Request:
    """What the user asked for (already parsed by the CLI)."""

    document: str
    refs: tuple[str, ...] = ()
    all: bool = False
    patient: str | None = None
    since: str | None = None
    until: str | None = None
    formats: tuple[str, ...] = templating.FORMATS
    date: str | None = None


@dataclass(frozen=True, order=True)
class Target:
    """One document to render: a patient and, for a SOAP note, the session id."""

    patient: str
    session: str = ""

    def __str__(self) -> str:
        return f"{self.patient}/{self.session}" if self.session else self.patient


@dataclass
class Document:
    """One rendered target: its id in the output name and the text per format."""

    target: Target
    id: str
    texts: dict[str, str] = field(default_factory=dict)


class Renderer:
    """Validates the store once, then renders targets one at a time."""

    def __init__(self, store: Store, request: Request, today: str | None = None) -> None:
        if request.document not in DOCUMENTS:
            raise UsageError(f"unknown document {request.document!r}; documents are: {', '.join(DOCUMENTS)}")
        if not (request.refs or request.all or request.patient):
            what = "PATIENT/SESSION" if request.document == "soap" else "PATIENT"
            raise UsageError(f"name what to render: {what}, a record path, --patient ID or --all")
        self.store, self.request = store, request
        self.report: Report = validate_store(store, _folders_named(store, request), today=today)
        self.view = self.report.view
        self.errors: dict[str, list[Problem]] = {}  # file -> its errors
        for problem in self.report.problems:
            if problem.severity == "error":
                self.errors.setdefault(problem.file, []).append(problem)
        self.sessions: dict[str, list[Target]] = {}  # patient -> every session file, parsed or not
        for kind, patient, record_id in sorted(self.view.existing, key=lambda key: (key[0], key[1] or "", key[2])):
            if kind == "session" and patient is not None:
                self.sessions.setdefault(patient, []).append(Target(patient, record_id))
        loader = templating.Loader(store.root)
        self.envs = {fmt: templating.environment(loader, fmt) for fmt in request.formats}
        self.skipped: list[str] = []  # what --all leaves out on purpose, and why

    def template(self, fmt: str) -> str:
        """The template name for the requested document in one format."""
        return f"{self.request.document}.{fmt}.j2"

    def check_templates(self) -> None:
        """Load and compile every template needed, so a broken one fails before any output."""
        for fmt, env in self.envs.items():
            templating.load(env, self.template(fmt))

    # -- choosing targets -------------------------------------------------------------

    def targets(self) -> list[Target]:
        """The documents asked for, sorted, each once."""
        r = self.request
        chosen: set[Target] = set()
        for ref in r.refs:
            chosen.update(self._from_ref(ref))
        if r.patient:
            chosen.update(self._of_patient(self._patient_id(r.patient)))
        if r.all:
            chosen.update(self._everything())
        return sorted(t for t in chosen if self._in_dates(t))

    def _sessions(self, patient: str) -> list[Target]:
        return self.sessions.get(patient, [])

    def _patient_id(self, patient: str) -> str:
        if not is_valid_id(patient):
            raise UsageError(f"{patient!r} is not a valid patient id: {describe_id_rule()}")
        if patient not in self.view.charts and not self.view.exists("patient", patient, patient):
            raise UsageError(f"no patient {patient!r} in this store (no patients/{patient}/)")
        return patient

    def _of_patient(self, patient: str) -> list[Target]:
        if self.request.document == "soap":
            return self._sessions(patient)
        if not any(kind == "referral" and p == patient for kind, p, _ in self.view.existing):
            raise UsageError(f"patient {patient!r} has no referral, so there is no physician to update")
        if not _may_share(self._chart(Target(patient))):
            raise UsageError(f"patient {patient!r} has not consented to sharing with providers (consent.share_with_providers)")
        return [Target(patient)]

    def _from_ref(self, ref: str) -> list[Target]:
        if Path(ref).exists():
            entries = self.store.walk([Path(ref)])
            if self.request.document != "soap":
                patients = sorted({e.patient for e in entries if e.patient})
                if not patients:
                    raise UsageError(f"{ref}: no patient records there")
                return [t for patient in patients for t in self._of_patient(patient)]
            found = sorted({Target(e.patient, e.id) for e in entries if e.patient and e.kind == "session"})
            if not found:
                raise UsageError(f"{ref}: no session records there")
            return found
        patient, _, session = ref.partition("/")
        patient = self._patient_id(patient)
        if not session or self.request.document != "soap":
            if session:
                raise UsageError(f"{ref}: a physician update is named by the patient alone, e.g. {patient}")
            return self._of_patient(patient)
        if not (is_valid_id(session) and self.view.exists("session", session, patient)):
            raise UsageError(f"{ref}: no such session (no patients/{patient}/sessions/{session}.yaml)")
        return [Target(patient, session)]

    def _everything(self) -> list[Target]:
        if self.request.document == "soap":
            return [t for patient in sorted(self.view.charts) for t in self._sessions(patient)]
        found = [Target(p) for p, chart in sorted(self.view.charts.items()) if _active_with_referral(chart)]
        for target in found:
            if not _may_share(self._chart(target)):
                self.skipped.append(f"{target}: no physician update, the patient has not consented to sharing with providers")
        return [t for t in found if _may_share(self._chart(t))]

    def _in_dates(self, target: Target) -> bool:
        if not target.session:
            return True
        session = self.view.charts[target.patient].of("session").get(target.session) if target.patient in self.view.charts else None
        day = session.data.get("date") if session else None
        if not isinstance(day, str):
            return True  # undated: keep it, so its errors are reported
        r = self.request
        return (r.since is None or day >= r.since) and (r.until is None or day <= r.until)

    # -- holding back what does not validate ------------------------------------------

    def held(self, target: Target) -> list[Problem]:
        """The errors that keep `target` from being rendered (empty: render it)."""
        files = self._soap_files(target) if target.session else self._update_files(target)
        return [p for file in sorted(files) for p in self.errors.get(file, [])]

    def _chart(self, target: Target) -> Chart:
        return self.view.charts.get(target.patient) or Chart(target.patient)

    def _soap_files(self, target: Target) -> set[str]:
        base = f"patients/{target.patient}"
        files = {f"{base}/sessions/{target.session}.yaml", f"{base}/patient.yaml", SETTINGS_FILE}
        session = self._chart(target).of("session").get(target.session)
        if session is not None and session.valid:
            files.add(f"{base}/plans/{session.data['treatment_plan']}.yaml")
            files.update(_therapist_file(session.data["therapist"]), _therapist_file(session.data.get("signature", {}).get("by")))
            for record in addenda(self.view, self._chart(target), target.session):
                files.update((record.rel, *_therapist_file(record.data["author"])))
        return files

    def _update_files(self, target: Target) -> set[str]:
        chart = self._chart(target)
        base = f"patients/{target.patient}/"
        referral = referral_of(self.view, chart, self.request.until) if chart.patient and chart.patient.valid else None
        start = referral.data["date"] if referral else ""
        files = {SETTINGS_FILE, f"{base}patient.yaml"}
        for file in self.errors:
            inside = file.startswith(base) and file[len(base):].startswith(_UPDATE_SOURCES)
            if inside and not _dated_before(chart, file, start):
                files.add(file)
        if referral is not None:
            files.add(f"providers/{referral.data['provider']}.yaml")
            files.update(f for s in chart.sorted("session") for f in _therapist_file(s.data["therapist"]))
        return files

    # -- rendering ---------------------------------------------------------------------

    def render(self, target: Target) -> Document:
        """Build the context and run the templates of every requested format."""
        chart = self._chart(target)
        if target.session:
            context, doc_id = soap_context(self.view, chart, chart.of("session")[target.session]), target.session
        else:
            c = course(self.view, chart, self.request.since, self.request.until)
            context, doc_id = update_context(self.view, chart, c, self.request.date), c.end
        document = Document(target, doc_id)
        for fmt, env in self.envs.items():
            text = templating.render(env, self.template(fmt), dict(context, format=fmt))
            document.texts[fmt] = templating.fit(text, fmt)
        return document


def _folders_named(store: Store, request: Request) -> list[Path] | None:
    """The patient folders a request without --all names, so only they are validated."""
    if request.all:
        return None
    names = [request.patient] if request.patient else []
    for ref in request.refs:
        rel = store.rel(Path(ref)) if Path(ref).exists() else f"patients/{ref}"
        folder, _, rest = rel.partition("/")
        names.append(rest.partition("/")[0] if folder == "patients" else "")
    folders = [store.root / "patients" / name for name in names if is_valid_id(name)]
    existing = [folder for folder in folders if folder.is_dir()]
    return existing if existing and len(existing) == len(names) else None


def _may_share(chart: Chart) -> bool:
    """False only when the patient record says no to sharing with providers."""
    consent = chart.patient.data.get("consent") if chart.patient else None
    return not (isinstance(consent, dict) and consent.get("share_with_providers") is False)


def _active_with_referral(chart: Chart) -> bool:
    status = chart.patient.data.get("status") if chart.patient else None
    return status in ("active", None) and bool(chart.of("referral"))


def _therapist_file(therapist_id: object) -> Iterable[str]:
    return [f"therapists/{therapist_id}.yaml"] if isinstance(therapist_id, str) else []


def _dated_before(chart: Chart, rel: str, start: str) -> bool:
    """True for a record of the chart dated before `start` (an older episode of care)."""
    folder, _, name = rel.rpartition("/")
    kind = {"referrals": "referral", "assessments": "assessment", "plans": "plan", "sessions": "session"}.get(folder.rpartition("/")[2])
    record: Record | None = chart.of(kind).get(name.removesuffix(".yaml")) if kind else None
    day = record.data.get("date") if record else None
    return bool(start) and isinstance(day, str) and day < start


def shown(path: Path) -> str:
    """A written path as printed: relative to the working folder when under it."""
    try:
        return path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def output_path(out: Path, document: Document, name: str, fmt: str) -> Path:
    """<out>/<patient>/<id>.<document>.<ext>; ids were checked, so nothing can climb out."""
    for part in (document.target.patient, document.id):
        if not is_valid_id(part):
            raise UsageError(f"{part!r} is not a valid id: {describe_id_rule()}")
    return out / document.target.patient / f"{document.id}.{name}.{fmt}"


def write_atomic(path: Path, text: str, out: Path) -> None:
    """Write through a temporary file in the same folder and os.replace; never outside `out`
    (`path` is <out>/<patient>/<file>, and neither the folder nor the file may be a symlink)."""
    out.mkdir(mode=0o700, parents=True, exist_ok=True)
    if path.parent.is_symlink() or path.is_symlink():
        raise WriteError(f"{path} would be written outside {out} (through a symbolic link); nothing written")
    path.parent.mkdir(mode=0o700, exist_ok=True)
    data = text.encode("utf-8")
    try:
        if path.read_bytes() == data:
            return  # unchanged: leave the file (and its time stamp) alone
    except OSError:
        pass
    fd, temp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, path)
    except BaseException as exc:
        Path(temp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise WriteError(f"cannot write {path}: {exc.strerror or exc}") from None
        raise
