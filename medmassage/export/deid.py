"""A de-identified copy of the store for case studies and teaching (SPEC §10, CLINICAL.md
§5: HIPAA Safe Harbor, 45 CFR 164.514(b)(2)).

The store is read through the validation façade; a store with errors is refused whole
(a copy missing charts would be a wrong case study, and the copy must validate). Each
record goes through `deid_fields`; the copy is written as `export chart` writes a release
(`output`): into a hidden sibling of OUT, renamed into place at the end, so a failure
never leaves half a copy. The seed, the
offsets and the map from old ids to new ones stay in memory: none is written."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmassage import kinds
from medmassage.chart import Record
from medmassage.errors import MedmassageError, Problem
from medmassage.export.deid_fields import Context, transform_record
from medmassage.export.deid_ids import (
    PATIENT_PREFIX,
    PROVIDER_PREFIX,
    THERAPIST_PREFIX,
    Pseudonyms,
    numbered,
)
from medmassage.export.deid_shift import (
    AGE_LIMIT,
    Keyed,
    age_on,
    grouped_birth_date,
    is_date_id,
    shift_date,
    shift_date_id,
)
from medmassage.export.output import destination, write_folder
from medmassage.judging import check_chart, load_chart
from medmassage.store import RENDERED_DIR, SENT_DIR, TEMPLATES_DIR, Store, record_rel
from medmassage.validate import Validation, open_store

_GOAL = re.compile(r"g\d+")  # the goal labels `create` gives: g1, g2...
Progress = Callable[[Sequence[str], str], AbstractContextManager[Iterable[str]]]


class Refused(MedmassageError):
    """The store has errors: nothing was copied (the located problems say where)."""

    def __init__(self, problems: list[Problem]) -> None:
        errors, files = len(problems), len({p.file for p in problems})
        super().__init__(
            f"the store is not exported: {errors} error{'s' if errors != 1 else ''} above, in "
            f"{files} file{'s' if files != 1 else ''}; fix them and export again"
        )
        self.problems = problems


@dataclass
class Outcome:
    """What an export did: counts only, never a value or the seed."""

    out: Path
    patients: int = 0
    records: int = 0
    counts: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    not_copied: Counter[str] = field(default_factory=Counter)
    grouped: int = 0  # patients over 89, their ages grouped
    keep_text: bool = False


class _Reader:
    """The store read chart by chart through the validation façade (its cache, and the
    compiled schema check `validate` uses), its errors collected as it goes."""

    def __init__(self, survey: Validation) -> None:
        self.survey = survey
        self.shared = survey.shared().compiling(survey.charts.values())
        self.errors = _errors([*survey.layout, *survey.shared_problems()])

    def chart(self, patient: str) -> list[Record]:
        """One chart's records (judged, or its problems taken from the cache)."""
        entries = self.survey.charts[patient]
        found = self.survey.cached(patient)
        if found is None:
            found, records = check_chart(self.shared, entries)
            self.survey.remember(patient, found)
        else:
            records = load_chart(self.shared, entries)
        self.errors.extend(_errors(found))
        return records


def _errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def export_deid(
    store: Store,
    out: str,
    seed: str,
    keep_text: bool = False,
    today: str | None = None,
    progress: Progress | None = None,
) -> Outcome:
    """Write a de-identified copy of `store` into `out` (see the module's docstring);
    UsageError for an OUT that may not receive it (the rules of `output.destination`),
    Refused when the store has errors, WriteError when the copy cannot be written: in
    each case nothing is left."""
    dest = destination(store.root, out)
    reader = _Reader(open_store(store, today))
    keyed = Keyed(seed)
    copier = _Copier(keyed, Pseudonyms(keyed), keep_text, Outcome(dest.path, keep_text=keep_text))
    copier.map_shared(reader.shared.records, reader.survey.charts)
    steps = progress or (lambda items, label: nullcontext(items))
    write_folder(dest.path, _copy_all(store, reader, copier, steps))
    return copier.outcome


def _copy_all(
    store: Store, reader: _Reader, copier: _Copier, steps: Progress
) -> Iterator[tuple[str, bytes]]:
    """Every file of the copy, chart by chart, then its report; Refused at the end if any
    record had errors (the folder being written is then removed by `write_folder`)."""
    for record in reader.shared.records:
        yield copier.copy_shared(record)
    patients = sorted(reader.survey.charts)
    with steps(patients, f"De-identifying {len(patients)} charts") as each:
        for patient in each:
            records = reader.chart(patient)
            if not reader.errors:
                yield from copier.copy_chart(patient, records)
    reader.survey.save()
    if reader.errors:
        raise Refused(sorted(set(reader.errors)))
    _note_not_copied(store, copier.outcome)
    from medmassage.export.deid_report import REPORT_FILE, report_markdown

    yield REPORT_FILE, report_markdown(copier.outcome).encode("utf-8")


class _Copier:
    """Copies records into the partial folder, holding the maps of ids."""

    def __init__(self, keyed: Keyed, pseudonyms: Pseudonyms, keep: bool, outcome: Outcome) -> None:
        self.keyed = keyed
        self.pseudonyms = pseudonyms
        self.keep_text = keep
        self.outcome = outcome
        self.ids: dict[str, dict[str, str]] = {}

    def map_shared(self, shared: list[Record], charts: Iterable[str]) -> None:
        """New ids for therapists, providers and patients, numbered in a drawn order."""
        of = {kind: [r.id for r in shared if r.kind == kind] for kind in ("therapist", "provider")}
        self.ids["therapist"] = numbered(self.keyed, of["therapist"], THERAPIST_PREFIX, "t")
        self.ids["provider"] = numbered(self.keyed, of["provider"], PROVIDER_PREFIX, "d")
        self.ids["patient"] = numbered(self.keyed, charts, PATIENT_PREFIX, "p")

    def context(self, kind: str, offset: int, **extra: Any) -> Context:
        """The context one record is copied in."""
        return Context(
            kind, self.pseudonyms, offset, self.ids, self.keep_text, self.outcome.counts, **extra
        )

    def copy_shared(self, record: Record) -> tuple[str, bytes]:
        """Settings, a therapist or a provider, its dates moved by the store's offset."""
        shown = {}
        if record.kind in ("therapist", "provider"):
            number = self.ids[record.kind][record.id].rsplit("-", 1)[1]
            shown["name"] = f"{record.kind.capitalize()} {number}"
        ctx = self.context(record.kind, self.keyed.store_offset(), shown=shown)
        new_id = self.ids.get(record.kind, {}).get(record.id, record.id)
        return self.file(
            record_rel(record.kind, new_id), transform_record(record.kind, record.data, ctx)
        )

    def copy_chart(self, patient: str, records: list[Record]) -> Iterator[tuple[str, bytes]]:
        """One patient's records under their new id, dates moved by their own offset."""
        offset = self.keyed.patient_offset(patient)
        new_patient = self.ids["patient"][patient]
        self.ids["chart"] = _chart_ids(records, offset)
        self.ids["goal"] = _goal_ids(records)
        birth = _grouped_birth(records, offset)
        self.outcome.grouped += birth is not None
        self.outcome.patients += 1
        for record in records:
            extra: dict[str, Any] = {}
            if record.kind == "patient":
                extra = {"birth": birth, "shown": {"name": new_patient.upper()}}
            ctx = self.context(record.kind, offset, **extra)
            new_id = new_patient if record.kind == "patient" else self.ids["chart"][record.id]
            rel = record_rel(record.kind, new_id, new_patient)
            yield self.file(rel, transform_record(record.kind, record.data, ctx))

    def file(self, rel: str, data: dict[str, Any]) -> tuple[str, bytes]:
        """One record of the copy: its path in the copy and its YAML."""
        from medmassage.yamlio import dump

        self.outcome.records += 1
        return rel, dump(data).encode("utf-8")


def _chart_ids(records: list[Record], offset: int) -> dict[str, str]:
    """A chart's record ids in the copy: dated ids moved with their dates, any other id
    (a name the user chose) replaced by record-N."""
    ids = sorted({r.id for r in records if r.kind != "patient"})
    others = iter(range(1, len(ids) + 1))
    return {
        old: shift_date_id(old, offset) if is_date_id(old) else f"record-{next(others)}"
        for old in ids
    }


def _goal_ids(records: list[Record]) -> dict[str, str]:
    """A chart's goal labels in the copy: g1, g2... kept (they tell nothing); any other
    label (a user may name a goal after an employer or a sport) becomes the next gN."""
    labels = {
        str(goal["id"])
        for record in records
        if record.kind == "plan"
        for goal in record.data.get("goals", [])
        if isinstance(goal, dict) and "id" in goal
    }
    plain = {label for label in labels if _GOAL.fullmatch(label)}
    after = max((int(label[1:]) for label in plain), default=0)
    others = sorted(labels - plain)
    renamed = {old: f"g{after + number}" for number, old in enumerate(others, 1)}
    return {label: label for label in plain} | renamed


def _grouped_birth(records: list[Record], offset: int) -> str | None:
    """For a patient over 89 on the last day of their chart, the birth date that groups
    them as 90+ (see `grouped_birth_date`); None for everyone else."""
    patient = next((r for r in records if r.kind == "patient"), None)
    if patient is None:
        return None
    days = [str(patient.data["intake_date"])]
    for record in records:
        field_name = kinds.get(record.kind).date_field
        if record.kind != "patient" and field_name and field_name in record.data:
            days.append(str(record.data[field_name])[:10])
    if age_on(str(patient.data["date_of_birth"]), max(days)) <= AGE_LIMIT:
        return None
    return grouped_birth_date(shift_date(min(days), offset))


def _note_not_copied(store: Store, outcome: Outcome) -> None:
    """Count what the copy leaves out: documents sent, rendered output, own templates."""
    patients = store.root / "patients"
    if patients.is_dir():
        for sent in patients.glob(f"*/{SENT_DIR}"):
            outcome.not_copied["sent documents"] += sum(1 for p in sent.rglob("*") if p.is_file())
    for folder, what in ((RENDERED_DIR, "rendered documents"), (TEMPLATES_DIR, "store templates")):
        path = store.root / folder
        if path.is_dir():
            outcome.not_copied[what] += sum(1 for p in path.rglob("*") if p.is_file())
