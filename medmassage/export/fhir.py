"""`export fhir`: one FHIR R4 Bundle (type `collection`) per patient (SPEC §10).

Charts are read through the validation façade, like `render`: a chart with errors (in its
own files, in medmassage.yaml, or in a therapist or provider it names) is not exported and
its located problems are returned instead. A bundle holds the Patient, the clinic's
Organization, the Practitioners (and their roles) the chart names, the allergies,
contraindications and medications (fhir_history), a ServiceRequest and Conditions per
referral, a CarePlan and Goals per plan (fhir_people, fhir_care), then the visits
(fhir_visits, when installed). Ids come from fhir_ids, so the same chart gives the same
bytes on every run: keys in a fixed order, no time stamp, nothing from the clock."""

from __future__ import annotations

import contextlib
import importlib
import json
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from medmassage import kinds
from medmassage.chart import Chart, Record, StoreView
from medmassage.documents.common import may_share
from medmassage.errors import MedmassageError, Problem, UsageError, WriteError
from medmassage.export import fhir_ids as ids
from medmassage.export.fhir_care import plan_resources, referral_resources
from medmassage.export.fhir_history import history
from medmassage.export.fhir_people import Resource, clinic, patient, provider, therapist
from medmassage.judging import Shared, check_chart, load_chart
from medmassage.store import CACHE_DIR, PATIENTS, SETTINGS_FILE, TEMPLATES_DIR, Store
from medmassage.validate import Validation, open_store

SUFFIX = ".fhir.json"
BUNDLE_IDENTIFIER = "urn:ietf:rfc:3986"  # the bundle's identifier is its own urn:uuid
_VISITS = "medmassage.export.fhir_visits"


def visit_resources(view: StoreView, chart: Chart) -> list[Resource]:
    """The visit half of the bundle (Encounter, Procedure, Observation...), from
    fhir_visits when that module is installed; none without it."""
    try:
        module = importlib.import_module(_VISITS)
    except ModuleNotFoundError as exc:
        if exc.name != _VISITS:
            raise
        return []
    found: list[Resource] = module.visit_resources(view, chart, chart.patient_id)
    return found


def named_people(view: StoreView, made: list[Resource]) -> list[Record]:
    """The therapist and provider records whose Practitioner or PractitionerRole the
    resources refer to: therapists first, each group by id."""
    # One pass of the C encoder finds a reference faster than walking every resource.
    text = json.dumps(made)
    found = []
    for group, people in (("therapist", view.therapists), ("provider", view.providers)):
        for person_id in sorted(people):
            keys = (
                ids.urn(kind, group, person_id) for kind in ("Practitioner", "PractitionerRole")
            )
            if any(f'"{key}"' in text for key in keys):
                found.append(people[person_id])
    return found


def chart_resources(view: StoreView, chart: Chart) -> list[Resource]:
    """Patient, Organization, the allergies, contraindications and medications, then per
    referral its Conditions and ServiceRequest, per plan its CarePlan and Goals, then the
    visits; Practitioners not yet included."""
    assert chart.patient is not None
    visits = visit_resources(view, chart)
    present = {f"urn:uuid:{resource['id']}" for resource in visits}
    made = [patient(view, chart.patient), clinic(view), *history(chart.patient)]
    for referral in chart.sorted("referral"):
        made += referral_resources(view, chart, referral)
    for plan in chart.sorted("plan"):
        made += plan_resources(chart, plan, present)
    return made + visits


def bundle(patient_id: str, resources: list[Resource]) -> Resource:
    """The collection Bundle of a patient's resources (a resource made twice once)."""
    seen: set[str] = set()
    entries = []
    for resource in resources:
        if resource["id"] not in seen:
            seen.add(resource["id"])
            entries.append(ids.entry(resource))
    return {
        "resourceType": "Bundle",
        "id": ids.resource_id("Bundle", patient_id),
        "identifier": {"system": BUNDLE_IDENTIFIER, "value": ids.urn("Bundle", patient_id)},
        "type": "collection",
        "entry": entries,
    }


def dumps(found: Resource) -> str:
    """A bundle as one line of JSON (UTF-8, no spaces), as a file holds it and as `--out -`
    prints it (NDJSON). Keys stay in the order the resources were built in, which is
    fixed (`resourceType` and `id` first). Not indented: Python's fast encoder does not
    indent, and the slow one would take longer than building the bundle."""
    return json.dumps(found, ensure_ascii=False, separators=(",", ":"))


@dataclass
class Exported:
    """One patient's export: the bundle (None when refused or withheld), its resources by
    type, the errors that refused it, and the file written (with `--out DIR`)."""

    patient: str
    bundle: Resource | None
    problems: list[Problem] = field(default_factory=list)
    path: Path | None = None
    withheld: bool = False  # the patient has not consented to sharing with providers
    counts: dict[str, int] = field(default_factory=dict)  # resources by type

    def __post_init__(self) -> None:
        entries = self.bundle["entry"] if self.bundle else []
        self.counts = dict(sorted(Counter(e["resource"]["resourceType"] for e in entries).items()))

    @property
    def refused(self) -> bool:
        """True when errors kept the chart from export."""
        return bool(self.problems)


def _errors(problems: Sequence[Problem]) -> list[Problem]:
    return sorted(p for p in problems if p.severity == "error")


class FhirExport:
    """A store opened for export: charts read one at a time through the validation cache."""

    def __init__(self, store: Store, today: str | None = None, use_cache: bool = True) -> None:
        self.validation: Validation = open_store(store, today, use_cache)
        self._shared: dict[str, list[Problem]] | None = None
        self._fast: Shared | None = None

    def patients(self, named: Sequence[str]) -> list[str]:
        """The patients named (each once, in the order given), or every patient by id;
        UsageError for one the store does not have."""
        if not named:
            return sorted(self.validation.charts)
        for patient_id in named:
            if patient_id not in self.validation.charts:
                raise UsageError(
                    f"no patient {patient_id!r} in the store; `medmassage list patients`"
                )
            if not self.consents(patient_id):
                raise UsageError(
                    f"patient {patient_id!r} has not consented to sharing with providers "
                    "(consent.share_with_providers)"
                )
        return list(dict.fromkeys(named))

    def consents(self, patient_id: str) -> bool:
        """False only when the patient record says no to sharing with providers (a bundle
        is made for them, as the physician update is); a record that does not parse is
        judged, and refused, with its chart."""
        from medmassage.yamlio import load_file

        entries = self.validation.charts.get(patient_id, [])
        entry = next((e for e in entries if e.kind == "patient"), None)
        if entry is None:
            return True
        try:
            data = load_file(self.validation.store.root / entry.rel, entry.rel)
        except MedmassageError:
            return True
        return may_share(Record(entry, data, True))

    def chart(self, patient_id: str) -> tuple[list[Problem], list[Record]]:
        """A chart's problems and records, as `Validation.chart` gives them (from the cache
        when unchanged), through the schemas' compiled fast path as `validate` uses it."""
        if self._fast is None:
            charts = self.validation.charts.values()
            self._fast = self.validation.shared().compiling(charts)
        entries = self.validation.charts[patient_id]
        found = self.validation.cached(patient_id)
        if found is not None:
            return found, load_chart(self._fast, entries)
        found, records = check_chart(self._fast, entries)
        self.validation.remember(patient_id, found)
        return found, records

    def shared_errors(self, rels: Sequence[str]) -> list[Problem]:
        """The errors of the shared files `rels` (settings, therapists, providers)."""
        if self._shared is None:
            self._shared = {}
            for problem in _errors(self.validation.shared_problems()):
                self._shared.setdefault(problem.file, []).append(problem)
        return [p for rel in sorted(rels) for p in self._shared.get(rel, [])]

    def export(self, patient_id: str) -> Exported:
        """The bundle of one patient, or the errors that keep their chart from export, or
        nothing when the patient has not consented to sharing with providers."""
        problems, records = self.chart(patient_id)
        if not may_share(next((r for r in records if r.kind == "patient"), None)):
            return Exported(patient_id, None, withheld=True)
        folder = f"{PATIENTS}/{patient_id}/"
        layout = [p for p in self.validation.layout if p.file.startswith(folder)]
        errors = _errors([*problems, *layout, *self.shared_errors([SETTINGS_FILE])])
        if errors:
            return Exported(patient_id, None, errors)
        view = self.validation.view()
        for record in records:
            view.add(record)
        chart = view.chart(patient_id)
        if chart.patient is None or not chart.patient.valid:
            rel = f"{folder}patient.yaml"
            return Exported(patient_id, None, [_no_patient(rel)])
        made = chart_resources(view, chart)
        people = named_people(view, made)
        errors = self.shared_errors([person.rel for person in people])
        if errors:
            return Exported(patient_id, None, errors)
        found = [*made[:2], *_people_resources(people), *made[2:]]
        return Exported(patient_id, bundle(patient_id, found))

    def close(self) -> None:
        """Keep the validation cache warm for the next command (best effort)."""
        with contextlib.suppress(OSError):
            self.validation.save()


def _people_resources(people: list[Record]) -> list[Resource]:
    """Practitioners first, then their roles, in the order of `people`."""
    made = [
        resource
        for person in people
        for resource in (therapist(person) if person.kind == "therapist" else provider(person))
    ]
    return [r for r in made if r["resourceType"] == "Practitioner"] + [
        r for r in made if r["resourceType"] != "Practitioner"
    ]


def _no_patient(rel: str) -> Problem:
    return Problem(rel, 1, 1, "$", "export/no-patient", "error", "the chart has no patient record")


# --- Writing: DIR/<patient>.fhir.json, atomically, replacing only earlier exports. ---


def _record_folders(root: Path) -> list[Path]:
    """The store's folders whose files are read as records or by the tool."""
    names = [PATIENTS, CACHE_DIR, TEMPLATES_DIR, "schemas"]
    names += [kind.folder for kind in kinds.with_folders("store")]
    return [root / name for name in names]


def is_export(path: Path, patient_id: str) -> bool:
    """True when `path` holds the bundle this export writes for `patient_id` (its
    identifier is the bundle's urn), so that replacing it loses nothing the user wrote."""
    try:
        with open(path, "rb") as handle:
            found = json.load(handle)
    except (OSError, ValueError):
        return False
    return (
        isinstance(found, dict)
        and found.get("resourceType") == "Bundle"
        and isinstance(found.get("identifier"), dict)
        and found["identifier"].get("value") == ids.urn("Bundle", patient_id)
    )


def prepare_out(out: Path, root: Path, patients: Sequence[str]) -> Path:
    """Check where the bundles go before anything is written: not in a folder the store
    reads (UsageError), and no file in the way but an earlier export of the same
    patient (WriteError naming the files; nothing written)."""
    where = Path(os.path.abspath(out))
    inside = root.resolve()
    resolved = where.resolve()
    for folder in _record_folders(inside):
        if resolved == folder or folder in resolved.parents:
            raise UsageError(
                f"--out {out} is inside the store's {folder.name}/ folder, whose files are "
                "read as part of the store; choose a folder outside it"
            )
    if where.exists() and not where.is_dir():
        raise WriteError(f"--out {out} is a file, not a folder; nothing was written")
    blocked = [
        str(out / f"{p}{SUFFIX}")
        for p in patients
        if os.path.lexists(where / f"{p}{SUFFIX}") and not is_export(where / f"{p}{SUFFIX}", p)
    ]
    if blocked:
        raise WriteError(
            f"{', '.join(blocked)}: not a FHIR export of that patient, so it was left "
            "unchanged and nothing was written; move it or choose another --out"
        )
    return out


def write_bundle(out: Path, patient_id: str, text: str) -> Path:
    """Write one bundle file atomically (left alone when it already holds these bytes)."""
    from medmassage.store.files import write_output

    path = out / f"{patient_id}{SUFFIX}"
    write_output(str(path), text.encode("utf-8"), out)
    return path
