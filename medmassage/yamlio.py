"""The strict YAML dialect of SPEC §5: a loader that yields a record or a located
RecordError and nothing else, and a deterministic writer whose output reads back equal.

The loader drives libyaml's C parser event by event and builds plain dicts, lists and
scalars itself. That keeps libyaml's speed while avoiding PyYAML's recursive composer
(which overflows the C stack on deep nesting) and its YAML 1.1 constructors (which
raise arbitrary exceptions and turn `no` into False and dates into date objects).
"""

from __future__ import annotations

import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from yaml import MarkedYAMLError, YAMLError
from yaml import events as ev

from medmassage.errors import Problem, RecordError

try:  # libyaml is the fast path; the pure-Python parser is the fallback.
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml.parser import Parser as _PyParser
    from yaml.reader import Reader
    from yaml.scanner import Scanner

    class _Parser(Reader, Scanner, _PyParser):  # type: ignore[no-redef]
        def __init__(self, stream: str) -> None:
            Reader.__init__(self, stream)
            Scanner.__init__(self)
            _PyParser.__init__(self)


MAX_BYTES = 1024 * 1024
MAX_DEPTH = 32

Path_ = tuple[str | int, ...]
# path -> (value line, value column, key line, key column), all 1-based
Marks = dict[Path_, tuple[int, int, int, int]]

_NULLS = frozenset(("", "~", "null", "Null", "NULL"))
_BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
# YAML 1.2 core numbers, but a leading zero keeps text as text: `012` is a code, not twelve.
_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
# Allowed by neither YAML nor a careful editor: C0/C1 controls, DEL, stray BOMs,
# non-characters, and Unicode line separators that would shift line numbers.
_FORBIDDEN = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff\u2028\u2029]")


def resolve_plain(text: str) -> Any:
    """Type of a plain (unquoted) scalar under the YAML 1.2 core schema."""
    if text in _NULLS:
        return None
    if text in _BOOLS:
        return _BOOLS[text]
    if text[0] in "0123456789+-." and len(text) < 400:
        if _INT.fullmatch(text):
            return int(text)
        if _FLOAT.fullmatch(text):
            number = float(text)
            return number if math.isfinite(number) else text
    return text


def _problem(
    name: str, line: int, column: int, rule: str, message: str, path: str = "$"
) -> RecordError:
    return RecordError(Problem(name, line, column, path, rule, "error", message))


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def decode(data: bytes, name: str) -> str:
    """Bytes to text, refusing oversize files, bad UTF-8 and control characters."""
    if len(data) > MAX_BYTES:
        raise _problem(
            name,
            1,
            1,
            "syntax/too-large",
            f"file is {len(data)} bytes; records are at most {MAX_BYTES} bytes",
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8", "replace")
        line, column = _position(prefix, len(prefix))
        raise _problem(
            name,
            line,
            column,
            "syntax/encoding",
            f"byte 0x{data[exc.start]:02x} is not valid UTF-8; save the file as UTF-8",
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    bad = _FORBIDDEN.search(text)
    if bad:
        line, column = _position(text, bad.start())
        raise _problem(
            name,
            line,
            column,
            "syntax/control-character",
            f"control character U+{ord(bad.group()):04X} is not allowed in a record",
        )
    return text


def read_file(path: Path, name: str) -> bytes:
    """The bytes of a regular file of at most MAX_BYTES, or a located RecordError."""
    try:
        with open(path, "rb") as handle:
            info = os.fstat(handle.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise _problem(name, 1, 1, "syntax/unreadable", "not a regular file")
            if info.st_size > MAX_BYTES:
                raise _problem(
                    name,
                    1,
                    1,
                    "syntax/too-large",
                    f"file is {info.st_size} bytes; records are at most {MAX_BYTES} bytes",
                )
            return handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise _problem(
            name, 1, 1, "syntax/unreadable", f"cannot read file: {exc.strerror or exc}"
        ) from None


def load_file(path: Path, name: str) -> dict[str, Any]:
    """Read and parse one record file. `name` is how problems refer to the file."""
    return load_bytes(read_file(path, name), name)


def load_bytes(data: bytes, name: str) -> dict[str, Any]:
    """Parse one record from bytes: a dict, or RecordError with file:line:col."""
    return parse_text(decode(data, name), name)


def parse_text(text: str, name: str, marks: Marks | None = None) -> dict[str, Any]:
    """Parse decoded text; when `marks` is given, fill it with every field's position."""
    parser = _Parser(text)
    try:
        return _build(parser, name, marks)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        raise _problem(name, line, column, "syntax/invalid-yaml", message) from None
    except YAMLError as exc:
        raise _problem(
            name,
            1,
            1,
            "syntax/invalid-yaml",
            str(exc).splitlines()[0] if str(exc) else "invalid YAML",
        ) from None


def field_marks(text: str) -> Marks:
    """Positions of every field of a text already known to parse (used only for files with problems)."""
    marks: Marks = {}
    parser_name = "<marks>"
    try:
        parse_text(text, parser_name, marks)
    except RecordError:
        pass
    return marks


class _Frame:
    __slots__ = ("container", "key", "key_lines", "key_mark", "path")

    def __init__(self, container: dict[str, Any] | list[Any], path: Path_) -> None:
        self.container = container
        self.key: str | None = None
        self.key_mark: tuple[int, int] = (0, 0)
        self.path = path
        self.key_lines: dict[str, int] = {}


def _check_node(event: Any, name: str) -> None:
    mark = event.start_mark
    if event.anchor is not None:
        raise _problem(
            name,
            mark.line + 1,
            mark.column + 1,
            "syntax/anchor",
            f"anchor '&{event.anchor}' is not allowed; write the value out in full",
        )
    if event.tag is not None:
        raise _problem(
            name,
            mark.line + 1,
            mark.column + 1,
            "syntax/tag",
            f"explicit tag '{event.tag}' is not allowed; records use plain values",
        )


def _build(parser: Any, name: str, marks: Marks | None) -> dict[str, Any]:
    stack: list[_Frame] = []
    root: Any = None
    documents = 0
    while True:
        event = parser.get_event()
        kind = type(event)
        mark = event.start_mark
        if kind is ev.ScalarEvent:
            _check_node(event, name)
            value: Any = resolve_plain(event.value) if not event.style else event.value
            is_container = False
        elif kind is ev.MappingStartEvent or kind is ev.SequenceStartEvent:
            _check_node(event, name)
            if len(stack) >= MAX_DEPTH:
                raise _problem(
                    name,
                    mark.line + 1,
                    mark.column + 1,
                    "syntax/too-deep",
                    f"nesting deeper than {MAX_DEPTH} levels",
                )
            value = {} if kind is ev.MappingStartEvent else []
            is_container = True
        elif kind is ev.MappingEndEvent or kind is ev.SequenceEndEvent:
            stack.pop()
            continue
        elif kind is ev.AliasEvent:
            raise _problem(
                name,
                mark.line + 1,
                mark.column + 1,
                "syntax/alias",
                f"alias '*{event.anchor}' is not allowed; write the value out in full",
            )
        elif kind is ev.DocumentStartEvent:
            documents += 1
            if documents > 1:
                raise _problem(
                    name,
                    mark.line + 1,
                    mark.column + 1,
                    "syntax/multiple-documents",
                    "a record file holds exactly one YAML document",
                )
            continue
        elif kind is ev.StreamEndEvent:
            break
        else:  # StreamStart, DocumentEnd
            continue

        position = (mark.line + 1, mark.column + 1)
        if not stack:
            root = value
            path: Path_ = ()
            if marks is not None:
                marks[path] = (*position, *position)
        else:
            frame = stack[-1]
            container = frame.container
            if type(container) is list:
                path = (*frame.path, len(container))
                container.append(value)
                if marks is not None:
                    marks[path] = (*position, *position)
            elif frame.key is None:
                if is_container:
                    raise _problem(
                        name,
                        *position,
                        "syntax/complex-key",
                        "a field name must be plain text, not a list or mapping",
                    )
                key = event.value
                if key == "<<" and not event.style:
                    raise _problem(
                        name,
                        *position,
                        "syntax/merge-key",
                        "merge keys ('<<') are not allowed; write the fields out in full",
                    )
                first = frame.key_lines.get(key)
                if first is not None:
                    raise _problem(
                        name,
                        *position,
                        "syntax/duplicate-key",
                        f"duplicate field '{key}' (first defined on line {first})",
                        _json_path((*frame.path, key)),
                    )
                frame.key_lines[key] = position[0]
                frame.key = key
                frame.key_mark = position
                continue
            else:
                path = (*frame.path, frame.key)
                container[frame.key] = value  # type: ignore[index,call-overload]
                if marks is not None:
                    marks[path] = (*position, *frame.key_mark)
                frame.key = None
        if is_container:
            stack.append(_Frame(value, path))

    if documents == 0 or root is None or root == "":
        raise _problem(
            name, 1, 1, "syntax/empty", "the file is empty; a record is a mapping of field: value"
        )
    if type(root) is not dict:
        raise _problem(
            name,
            1,
            1,
            "syntax/not-a-mapping",
            "the top level of a record must be a mapping of field: value",
        )
    return root


def _json_path(path: Path_) -> str:
    out = "$"
    for part in path:
        out += (
            f"[{part}]"
            if isinstance(part, int)
            else (f".{part}" if _SIMPLE_KEY.fullmatch(part) else f"[{part!r}]")
        )
    return out


_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
json_path = _json_path


# --------------------------------------------------------------------------- writer

_PLAIN_SAFE = re.compile(r"[A-Za-z0-9_(][A-Za-z0-9 _.,;()/'+%&@?!=-]*")
_RISKY_WORDS = frozenset(
    (
        "y",
        "Y",
        "yes",
        "Yes",
        "YES",
        "n",
        "N",
        "no",
        "No",
        "NO",
        "on",
        "On",
        "ON",
        "off",
        "Off",
        "OFF",
    )
)


def _plain_ok(text: str) -> bool:
    if not text or text != text.strip() or not _PLAIN_SAFE.fullmatch(text):
        return False
    if text in _RISKY_WORDS or "  " in text:
        return False
    if text[0] in "0123456789+-." or not isinstance(resolve_plain(text), str):
        return False  # numbers-that-are-text are quoted so that no YAML reader mistakes them
    return not text.endswith(":")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError("records hold finite numbers only")
        text = repr(value)
        return text if _FLOAT.fullmatch(text) else f"{value:.17g}"
    if isinstance(value, str):
        if _plain_ok(value) or _ISO_DATE.fullmatch(value):
            return value
        return _double_quoted(value)
    raise TypeError(f"cannot write a {type(value).__name__} into a record")


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _double_quoted(text: str) -> str:
    out = ['"']
    for char in text:
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif (
            code < 0x20
            or 0x7F <= code <= 0x9F
            or char in "\ufeff\ufffe\uffff\u2028\u2029"
            or 0xD800 <= code <= 0xDFFF
        ):
            out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def _literal_ok(text: str) -> bool:
    if "\n" not in text.rstrip("\n") or text[0] in " \n" or "\r" in text:
        return False
    if _FORBIDDEN.search(text) or "\t" in text:
        return False
    return all(line == "" or line.strip() for line in text.split("\n")) and not text.endswith(" ")


def _literal(text: str, indent: str) -> str:
    body = text.rstrip("\n")
    trailing = len(text) - len(body)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    lines = [indent + line if line else "" for line in body.split("\n")]
    lines.extend([""] * (trailing - 1))
    return f"|{chomp}\n" + "\n".join(lines)


def _emit(value: Any, indent: str, out: list[str]) -> None:
    """Write the block-style body of a mapping or sequence at `indent`."""
    if isinstance(value, dict):
        for key, item in value.items():
            label = key if isinstance(key, str) and _plain_ok(key) else _double_quoted(str(key))
            out.append(f"{indent}{label}:{_inline(item, indent + '  ', out)}")
            _children(item, indent + "  ", out)
    else:
        for item in value:
            if isinstance(item, dict) and item:
                first, *rest = item.items()
                sub: list[str] = []
                _emit({first[0]: first[1]}, indent + "  ", sub)
                sub[0] = f"{indent}- " + sub[0][len(indent) + 2 :]
                out.extend(sub)
                _emit(dict(rest), indent + "  ", out)
            else:
                out.append(f"{indent}-{_inline(item, indent + '  ', out)}")
                _children(item, indent + "  ", out)


def _inline(value: Any, indent: str, out: list[str]) -> str:
    if isinstance(value, dict):
        return " {}" if not value else ""
    if isinstance(value, list):
        return " []" if not value else ""
    if isinstance(value, str) and _literal_ok(value):
        return " " + _literal(value, indent)
    return " " + _scalar(value)


def _children(value: Any, indent: str, out: list[str]) -> None:
    if isinstance(value, (dict, list)) and value:
        _emit(value, indent if isinstance(value, dict) else indent, out)


def dump(record: dict[str, Any]) -> str:
    """Deterministic block YAML for a record: key order kept, stable quoting, reads back equal."""
    if not isinstance(record, dict) or not record:
        raise TypeError("a record is a non-empty mapping")
    out: list[str] = []
    _emit(record, "", out)
    return "\n".join(out) + "\n"
