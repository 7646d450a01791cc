"""The strict YAML dialect of SPEC §5: a loader that yields a record or a located
RecordError and nothing else, and a deterministic writer whose output reads back equal.

The pieces, in the order a file goes through them: `source` reads a regular file from disk,
`text` decodes it and refuses control characters, `prescan` refuses what the parsers would
misread, the parser (libyaml, or `fallback` without it) yields events, `load` builds the
record from them with the types of `core`. `dump` writes a record back.

Which parser runs is the module attribute `_Parser`; tests switch to the pure-Python one
with `monkeypatch.setattr(yamlio, "_Parser", yamlio.PythonParser)`.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from yaml import MarkedYAMLError, YAMLError

from medmassage.errors import RecordError
from medmassage.yamlio.core import json_path, resolve_plain
from medmassage.yamlio.dump import dump
from medmassage.yamlio.fallback import PythonParser
from medmassage.yamlio.load import MAX_DEPTH, Marks, build
from medmassage.yamlio.prescan import prescan, suspect
from medmassage.yamlio.source import read_file
from medmassage.yamlio.text import MAX_BYTES, decode, problem

try:  # libyaml is the fast path; the pure-Python parser is the fallback.
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _Parser = PythonParser  # type: ignore[misc,assignment]

# Both parsers give the same verdicts: what either one gets wrong is refused by the
# pre-scan before it reaches the parser.

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "Marks",
    "PythonParser",
    "decode",
    "dump",
    "field_marks",
    "json_path",
    "load_bytes",
    "load_file",
    "parse_text",
    "read_file",
    "resolve_plain",
]

# An anchor, alias or tag the parser cannot even scan is still refused for what it is.
_SCANNING = {
    "while scanning an anchor": "syntax/anchor",
    "while scanning an alias": "syntax/alias",
    "while scanning a tag": "syntax/tag",
}


def load_file(path: Path, name: str) -> dict[str, Any]:
    """Read and parse one record file. `name` is how problems refer to the file."""
    return parse_text(decode(read_file(path, name), name), name)


def load_bytes(data: bytes, name: str) -> dict[str, Any]:
    """Parse one record from bytes: a dict, or RecordError with file:line:col."""
    return parse_text(decode(data, name), name)


def parse_text(text: str, name: str, marks: Marks | None = None) -> dict[str, Any]:
    """Parse decoded text; when `marks` is given, fill it with every field's position."""
    if suspect(text):
        text = prescan(text, name)
    try:
        return build(_Parser(text), text, name, marks)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        rule = _SCANNING.get(exc.context or "", "syntax/invalid-yaml")
        raise problem(name, line, column, rule, message) from None
    except YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "invalid YAML"
        raise problem(name, 1, 1, "syntax/invalid-yaml", first) from None


def field_marks(text: str) -> Marks:
    """Positions of every field of a text known to parse (used only for files with problems)."""
    marks: Marks = {}
    with contextlib.suppress(RecordError):
        parse_text(text, "<marks>", marks)
    return marks
