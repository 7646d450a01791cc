"""Validation (SPEC §6): syntax → schema → layout → references → clinical rules.

Returns problems; never prints. Per-file work (read, parse, schema) is separate from
the cross-record rules so it can be spread over processes and cached."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from medmassage import schema_loader as schemas
from medmassage.chart import Record, StoreView
from medmassage.errors import Finding, Problem, RecordError
from medmassage.rules import RULES, Rule
from medmassage.store import FOLDER_OF, KINDS, PATIENT_SCOPED, Entry, Store


@dataclass
class FileResult:
    """What the per-file checks found: the data (None when it did not parse) and findings."""

    rel: str
    data: dict[str, Any] | None
    valid: bool
    findings: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # already located (syntax)


@dataclass
class Report:
    """The outcome of a validation run."""

    files: int
    problems: list[Problem]
    view: StoreView

    @property
    def errors(self) -> int:
        return sum(1 for p in self.problems if p.severity == "error")

    @property
    def warnings(self) -> int:
        return sum(1 for p in self.problems if p.severity == "warning")

    def failed(self, strict: bool = False) -> bool:
        """True when the run should fail: errors, or with `strict` any warning."""
        return self.errors > 0 or (strict and self.warnings > 0)

    def problems_in(self, rel: str) -> list[Problem]:
        """The problems reported for one file."""
        return [p for p in self.problems if p.file == rel]


def check_file(
    root: Path, entry: Entry, extensions: schemas.Extensions, compiled: frozenset[str] = frozenset()
) -> FileResult:
    """Read, parse and schema-check one record file (see `check_data` for `compiled`)."""
    from medmassage.yamlio import (
        load_file,
    )  # imported here: an unchanged store is answered without YAML

    try:
        data = load_file(root / entry.rel, entry.rel)
    except RecordError as exc:
        return FileResult(entry.rel, None, False, problems=[exc.problem])
    return check_data(entry, data, extensions, compiled)


def check_data(
    entry: Entry,
    data: dict[str, Any],
    extensions: schemas.Extensions,
    compiled: frozenset[str] = frozenset(),
) -> FileResult:
    """Schema-check one parsed record. For the kinds in `compiled` (many records to check)
    a compiled validator decides and jsonschema explains failures; for the rest jsonschema
    alone judges, as compiling would cost more than it saves. The answers are the same."""
    assert entry.kind is not None
    result = FileResult(entry.rel, data, True)
    if not schemas.accepts(entry.kind, extensions, data, entry.kind in compiled):
        validator = schemas.validator(entry.kind, extensions)
        errors = sorted(
            validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path]
        )
        if errors:
            result.valid = False
            result.findings.extend(_explain_all(entry, data, errors, extensions))
    record_id = data.get("id")
    if entry.kind != "settings" and isinstance(record_id, str) and record_id != entry.id:
        result.findings.append(
            Finding(
                entry.rel,
                ("id",),
                "layout/id-mismatch",
                "error",
                f"id {record_id!r} does not match the file name; it must be {entry.id!r}",
            )
        )
    return result


def _explain_all(
    entry: Entry, data: dict[str, Any], errors: list[Any], extensions: schemas.Extensions
) -> list[Finding]:
    from medmassage.explain import explain

    elsewhere = _kind_it_fits(data, entry.kind or "", extensions)
    if elsewhere:
        return [
            Finding(
                entry.rel,
                (),
                "layout/wrong-folder",
                "error",
                f"this is a {elsewhere} record in the {FOLDER_OF.get(entry.kind or '', entry.kind)} folder; "
                f"move it to the {FOLDER_OF.get(elsewhere, elsewhere)} folder",
            )
        ]
    return [finding for error in errors for finding in explain(entry.rel, error)]


def _kind_it_fits(data: dict[str, Any], kind: str, extensions: schemas.Extensions) -> str | None:
    # jsonschema decides, whichever kinds are compiled: the fast path may reject what
    # jsonschema accepts (never the reverse), and here its word would be final.
    for other in KINDS:
        if other not in (kind, "settings") and schemas.accepts(
            other, extensions, data, compiled=False
        ):
            return other
    return None


def _context(entries: list[Entry], targets: list[Entry]) -> list[Entry]:
    """The records the rules need to judge `targets`: shared records and the patients touched."""
    patients = {e.patient for e in targets if e.patient is not None}
    return [
        e for e in entries if e.kind is not None and (e.patient is None or e.patient in patients)
    ]


def _key(entry: Entry) -> tuple[str, str | None, str]:
    kind = entry.kind or ""
    return (kind, entry.patient if kind in PATIENT_SCOPED else None, entry.id)


@dataclass
class Shared:
    """What judging any one chart needs from outside it: settings, therapists, providers."""

    root: Path
    today: str
    extensions: schemas.Extensions
    records: list[Record]
    existing: set[tuple[str, str | None, str]]
    rules: tuple[Rule, ...]
    compiled: frozenset[str] = frozenset()  # kinds checked through the compiled fast path

    def compiling(self, charts: Iterable[list[Entry]], processes: int = 1) -> Shared:
        """This, with the fast path for the kinds `charts` hold enough records of; compiled
        here already when the work is to be shared by forked processes, which inherit it."""
        compiled = schemas.worth_compiling(e.kind for chart in charts for e in chart)
        if processes > 1:
            for kind in compiled:
                schemas.fast_validator(kind, self.extensions)
        return replace(self, compiled=compiled)


def check_chart(shared: Shared, entries: list[Entry]) -> tuple[list[Problem], list[Record]]:
    """Every problem in one patient's folder (its files and the rules across them)."""
    files = [e for e in entries if e.kind is not None]
    results = [check_file(shared.root, e, shared.extensions, shared.compiled) for e in files]
    view = StoreView(today=shared.today)
    view.existing = shared.existing | {_key(e) for e in entries if e.kind is not None}
    for record in shared.records:
        view.add(record)
    records = [
        Record(e, r.data, r.valid)
        for e, r in zip(files, results, strict=True)
        if r.data is not None
    ]
    for record in records:
        view.add(record)
    findings = [f for r in results for f in r.findings]
    for rule in shared.rules:
        findings.extend(rule(view, records))
    problems = [p for r in results for p in r.problems]
    problems.extend(locate(shared.root, findings))
    return problems, records


def _check_shared(
    store: Store, entries: list[Entry], today: str, rules: tuple[Rule, ...]
) -> tuple[Shared, list[Problem]]:
    """Check settings, therapists and providers, which every chart refers to."""
    mine = [e for e in entries if e.kind is not None and e.patient is None]
    settings_entry = next((e for e in mine if e.kind == "settings"), None)
    results: dict[str, FileResult] = {}
    extensions: schemas.Extensions = ()
    if settings_entry is not None:
        settings = results[settings_entry.rel] = check_file(store.root, settings_entry, ())
        extensions = schemas.extensions_from(settings.data) if settings.valid else ()
    compiled = schemas.worth_compiling(e.kind for e in mine)
    for entry in mine:
        if entry.rel not in results:
            results[entry.rel] = check_file(store.root, entry, extensions, compiled)
    records = [
        Record(e, results[e.rel].data or {}, results[e.rel].valid)
        for e in mine
        if results[e.rel].data is not None
    ]
    shared = Shared(store.root, today, extensions, records, {_key(e) for e in mine}, rules)
    view = StoreView(today=today)
    view.existing = shared.existing
    for record in records:
        view.add(record)
    findings = [f for r in results.values() for f in r.findings]
    findings.extend(f for rule in rules for f in rule(view, records))
    problems = [p for r in results.values() for p in r.problems]
    return shared, problems + locate(store.root, findings)


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
    survey = survey_store(
        store, today, use_cache and not keep_view and not extra_rules, (*RULES, *extra_rules)
    )
    targets = store.walk(only) if only else survey.entries
    target_rels = {e.rel for e in targets}
    patients = {e.patient for e in targets if e.patient is not None}
    problems = list(survey.layout)
    todo: dict[str, list[Entry]] = {}
    for patient, chart in survey.charts.items():
        if not only or patient in patients:
            found = survey.cached(patient)
            if found is None:
                todo[patient] = chart
            else:
                problems.extend(found)
    view = StoreView(today=survey.today)
    if todo or keep_view:
        shared = survey.shared()
        view.existing = shared.existing | {_key(e) for e in survey.entries if e.kind is not None}
        for record in shared.records:
            view.add(record)
        for patient, (found, records) in _run_charts(
            shared, todo, jobs if not keep_view else 1, keep_view
        ):
            problems.extend(found)
            survey.record(patient, found)
            for record in records:
                view.add(record)
    problems.extend(survey.shared_problems())
    survey.save()
    problems = sorted({p for p in problems if p.file in target_rels})
    return Report(sum(1 for e in targets if e.kind is not None), problems, view)


def _run_charts(
    shared: Shared, charts: dict[str, list[Entry]], jobs: int | None, keep: bool
) -> Iterable[tuple[str, tuple[list[Problem], list[Record]]]]:
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
    from concurrent.futures import ProcessPoolExecutor

    names = sorted(charts)
    size = max(1, len(names) // (jobs * 8))
    batches = [[(p, charts[p]) for p in names[i : i + size]] for i in range(0, len(names), size)]
    with ProcessPoolExecutor(
        max_workers=jobs, initializer=_init_worker, initargs=(shared,)
    ) as pool:
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


def locate(root: Path, findings: list[Finding]) -> list[Problem]:
    """Give findings their line and column, re-reading only the files that have them."""
    if not findings:
        return []  # and no YAML to import
    from medmassage.yamlio import decode, field_marks, json_path, read_file

    by_file: dict[str, list[Finding]] = {}
    for finding in findings:
        by_file.setdefault(finding.rel, []).append(finding)
    problems = []
    for rel, items in by_file.items():
        marks: dict[Any, Any] = {}
        if any(f.path for f in items):
            try:
                marks = field_marks(decode(read_file(root / rel, rel), rel))
            except RecordError:
                marks = {}
        for f in items:
            line, column = _position(marks, f.path, f.at_key)
            problems.append(
                Problem(rel, line, column, json_path(f.path), f.rule, f.severity, f.message)
            )
    return problems


def _position(marks: dict[Any, Any], path: tuple[str | int, ...], at_key: bool) -> tuple[int, int]:
    if path in marks:
        value_line, value_col, key_line, key_col = marks[path]
        return (key_line, key_col) if at_key else (value_line, value_col)
    # A missing field: point at the mapping that should hold it (its key, or line 1).
    for cut in range(len(path) - 1, -1, -1):
        prefix = path[:cut]
        if prefix in marks:
            return marks[prefix][2], marks[prefix][3]
    return 1, 1


def validate_candidate(
    store: Store,
    entry: Entry,
    data: dict[str, Any],
    today: str | None = None,
    text: str | None = None,
    name: str | None = None,
) -> list[Problem]:
    """Every problem of one record not yet written, judged in the store as `validate_store`
    would judge it once written as `entry`: schema, references and clinical rules.

    Problems are located in `text` (the input the record came from, e.g. stdin) and
    carry `name` as their file; by default the record's deterministic dump and entry.rel."""
    from medmassage.yamlio import dump, field_marks, json_path

    entries = [e for e in store.walk() if e.rel != entry.rel]
    to_load = _context(entries, [entry])
    results: dict[str, FileResult] = {}
    extensions: schemas.Extensions = ()
    if entry.kind == "settings":
        extensions = schemas.extensions_from(data)
    else:
        settings_entry = next((e for e in to_load if e.kind == "settings"), None)
        if settings_entry is not None:
            results[settings_entry.rel] = check_file(store.root, settings_entry, ())
            settings = results[settings_entry.rel]
            extensions = schemas.extensions_from(settings.data) if settings.valid else ()
    compiled = schemas.worth_compiling(e.kind for e in to_load)
    for other in to_load:
        if other.rel not in results:
            results[other.rel] = check_file(store.root, other, extensions, compiled)
    mine = check_data(entry, data, extensions, compiled)

    view = StoreView(today=today or dt.date.today().isoformat())
    view.existing = {_key(e) for e in (*entries, entry) if e.kind is not None}
    records = [
        Record(e, results[e.rel].data or {}, results[e.rel].valid)
        for e in to_load
        if results[e.rel].data is not None
    ]
    records.append(Record(entry, data, mine.valid))
    for record in records:
        view.add(record)

    findings = list(mine.findings)
    for rule in RULES:
        findings.extend(f for f in rule(view, records) if f.rel == entry.rel)
    source = text if text is not None else (dump(data) if data else "")
    marks = field_marks(source) if findings else {}
    located = [
        Problem(
            name or entry.rel,
            *_position(marks, f.path, f.at_key),
            json_path(f.path),
            f.rule,
            f.severity,
            f.message,
        )
        for f in findings
    ]
    return sorted(set(located))


# -- chart by chart, for commands that do more with each chart (render) ----------------


@dataclass
class Survey:
    """A store walked once, its charts to be judged one at a time through the validation
    cache, as `validate_store` judges them (same rules, same cache), by callers that do
    more with each chart than validate does (render)."""

    store: Store
    today: str
    entries: list[Entry]
    charts: dict[str, list[Entry]]  # patient -> the chart's record files
    layout: list[Problem]  # the walk's own findings (stray files, bad names)
    cache: Any  # cache.ChartCache
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
            self._shared = _check_shared(self.store, self.entries, self.today, self.rules)
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

    def record(self, patient: str, problems: list[Problem]) -> None:
        """Remember a chart judged by `check_chart`."""
        self.cache.store(patient, self.charts[patient], problems)

    def save(self) -> None:
        """Write the validation cache: charts reused or judged, the ones not looked at as
        they were, and the shared problems."""
        from medmassage.store.cache import keep_unseen

        self.cache.store_shared(self.shared_problems())
        keep_unseen(self.cache, self.charts)
        self.cache.save()


def survey_store(
    store: Store, today: str | None = None, use_cache: bool = True, rules: tuple[Rule, ...] = RULES
) -> Survey:
    """Walk the store and open its validation cache; nothing is read or judged yet."""
    from medmassage.store.cache import ChartCache, shared_digest

    entries = store.walk()
    today = today or dt.date.today().isoformat()
    charts: dict[str, list[Entry]] = {}
    for entry in entries:
        if entry.patient is not None and entry.kind is not None:
            charts.setdefault(entry.patient, []).append(entry)
    shared_entries = [e for e in entries if e.kind is not None and e.patient is None]
    digest = shared_digest(store.root, shared_entries, today, rules) if use_cache else ""
    layout = locate(
        store.root,
        [
            Finding(e.rel, (), e.rule, e.severity, e.message)
            for e in entries
            if e.kind is None and e.rule
        ],
    )
    return Survey(
        store,
        today,
        entries,
        charts,
        layout,
        ChartCache(store.root, digest, enabled=use_cache),
        rules,
    )


def load_chart(shared: Shared, entries: list[Entry]) -> list[Record]:
    """The records of one chart, parsed and schema-checked but not judged by the rules
    (for a chart whose problems are already known)."""
    records = []
    for entry in entries:
        if entry.kind is not None:
            result = check_file(shared.root, entry, shared.extensions, shared.compiled)
            if result.data is not None:
                records.append(Record(entry, result.data, result.valid))
    return records
