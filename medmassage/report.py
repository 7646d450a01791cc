"""Everything printed about problems: text for people, JSON for programs, GitHub
workflow annotations for CI. Each writes to the stream it is given, and every command
that shows located problems (validate, render, create, sign, amend) formats them here."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TextIO

from medmassage.errors import Problem
from medmassage.validate import Report

Style = Callable[[str, str], str]  # (text, severity) -> maybe-coloured text


def _plain(text: str, severity: str) -> str:
    return text


def display_path(root: Path, rel: str) -> str:
    """A path people can click: relative to the working folder when under it."""
    full = root / rel
    try:
        return full.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return os.path.relpath(full) if not full.is_absolute() else full.as_posix()


def text_line(p: Problem, root: Path, style: Style = _plain) -> str:
    """One problem as `file:line:col: severity rule: message [path]`."""
    # <stdin> and other pseudo-files stay as they are; real files become clickable paths.
    name = p.file if p.file.startswith("<") else display_path(root, p.file)
    where = f"{name}:{p.line}:{p.column}"
    return f"{where}: {style(p.severity, p.severity)} {p.rule}: {p.message} [{p.path}]"


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
        "problems": [p.as_dict() for p in report.problems],
    }
    stream.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_line(problem: Problem, path: str) -> str:
    """One GitHub Actions workflow command for a problem."""
    level = "error" if problem.severity == "error" else "warning"
    props = (
        f"file={_escape_property(path)},line={problem.line},col={problem.column},"
        f"title={_escape_property(problem.rule)}"
    )
    return f"::{level} {props}::{_escape_data(problem.message + ' [' + problem.path + ']')}"


def report_github(report: Report, root: Path, stream: TextIO, style: Style = _plain) -> None:
    """Workflow annotations (paths relative to the working folder, as Actions expects)."""
    for p in report.problems:
        stream.write(github_line(p, display_path(root, p.file)) + "\n")
    stream.write(
        f"{report.files} files checked: {report.errors} errors, {report.warnings} warnings\n"
    )


REPORTERS: dict[str, Callable[[Report, Path, TextIO, Style], None]] = {
    "text": report_text,
    "json": report_json,
    "github": report_github,
}
