"""Validation (SPEC §6): syntax → schema → layout → references → clinical rules.

The one place that assembles the pipeline: walk the store, have its charts judged
(`judging`: files read and schema-checked, records put in a view, the rules run, the
findings located), and remember charts in the validation cache. `open_store` gives the
façade the other commands read through (render, sign, create, amend, and the queries);
`validate_store` and `validate_candidate` are its two common uses.
Returns problems; never prints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from medmassage import schema_loader as schemas
from medmassage.chart import Record, StoreView
from medmassage.checks import check_data, check_file, locate, locate_in
from medmassage.errors import Finding, MedmassageError, Problem
from medmassage.judging import (
    Shared,
    check_chart,
    check_shared,
    judge,
    key,
    load_chart,
    read_shared,
    run_charts,
)
from medmassage.rules import RULES, Rule
from medmassage.store import Entry, Store

__all__ = ["check_data", "check_file", "locate"]  # the per-file checks, re-exported


@dataclass
class Report:
    """The outcome of a validation run."""

    files: int
    problems: list[Problem]
    view: StoreView

    @property
    def errors(self) -> int:
        """How many problems are errors."""
        return sum(1 for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> int:
        """How many problems are warnings."""
        return sum(1 for p in self.problems if p.severity == "warning")

    def failed(self, strict: bool = False) -> bool:
        """True when the run should fail: errors, or with `strict` any warning."""
        return self.errors > 0 or (strict and self.warnings > 0)

    def problems_in(self, rel: str) -> list[Problem]:
        """The problems reported for one file."""
        return [p for p in self.problems if p.file == rel]


@dataclass
class Validation:
    """A store walked once with its validation cache open: charts judged one at a time
    (or all by `validate`) with the same rules and cache whoever asks. Nothing is read
    or judged until asked. Open one with `open_store`."""

    store: Store
    today: str
    entries: list[Entry]
    charts: dict[str, list[Entry]]  # patient -> the chart's record files
    layout: list[Problem]  # the walk's own findings (stray files, bad names)
    cache: Any  # store.cache.ChartCache
    rules: tuple[Rule, ...] = RULES
    _shared: tuple[Shared, list[Problem]] | None = None

    def cached(self, patient: str) -> list[Problem] | None:
        """The problems of an unchanged chart from the cache; None: judge it with `check_chart`."""
        found: list[Problem] = []
        return found if self.cache.reuse(patient, self.charts[patient], found) else None

    def identities(self, patient: str) -> dict[str, list[int] | None]:
        """The identities of a chart's files as `cached` looked them up, before any was read."""
        return self.cache.identities(self.charts[patient]) if patient in self.charts else {}

    def shared(self) -> Shared:
        """Settings, therapists and providers, read and checked once."""
        if self._shared is None:
            self._shared = check_shared(self.store.root, self.entries, self.today, self.rules)
        return self._shared[0]

    def shared_problems(self) -> list[Problem]:
        """The problems of the shared records (from the cache while their bytes are unchanged)."""
        if self._shared is None:
            cached = self.cache.shared_problems()
            if cached is not None:
                return list(cached)
            self.shared()
        assert self._shared is not None
        return self._shared[1]

    def view(self) -> StoreView:
        """A view of the shared records, for charts to be loaded into (render)."""
        return self.shared().view()

    def load(self, entry: Entry) -> Record | None:
        """One record, parsed and schema-checked but not judged (None: it does not parse)."""
        result = check_file(self.store.root, entry, self.shared().extensions)
        return Record(entry, result.data, result.valid) if result.data is not None else None

    def chart(self, patient: str) -> tuple[list[Problem], list[Record]]:
        """A chart's problems (from the cache when unchanged, else judged and remembered)
        and its records."""
        entries = self.charts.get(patient, [])
        if not entries:
            return [], []
        found = self.cached(patient)
        if found is not None:
            return found, load_chart(self.shared(), entries)
        found, records = check_chart(self.shared(), entries)
        self.remember(patient, found)
        return found, records

    def remember(self, patient: str, problems: list[Problem], summary: Any = None) -> None:
        """Remember a chart judged by `check_chart` (and what the queries keep of it)."""
        self.cache.store(patient, self.charts[patient], problems, summary)

    def summarized(self, patient: str) -> tuple[list[Problem], Any] | None:
        """An unchanged chart's problems and what the queries keep of it, from the cache;
        None: judge it (and summarize it) again."""
        found = self.cached(patient)
        summary = self.cache.summary(patient) if found is not None else None
        return None if found is None or summary is None else (found, summary)

    def save(self) -> None:
        """Write the validation cache: charts reused or judged, the ones not looked at as
        they were, and the shared problems."""
        from medmassage.store.cache import keep_unseen

        self.cache.store_shared(self.shared_problems())
        keep_unseen(self.cache, self.charts)
        self.cache.save()

    def validate(
        self, only: Sequence[Path] | None = None, jobs: int | None = 1, keep_view: bool = True
    ) -> Report:
        """Check the store (or the files and folders in `only`); see `validate_store`."""
        targets = self.store.walk(only) if only else self.entries
        target_rels = {e.rel for e in targets}
        patients = {e.patient for e in targets if e.patient is not None}
        problems = list(self.layout)
        todo: dict[str, list[Entry]] = {}
        for patient, chart in self.charts.items():
            if not only or patient in patients:
                found = self.cached(patient)
                if found is None:
                    todo[patient] = chart
                else:
                    problems.extend(found)
        view = StoreView(today=self.today)
        if todo or keep_view:
            view = self.view()
            view.existing.update(key(e) for e in self.entries if e.kind is not None)
            work = run_charts(self.shared(), todo, jobs if not keep_view else 1, keep_view)
            for patient, (found, records) in work:
                problems.extend(found)
                self.remember(patient, found)
                for record in records:
                    view.add(record)
        problems.extend(self.shared_problems())
        problems.extend(self.duplicate_patients())
        self.save()
        problems = sorted({p for p in problems if p.file in target_rels})
        if not only or any(e.kind == "settings" for e in targets):
            # schemas/ holds no records (the walk skips it): added after the filter.
            stale = schemas.stale_editor_schemas(self.store.root, self.cache.enabled)
            problems = sorted({*problems, *stale})
        return Report(sum(1 for e in targets if e.kind is not None), problems, view)

    def duplicate_patients(self) -> list[Problem]:
        """ref/duplicate-patient, judged on every run across charts: no chart's cache can
        know that another chart came or went. Who each patient is comes from the cache
        for an unchanged chart, else from one small file read (then cached)."""
        from medmassage.rules.references import check_duplicate_patients, person_digest
        from medmassage.yamlio import load_file

        found = []
        for patient, entries in self.charts.items():
            for entry in entries:
                if entry.kind != "patient":
                    continue
                known, person = self.cache.person(patient)
                if not known:
                    try:
                        person = person_digest(load_file(self.store.root / entry.rel, entry.rel))
                    except MedmassageError:
                        continue  # its own chart reports why it cannot be read
                    self.cache.remember_person(patient, person)
                found.append((entry.rel, patient, person))
        return [
            Problem(f.rel, 1, 1, "$", f.rule, f.severity, f.message)
            for f in check_duplicate_patients(found)
        ]

    def check_candidate(
        self, entry: Entry, data: dict[str, Any], text: str | None = None, name: str | None = None
    ) -> list[Problem]:
        """Every problem of one record not yet written, as `validate` would judge it once
        written as `entry`: schema, references and clinical rules. Located in `text` (what
        it came from, e.g. stdin) under `name`; by default its deterministic dump and rel."""
        others = [e for e in self.entries if e.rel != entry.rel]
        shared, _ = read_shared(
            self.store.root,
            others,
            self.today,
            self.rules,
            data if entry.kind == "settings" else None,
        )
        chart = [e for e in others if e.patient is not None and e.patient == entry.patient]
        shared = shared.compiling([chart])
        mine = check_data(entry, data, shared.extensions, shared.compiled)
        records = [*load_chart(shared, chart), Record(entry, data, mine.valid)]
        view = shared.view()
        view.existing = {key(e) for e in (*others, entry) if e.kind is not None}
        for record in records:
            view.add(record)
        findings = list(mine.findings)
        judged = judge(self.rules, view, [*shared.records, *records])
        findings.extend(f for f in judged if f.rel == entry.rel)
        if text is None:
            from medmassage.yamlio import dump

            text = dump(data) if data else ""
        return sorted(set(locate_in(text, findings, name or entry.rel)))


def open_store(
    store: Store, today: str | None = None, use_cache: bool = True, rules: tuple[Rule, ...] = RULES
) -> Validation:
    """Walk the store and open its validation cache; nothing is read or judged yet."""
    from medmassage.store.cache import ChartCache, shared_digest

    entries = store.walk()
    today = today or dt.date.today().isoformat()
    charts: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.patient is not None and (entry.kind is not None or not entry.rule):
            charts.setdefault(entry.patient, []).append(entry)  # records, and files sent
    shared_entries = [e for e in entries if e.kind is not None and e.patient is None]
    digest = shared_digest(store.root, shared_entries, today, rules) if use_cache else ""
    stray = [Finding(e.rel, (), e.rule, e.severity, e.message) for e in entries if e.kind is None]
    layout = locate(store.root, [f for f in stray if f.rule])
    cache = ChartCache(store.root, digest, enabled=use_cache)
    return Validation(store, today, entries, charts, layout, cache, rules)


def validate_store(
    store: Store,
    only: Sequence[Path] | None = None,
    today: str | None = None,
    extra_rules: Iterable[Rule] = (),
    jobs: int | None = 1,
    use_cache: bool = False,
    keep_view: bool = True,
) -> Report:
    """Check the store (or the files and folders in `only`) and return every problem.

    Charts (patient folders) are judged independently: in parallel over `jobs`
    processes (None: one per core), reusing cached results when `use_cache`, and
    keeping their records in `report.view` only when `keep_view` (memory grows with it)."""
    extra = tuple(extra_rules)
    cached = use_cache and not keep_view and not extra
    return open_store(store, today, cached, (*RULES, *extra)).validate(only, jobs, keep_view)


def validate_candidate(
    store: Store,
    entry: Entry,
    data: dict[str, Any],
    today: str | None = None,
    text: str | None = None,
    name: str | None = None,
) -> list[Problem]:
    """Every problem of one record not yet written (see `Validation.check_candidate`)."""
    return open_store(store, today, use_cache=False).check_candidate(entry, data, text, name)
