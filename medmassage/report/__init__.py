"""Everything printed about problems: text for people, JSON for programs, GitHub
workflow annotations for CI. Each writes to the stream it is given, and every command
that shows located problems (validate, render, create, sign, amend) formats them here.
The tables of `list`, `show` and `progress` are in `medmassage.report.tables`."""

from __future__ import annotations

import json
import os
import re
import shlex
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, TextIO

from medmassage.errors import Problem
from medmassage.validate import Report

Style = Callable[[str, str], str]  # (text, severity) -> maybe-coloured text

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _plain(text: str, severity: str) -> str:
    return text


def escape(text: str, keep: str = "") -> str:
    """Text echoed from a store (file names, keys, field paths, values) made inert: a
    control or format character (escape, newline, a bidi override) is shown as `\\x1b`,
    `\\n`, `\\u202e`, and a byte that is not UTF-8 (a lone surrogate from the OS) as
    `\\xe9`, so no name can drive the terminal, forge a line of output or crash a report.
    Characters in `keep` are left for a format's own escaping (GitHub's %0A)."""
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() or char in keep else _escaped(char) for char in text)


def _escaped(char: str) -> str:
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if 0xDC80 <= code <= 0xDCFF:  # os.fsdecode's stand-in for the raw byte code - 0xDC00
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def display_path(root: Path, rel: str) -> str:
    """A path people can click, escaped: relative to the working folder when under it."""
    full = root / rel
    try:
        shown = full.relative_to(Path.cwd()).as_posix()
    except ValueError:
        shown = os.path.relpath(full) if not full.is_absolute() else full.as_posix()
    return escape(shown)


def _escaped_problem(p: Problem, keep: str = "") -> Problem:
    """Every echoed text of a problem escaped (the file name as it is relative to the store)."""
    return p._replace(
        file=escape(p.file, keep),
        path=escape(p.path, keep),
        rule=escape(p.rule, keep),
        message=escape(p.message, keep),
    )


def text_line(p: Problem, root: Path, style: Style = _plain) -> str:
    """One problem as `file:line:col: severity rule: message [path]`, escaped."""
    # <stdin> and other pseudo-files stay as they are; real files become clickable paths.
    name = escape(p.file) if p.file.startswith("<") else display_path(root, p.file)
    where = f"{name}:{p.line}:{p.column}"
    e = _escaped_problem(p)
    return f"{where}: {style(p.severity, p.severity)} {e.rule}: {e.message} [{e.path}]"


_COMMANDS = re.compile(r"\bmedmassage (?=(?:validate|create|render|sign|amend|log|schema|init)\b)")


def with_root(text: str, root: str | None) -> str:
    """`text` with every medmassage command it suggests given `--root ROOT`, the folder
    the user named, so a fix command can be pasted as it is (unchanged when None)."""
    if root is None:
        return text
    return _COMMANDS.sub(lambda m: f"medmassage --root {shlex.quote(root)} ", text)


def with_root_all(problems: Iterable[Problem], root: str | None) -> list[Problem]:
    """Problems whose messages' fix commands carry `--root ROOT` (see `with_root`)."""
    return [p._replace(message=with_root(p.message, root)) for p in problems]


def for_display(report: Report, root: Path, show_values: bool, given_root: str | None) -> Report:
    """The report as `validate` prints it: fix commands carrying the user's --root, and
    with `show_values` each field's value appended (see `with_values`)."""
    import dataclasses

    problems = with_root_all(report.problems, given_root)
    return dataclasses.replace(
        report, problems=with_values(problems, root) if show_values else problems
    )


def with_values(problems: Iterable[Problem], root: Path) -> list[Problem]:
    """`validate --show-values`, for a local screen only: each problem about a field
    holding a plain value (text, number, true/false) gets that value appended, escaped.
    The values are read back from the files, so no cache or worker ever holds them."""
    leaves: dict[str, dict[str, Any]] = {}
    shown: list[Problem] = []
    for p in problems:
        if p.file not in leaves:
            leaves[p.file] = _leaves(root, p.file)
        value = leaves[p.file].get(p.path)
        if value is None:
            shown.append(p)
            continue
        quoted = f"'{value}'" if isinstance(value, str) else json.dumps(value)
        shown.append(p._replace(message=f"{p.message} (value: {escape(quoted)})"))
    return shown


def _leaves(root: Path, rel: str) -> dict[str, Any]:
    """Every plain value of a record by its field path ($.a.b[0]); empty if unreadable."""
    from medmassage.errors import MedmassageError
    from medmassage.yamlio import json_path, load_file

    if rel.startswith("<"):
        return {}
    try:
        data: Any = load_file(root / rel, rel)
    except (MedmassageError, OSError, ValueError):
        return {}
    found: dict[str, Any] = {}
    stack: list[tuple[tuple[str | int, ...], Any]] = [((), data)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            stack.extend(((*path, key), child) for key, child in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, index), child) for index, child in enumerate(node))
        elif node is not None:
            found[json_path(path)] = node
    return found


def report_problems(
    problems: Iterable[Problem], root: Path, stream: TextIO, style: Style = _plain
) -> None:
    """Located problems, one `text_line` each, with no summary (for commands that
    refuse records: render, create, sign, amend; they print to stderr)."""
    for p in problems:
        stream.write(text_line(p, root, style) + "\n")


def report_text(report: Report, root: Path, stream: TextIO, style: Style = _plain) -> None:
    """`file:line:col: severity rule: message`, one per line, then a summary."""
    report_problems(report.problems, root, stream, style)
    summary = (
        f"{report.files} file{'s' if report.files != 1 else ''} checked: "
        f"{report.errors} error{'s' if report.errors != 1 else ''}, "
        f"{report.warnings} warning{'s' if report.warnings != 1 else ''}"
    )
    stream.write(
        style(summary, "error" if report.errors else ("warning" if report.warnings else "ok"))
        + "\n"
    )


def report_json(report: Report, root: Path, stream: TextIO, style: Style = _plain) -> None:
    """Exactly one JSON object: {"ok", "files", "problems": [...]}, files relative to the store."""
    document = {
        "ok": report.errors == 0,
        "files": report.files,
        "problems": [_escaped_problem(p).as_dict() for p in report.problems],
    }
    stream.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_line(problem: Problem, path: str) -> str:
    """One GitHub Actions workflow command for a problem (its texts escaped, so none can
    end the command or start another)."""
    level = "error" if problem.severity == "error" else "warning"
    e = _escaped_problem(problem, keep="\r\n")  # GitHub's %0D%0A: a line break, not a command
    props = (
        f"file={_escape_property(escape(path))},line={problem.line},col={problem.column},"
        f"title={_escape_property(e.rule)}"
    )
    return f"::{level} {props}::{_escape_data(e.message + ' [' + e.path + ']')}"


def annotation_base(root: Path) -> Path:
    """Where Actions resolves annotation paths from: $GITHUB_WORKSPACE when set, else the
    top of the git work tree holding the store, else the working folder (so a step with
    `working-directory:` still places them on the right file)."""
    workspace = os.environ.get("GITHUB_WORKSPACE")
    if workspace:
        return Path(workspace).resolve()
    from medmassage.store.git import work_tree

    top = work_tree(root)
    return top.resolve() if top is not None else Path.cwd()


def annotation_path(root: Path, rel: str, base: Path) -> str:
    """A file's path as an annotation names it: relative to `base`, with / separators."""
    return Path(os.path.relpath(root.resolve() / rel, base)).as_posix()


def report_github(report: Report, root: Path, stream: TextIO, style: Style = _plain) -> None:
    """Workflow annotations, paths relative to the repository root (`annotation_base`)."""
    base = annotation_base(root) if report.problems else Path.cwd()
    for p in report.problems:
        name = p.file if p.file.startswith("<") else annotation_path(root, p.file, base)
        stream.write(github_line(p, name) + "\n")
    stream.write(
        f"{report.files} files checked: {report.errors} errors, {report.warnings} warnings\n"
    )


REPORTERS: dict[str, Callable[[Report, Path, TextIO, Style], None]] = {
    "text": report_text,
    "json": report_json,
    "github": report_github,
}
