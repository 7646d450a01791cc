"""Validation (SPEC §6): syntax → schema → layout → references → clinical rules.

Returns problems; never prints. Per-file work (read, parse, schema) is separate from
the cross-record rules so it can be spread over processes and cached."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import schema_loader as schemas
from .errors import Finding, Problem, RecordError
from .explain import explain
from .rules import RULES, Rule
from .store import FOLDER_OF, KINDS, PATIENT_SCOPED, Entry, Store
from .view import Record, StoreView
from .yamlio import decode, field_marks, json_path, load_file, read_file


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


def check_file(root: Path, entry: Entry, extensions: schemas.Extensions) -> FileResult:
    """Read, parse and schema-check one record file."""
    assert entry.kind is not None
    try:
        data = load_file(root / entry.rel, entry.rel)
    except RecordError as exc:
        return FileResult(entry.rel, None, False, problems=[exc.problem])
    result = FileResult(entry.rel, data, True)
    validator = schemas.validator(entry.kind, extensions)
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    if errors:
        result.valid = False
        elsewhere = _kind_it_fits(data, entry.kind, extensions)
        if elsewhere:
            result.findings.append(Finding(
                entry.rel, (), "layout/wrong-folder", "error",
                f"this is a {elsewhere} record in the {FOLDER_OF.get(entry.kind, entry.kind)} folder; "
                f"move it to the {FOLDER_OF.get(elsewhere, elsewhere)} folder",
            ))
        else:
            for error in errors:
                result.findings.extend(explain(entry.rel, error))
    record_id = data.get("id")
    if entry.kind != "settings" and isinstance(record_id, str) and record_id != entry.id:
        result.findings.append(Finding(
            entry.rel, ("id",), "layout/id-mismatch", "error",
            f"id {record_id!r} does not match the file name; it must be {entry.id!r}",
        ))
    return result


def _kind_it_fits(data: dict[str, Any], kind: str, extensions: schemas.Extensions) -> str | None:
    for other in KINDS:
        if other not in (kind, "settings") and schemas.validator(other, extensions).is_valid(data):
            return other
    return None


def _context(entries: list[Entry], targets: list[Entry]) -> list[Entry]:
    """The records the rules need to judge `targets`: shared records and the patients touched."""
    patients = {e.patient for e in targets if e.patient is not None}
    return [e for e in entries if e.kind is not None and (e.patient is None or e.patient in patients)]


def _key(entry: Entry) -> tuple[str, str | None, str]:
    kind = entry.kind or ""
    return (kind, entry.patient if kind in PATIENT_SCOPED else None, entry.id)


def validate_store(
    store: Store,
    only: Sequence[Path] | None = None,
    today: str | None = None,
    extra_rules: Iterable[Rule] = (),
) -> Report:
    """Check the store (or the files and folders in `only`) and return every problem."""
    entries = store.walk()
    targets = store.walk(only) if only else entries
    to_load = _context(entries, targets) if only else [e for e in entries if e.kind is not None]
    target_rels = {e.rel for e in targets}

    results: dict[str, FileResult] = {}
    settings_entry = next((e for e in to_load if e.kind == "settings"), None)
    extensions: schemas.Extensions = ()
    if settings_entry is not None:
        results[settings_entry.rel] = check_file(store.root, settings_entry, ())
        settings = results[settings_entry.rel]
        extensions = schemas.extensions_from(settings.data) if settings.valid else ()
    for entry in to_load:
        if entry.rel not in results:
            results[entry.rel] = check_file(store.root, entry, extensions)

    view = StoreView(today=today or dt.date.today().isoformat())
    view.existing = {_key(e) for e in entries if e.kind is not None}
    records: list[Record] = []
    for entry in to_load:
        result = results[entry.rel]
        if result.data is not None:
            record = Record(entry, result.data, result.valid)
            records.append(record)
            view.add(record)

    findings = [f for r in results.values() for f in r.findings]
    findings.extend(
        Finding(e.rel, (), e.rule, e.severity, e.message) for e in entries if e.kind is None and e.rule
    )
    for rule in (*RULES, *extra_rules):
        findings.extend(rule(view, records))

    problems = [p for r in results.values() for p in r.problems]
    problems.extend(locate(store.root, findings))
    problems = sorted({p for p in problems if p.file in target_rels})
    files = sum(1 for e in targets if e.kind is not None)
    return Report(files, problems, view)


def locate(root: Path, findings: list[Finding]) -> list[Problem]:
    """Give findings their line and column, re-reading only the files that have them."""
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
            problems.append(Problem(rel, line, column, json_path(f.path), f.rule, f.severity, f.message))
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
