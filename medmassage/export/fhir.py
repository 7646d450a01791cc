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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmassage import kinds
from medmassage.chart import Chart, Record, StoreView
from medmassage.documents.common import may_share
from medmassage.errors import Problem, UsageError, WriteError
from medmassage.export import fhir_ids as ids
from medmassage.export.fhir_care import plan_resources, referral_resources
from medmassage.export.fhir_history import history
from medmassage.export.fhir_people import Resource, clinic, patient, provider, therapist
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


def references(node: Any) -> Iterator[str]:
    """Every `reference` a resource (or a list of them) makes, wherever it sits."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


def named_people(view: StoreView, made: list[Resource]) -> list[Record]:
    """The therapist and provider records whose Practitioner or PractitionerRole the
    resources refer to: therapists first, each group by id."""
    wanted = set(references(made))
    found = []
    for group, people in (("therapist", view.therapists), ("provider", view.providers)):
        for person_id in sorted(people):
            keys = (
                ids.urn(kind, group, person_id) for kind in ("Practitioner", "PractitionerRole")
            )
            if any(key in wanted for key in keys):
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


def _ordered(node: Any) -> Any:
    """`node` with every object's keys sorted, `resourceType` and `id` first (FHIR's habit)."""
    if isinstance(node, dict):
        first = [key for key in ("resourceType", "id") if key in node]
        rest = sorted(key for key in node if key not in first)
        return {key: _ordered(node[key]) for key in (*first, *rest)}
    if isinstance(node, list):
        return [_ordered(item) for item in node]
    return node


def dumps(found: Resource, one_line: bool = False) -> str:
    """A bundle as JSON text: indented (a file), or on one line (NDJSON, for `--out -`)."""
    if one_line:
        return json.dumps(_ordered(found), ensure_ascii=False, separators=(",", ":"))
    return json.dumps(_ordered(found), ensure_ascii=False, indent=2) + "\n"


@dataclass
class Exported:
    """One patient's export: the bundle (None when refused or withheld), its resources by
    type, the errors that refused it, and the file written (with `--out DIR`)."""

    patient: str
    bundle: Resource | None
    problems: list[Problem] = field(default_factory=list)
    path: Path | None = None
    withheld: bool = False  # the patient has not consented to sharing with providers

    @property
    def counts(self) -> dict[str, int]:
        """How many resources of each type the bundle holds."""
        entries = self.bundle["entry"] if self.bundle else []
        return dict(sorted(Counter(e["resource"]["resourceType"] for e in entries).items()))


def _errors(problems: Sequence[Problem]) -> list[Problem]:
    return sorted(p for p in problems if p.severity == "error")


class FhirExport:
    """A store opened for export: charts read one at a time through the validation cache."""

    def __init__(self, store: Store, today: str | None = None, use_cache: bool = True) -> None:
        self.validation: Validation = open_store(store, today, use_cache)
        self._shared: dict[str, list[Problem]] | None = None

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
        entries = self.validation.charts.get(patient_id, [])
        entry = next((e for e in entries if e.kind == "patient"), None)
        return may_share(self.validation.load(entry) if entry is not None else None)

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
        if not self.consents(patient_id):
            return Exported(patient_id, None, withheld=True)
        problems, records = self.validation.chart(patient_id)
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
