"""Judging charts: one patient's folder read, schema-checked (`checks`) and judged by
the rules, against the records every chart refers to (settings, therapists, providers:
`Shared`); many charts serially, or over worker processes when the work is large enough.
The validation façade (`medmassage.validate`) decides which charts to judge and caches
what they were found to hold; renderers and exports judge their charts here too."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from medmassage import kinds
from medmassage import schema_loader as schemas
from medmassage.chart import Record, StoreView
from medmassage.checks import FileResult, check_file, locate
from medmassage.errors import Finding, Problem
from medmassage.rules import Rule
from medmassage.store import Entry

_PATIENT_SCOPED = kinds.patient_scoped()


def key(entry: Entry) -> tuple[str, str | None, str]:
    """What a record is known by in a view: kind, patient (for a chart's records), id."""
    kind = entry.kind or ""
    return (kind, entry.patient if kind in _PATIENT_SCOPED else None, entry.id)


def judge(rules: Iterable[Rule], view: StoreView, records: list[Record]) -> list[Finding]:
    """What the rules find in `records`, looking up everything else in `view`."""
    return [finding for rule in rules for finding in rule(view, records)]


@dataclass
class Shared:
    """What judging any one chart needs from outside it: settings, therapists, providers.
    Picklable: process pools are handed one."""

    root: Path
    today: str
    extensions: schemas.Extensions
    records: list[Record]
    existing: set[tuple[str, str | None, str]]
    rules: tuple[Rule, ...]
    compiled: frozenset[str] = frozenset()  # kinds checked through the compiled fast path

    def compiling(self, charts: Iterable[Sequence[Entry]], processes: int = 1) -> Shared:
        """This, with the fast path for the kinds `charts` hold enough records of; compiled
        here already when the work is to be shared by forked processes, which inherit it."""
        compiled = schemas.worth_compiling(e.kind for chart in charts for e in chart)
        if processes > 1:
            for kind in compiled:
                schemas.fast_validator(kind, self.extensions)
        return replace(self, compiled=compiled)

    def view(self) -> StoreView:
        """A view holding the shared records, for charts to be added to."""
        view = StoreView(today=self.today, root=self.root)
        view.existing = set(self.existing)
        for record in self.records:
            view.add(record)
        return view


def check_chart(shared: Shared, entries: list[Entry]) -> tuple[list[Problem], list[Record]]:
    """Every problem in one patient's folder (its files and the rules across them)."""
    files = [e for e in entries if e.kind is not None]
    results = [check_file(shared.root, e, shared.extensions, shared.compiled) for e in files]
    view = shared.view()
    view.existing.update(key(e) for e in files)
    records = [
        Record(e, r.data, r.valid)
        for e, r in zip(files, results, strict=True)
        if r.data is not None
    ]
    for record in records:
        view.add(record)
    findings = [f for r in results for f in r.findings]
    findings.extend(judge(shared.rules, view, records))
    problems = [p for r in results for p in r.problems]
    problems.extend(locate(shared.root, findings))
    return problems, records


def load_chart(shared: Shared, entries: Sequence[Entry]) -> list[Record]:
    """The records of one chart, parsed and schema-checked but not judged by the rules
    (for a chart whose problems are already known)."""
    records = []
    for entry in entries:
        if entry.kind is not None:
            result = check_file(shared.root, entry, shared.extensions, shared.compiled)
            if result.data is not None:
                records.append(Record(entry, result.data, result.valid))
    return records


def read_shared(
    root: Path,
    entries: list[Entry],
    today: str,
    rules: tuple[Rule, ...],
    settings: dict[str, Any] | None = None,
) -> tuple[Shared, list[FileResult]]:
    """Read settings, therapists and providers (`entries`). Their vocabulary extensions
    come from the settings file, or from `settings` when those are being written."""
    mine = [e for e in entries if e.kind is not None and e.patient is None]
    results: dict[str, FileResult] = {}
    extensions: schemas.Extensions = ()
    if settings is not None:
        extensions = schemas.extensions_from(settings)
    else:
        settings_entry = next((e for e in mine if e.kind == "settings"), None)
        if settings_entry is not None:
            found = results[settings_entry.rel] = check_file(root, settings_entry, ())
            extensions = schemas.extensions_from(found.data) if found.valid else ()
    compiled = schemas.worth_compiling(e.kind for e in mine)
    for entry in mine:
        if entry.rel not in results:
            results[entry.rel] = check_file(root, entry, extensions, compiled)
    records = [
        Record(e, results[e.rel].data or {}, results[e.rel].valid)
        for e in mine
        if results[e.rel].data is not None
    ]
    shared = Shared(root, today, extensions, records, {key(e) for e in mine}, rules)
    return shared, list(results.values())


def check_shared(
    root: Path, entries: list[Entry], today: str, rules: tuple[Rule, ...]
) -> tuple[Shared, list[Problem]]:
    """Check settings, therapists and providers, which every chart refers to."""
    shared, results = read_shared(root, entries, today, rules)
    findings = [f for r in results for f in r.findings]
    findings.extend(judge(rules, shared.view(), shared.records))
    problems = [p for r in results for p in r.problems]
    return shared, problems + locate(root, findings)


def run_charts(
    shared: Shared, charts: dict[str, list[Entry]], jobs: int | None, keep: bool
) -> Iterator[tuple[str, tuple[list[Problem], list[Record]]]]:
    """Judge charts serially, or over a process pool when the work is large enough."""
    jobs = jobs or os.cpu_count() or 1
    files = sum(len(chart) for chart in charts.values())
    parallel = jobs > 1 and files >= 400
    shared = shared.compiling(charts.values(), jobs if parallel else 1)
    if not parallel:
        for patient in sorted(charts):
            found, records = check_chart(shared, charts[patient])
            yield patient, (found, records if keep else [])
        return
    from medmassage.workers import worker_pool

    names = sorted(charts)
    size = max(1, len(names) // (jobs * 8))
    batches = [[(p, charts[p]) for p in names[i : i + size]] for i in range(0, len(names), size)]
    with worker_pool(jobs, _init_worker, (shared,)) as pool:
        for batch in pool.map(_check_batch, batches):
            for patient, found in batch:
                yield patient, (found, [])


_WORKER_SHARED: Shared | None = None


def _init_worker(shared: Shared) -> None:
    global _WORKER_SHARED
    _WORKER_SHARED = shared


def _check_batch(batch: list[tuple[str, list[Entry]]]) -> list[tuple[str, list[Problem]]]:
    assert _WORKER_SHARED is not None
    return [(patient, check_chart(_WORKER_SHARED, chart)[0]) for patient, chart in batch]
