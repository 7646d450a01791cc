"""The per-file half of validation: read, parse and schema-check one record file, and
give findings their line and column. The cross-record half (views, rules, caches,
processes) is assembled in `validate`, the one place that does so."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmassage import kinds
from medmassage import schema_loader as schemas
from medmassage.errors import Finding, Problem, RecordError
from medmassage.store import Entry
from medmassage.store.ids import is_valid_id


@dataclass
class FileResult:
    """What the per-file checks found: the data (None when it did not parse) and findings."""

    rel: str
    data: dict[str, Any] | None
    valid: bool
    findings: list[Finding] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)  # already located (syntax)


def check_file(
    root: Path, entry: Entry, extensions: schemas.Extensions, compiled: frozenset[str] = frozenset()
) -> FileResult:
    """Read, parse and schema-check one record file (see `check_data` for `compiled`)."""
    # Imported here: an unchanged store is answered without YAML.
    from medmassage.yamlio import load_file

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
                # Quote the id only when it is id-shaped: anything else may be free text.
                f"id {repr(record_id) if is_valid_id(record_id) else '(not an id)'} does not "
                f"match the file name; it must be {entry.id!r}",
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
                f"this is a {elsewhere} record in the {_folder(entry.kind or '')} folder; "
                f"move it to the {_folder(elsewhere)} folder",
            )
        ]
    return [finding for error in errors for finding in explain(entry.rel, error)]


def _folder(name: str) -> str:
    kind = kinds.find(name)
    return kind.folder if kind is not None and kind.folder else name


def _kind_it_fits(data: dict[str, Any], kind: str, extensions: schemas.Extensions) -> str | None:
    # jsonschema decides, whichever kinds are compiled: the fast path may reject what
    # jsonschema accepts (never the reverse), and here its word would be final.
    for other in kinds.names():
        if other not in (kind, "settings") and schemas.accepts(
            other, extensions, data, compiled=False
        ):
            return other
    return None


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


def locate_in(source: str, findings: list[Finding], name: str) -> list[Problem]:
    """Give the findings of one record not yet written their place in `source` (the text
    it came from), under the file name `name`."""
    from medmassage.yamlio import field_marks, json_path

    marks = field_marks(source) if findings else {}
    return [
        Problem(
            name,
            *_position(marks, f.path, f.at_key),
            json_path(f.path),
            f.rule,
            f.severity,
            f.message,
        )
        for f in findings
    ]


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
