"""The strict YAML dialect of SPEC §5: a loader that yields a record or a located
RecordError and nothing else, and a deterministic writer whose output reads back equal.

The loader drives libyaml's C parser event by event and builds plain dicts, lists and
scalars itself. That keeps libyaml's speed while avoiding PyYAML's recursive composer
(which overflows the C stack on deep nesting) and its YAML 1.1 constructors (which
raise arbitrary exceptions and turn `no` into False and dates into date objects).
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from yaml import MarkedYAMLError, YAMLError
from yaml import events as ev
from yaml.parser import Parser as _PyParser
from yaml.reader import Reader
from yaml.scanner import Scanner

from medmassage.errors import Problem, RecordError


class PythonParser(Reader, Scanner, _PyParser):
    """PyYAML's pure-Python event parser: the fallback when libyaml is not built in."""

    def __init__(self, stream: str) -> None:
        Reader.__init__(self, stream)
        Scanner.__init__(self)
        _PyParser.__init__(self)


try:  # libyaml is the fast path; the pure-Python parser is the fallback.
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    _Parser = PythonParser  # type: ignore[misc,assignment]

# Both parsers give the same verdicts: what either one gets wrong is refused by the
# pre-scan below before it reaches the parser. Tests force the fallback by setting
# `_Parser = PythonParser`.


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
# Bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) can make a chart
# read differently on screen than it is stored, so they count as control characters too.
_FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
# The same, checked on values after escapes are decoded (`"\x07"`, `"\e"`, `"\u202e"`):
# there a carriage return and a lone surrogate are refused too; tab and newline stay allowed.
_FORBIDDEN_DECODED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufffe\uffff\u2028\u2029\u202a-\u202e"
    "\u2066-\u2069\ud800-\udfff]"
)


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
    if _suspect(text):
        text = _prescan(text, name)
    parser = _Parser(text)
    try:
        return _build(parser, text, name, marks)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = " ".join(part for part in (exc.context, exc.problem) if part) or "invalid YAML"
        rule = _SCANNING.get(exc.context or "", "syntax/invalid-yaml")
        raise _problem(name, line, column, rule, message) from None
    except YAMLError as exc:
        raise _problem(
            name,
            1,
            1,
            "syntax/invalid-yaml",
            str(exc).splitlines()[0] if str(exc) else "invalid YAML",
        ) from None


# An anchor, alias or tag the parser cannot even scan is still refused for what it is.
_SCANNING = {
    "while scanning an anchor": "syntax/anchor",
    "while scanning an alias": "syntax/alias",
    "while scanning a tag": "syntax/tag",
}


def field_marks(text: str) -> Marks:
    """Positions of every field of a text known to parse (used only for files with problems)."""
    marks: Marks = {}
    with contextlib.suppress(RecordError):
        parse_text(text, "<marks>", marks)
    return marks


# --------------------------------------------------------------------------- pre-scan

# Constructs that libyaml or the pure-Python parser read wrongly, or differently from each
# other, all pass one of these tests; a record that passes none goes straight to the parser.
# Each regex starts with one literal character, so that the search skips over ordinary text.
_LINE_START = re.compile(r"\n(?:[ ]*:|[ \t]+\r?$|%|\.\.\.|---[ ]*[^\s#])", re.MULTILINE)
_AFTER_COMMA = re.compile(r",[ ]*(?::|-(?:[ ,\]}]|$))", re.MULTILINE)  # ', :x' or ', -'
_AFTER_DASH = re.compile(r"-[ ]+:")  # '- :'
_AFTER_COLON = re.compile(r":(?:[ ]*:|[,\]}])")  # '::', ': :', ':' glued to ',', ']' or '}'


def _suspect(text: str) -> bool:
    """Whether the text may hold a construct that the pre-scan must look at."""
    return (
        "\t" in text  # tabs
        or "?" in text  # explicit keys, and '?' inside [ ] or { }
        or "#" in text  # '#' glued to a value is not a comment
        or "[" in text  # flow collections: ':', '?', '-' and line breaks inside them
        or "{" in text
        or text[-1:] in (" ", "\t")  # a last line holding only blanks
        or _LINE_START.search("\n" + text) is not None  # directives, document markers,
        # lines holding only blanks, ':' starting a line
        or _AFTER_COMMA.search(text) is not None
        or _AFTER_DASH.search(text) is not None
        or _AFTER_COLON.search(text) is not None
    )


_BREAKS = ("", " ", "\t")
_FLOW_BREAKS = ("", " ", "\t", ",", "[", "]", "{", "}")
_DOC_MARK = re.compile(r"(?:---|\.\.\.)(?=[ \t]|$)")


def _scan_quoted(line: str, start: int, quote: str) -> int:
    """Index just past the closing quote of a quoted scalar in `line`, or -1 if it goes on."""
    k, n = start, len(line)
    while k < n:
        char = line[k]
        if char == "\\" and quote == '"':
            k += 2
            continue
        if char == quote:
            if quote == "'" and line[k + 1 : k + 2] == "'":
                k += 2
                continue
            return k + 1
        k += 1
    return -1


def _node_name(line: str, start: int, flow: bool) -> str:
    end = start + 1
    stops = " ,[]{}" if flow else " "
    while end < len(line) and line[end] not in stops:
        end += 1
    return line[start:end]


def _prescan(text: str, name: str) -> str:
    """Refuse, with a located problem, what the parsers read wrongly or differently.

    It tracks just enough of YAML's lexical structure (quotes, comments, flow brackets,
    block scalars, document markers) to tell where a character sits. Lines holding only
    blanks are made empty (they are blank lines), and a last line of blanks gets its line
    break, so that both parsers read them as YAML says.
    """

    def fail(line: int, column: int, rule: str, message: str) -> RecordError:
        return _problem(name, line, column, rule, message)

    lines = text.split("\n")
    changed = False
    quote = ""  # the quote character while a quoted scalar runs over several lines
    quote_line = 0
    flow = 0
    in_plain = False  # inside a plain scalar (runs over lines only inside [ ] and { })
    plain_line = 0
    after = 0  # line where the quoted scalar or bracketed collection that just closed began
    explicit = False  # an explicit '? key' waits for its ':'
    block: list[int] | None = None  # [parent column, content indent or -1, widest blank, explicit]
    plain_parent = -2  # a block plain scalar may go on over lines indented more than this
    started = False  # a document has begun
    ended = False  # ... and was closed with '...'
    for number, raw in enumerate(lines, 1):
        line = raw[:-1] if raw.endswith("\r") else raw
        blank = not line.strip(" \t")
        if block is not None:
            if blank:
                if "\t" in line:
                    raise fail(
                        number,
                        line.index("\t") + 1,
                        "syntax/tab",
                        "a tab inside a block of text (| or >); use spaces",
                    )
                block[2] = max(block[2], len(line))
                continue
            indent = len(line) - len(line.lstrip(" "))
            if block[1] < 0 and indent > block[0]:
                block[1] = indent
                if block[2] > indent and not block[3]:
                    raise fail(
                        number - 1,
                        1,
                        "syntax/invalid-yaml",
                        "a blank line at the start of a block of text is indented more than"
                        " its first line",
                    )
            if block[1] >= 0 and indent >= block[1]:
                if "\t" in line:
                    raise fail(
                        number,
                        line.index("\t") + 1,
                        "syntax/tab",
                        "a tab inside a block of text (| or >); indent with spaces, or write"
                        ' the text in double quotes with "\\t"',
                    )
                continue
            block = None
        j = 0
        n = len(line)
        if quote:
            end = _scan_quoted(line, 0, quote)
            if end < 0:
                continue
            quote, j, after = "", end, quote_line
            if line[j : j + 1] == "#":
                raise fail(
                    number, j + 1, "syntax/invalid-yaml", "a comment needs a space before '#'"
                )
        elif blank:
            if "\t" in line or number == len(lines):
                lines[number - 1] = "\r" if raw.endswith("\r") else ""
                changed = True
            continue
        else:
            if not flow:
                after = 0
            marker = _DOC_MARK.match(line)
            if marker and not flow:
                in_plain = False
                plain_parent = -2
                if line.startswith("---"):
                    if started:
                        raise fail(
                            number,
                            1,
                            "syntax/multiple-documents",
                            "a record file holds exactly one YAML document",
                        )
                    started = True
                    j = 3
                    rest = line[3:].lstrip(" ")
                    if rest[:1] in ("|", ">"):
                        raise fail(
                            number,
                            n - len(rest) + 1,
                            "syntax/not-a-mapping",
                            "the top level of a record must be a mapping of field: value",
                        )
                else:
                    ended = ended or started
                    j = 3
            elif line[0] == "%" and not started and not flow:
                raise fail(
                    number,
                    1,
                    "syntax/directive",
                    "directives ('%YAML', '%TAG') are not allowed in a record",
                )
            else:
                stripped = line.lstrip(" ")
                if not stripped.startswith("#"):
                    if ended:
                        raise fail(
                            number,
                            len(line) - len(stripped) + 1,
                            "syntax/multiple-documents",
                            "a record file holds exactly one YAML document",
                        )
                    started = True
                j = n - len(stripped)
                if stripped[:1] == "\t":
                    raise fail(
                        number,
                        j + 1,
                        "syntax/invalid-yaml",
                        "a tab in the indentation of a line; YAML indents with spaces only",
                    )
                if not flow and plain_parent > -2 and j > plain_parent:
                    # the continuation of a plain scalar: trailing tabs are blanks
                    stripped = stripped.rstrip(" \t")
                    if len(stripped) + j < len(line):
                        lines[number - 1] = line[: j + len(stripped)] + raw[len(line) :]
                        changed = True
                    if "\t" in stripped:
                        raise fail(
                            number,
                            line.index("\t") + 1,
                            "syntax/tab",
                            "a tab outside quotes; use spaces, or write the value in double"
                            ' quotes with "\\t"',
                        )
                    continue
                plain_parent = -2
        start = not in_plain
        key_column = -1  # column of the last block field name or '-' on this line
        plain_column = j
        while j < n:
            char = line[j]
            if char == " ":
                j += 1
                continue
            if char == "\t":
                rest = line[j:].lstrip(" \t")
                if not rest or rest[0] == "#":  # trailing blanks, or blanks before a comment
                    lines[number - 1] = line[:j] + line[j:].replace("\t", " ") + raw[len(line) :]
                    changed = True
                    break
                raise fail(
                    number,
                    j + 1,
                    "syntax/tab",
                    "a tab outside quotes; use spaces, or write the value in double quotes"
                    ' with "\\t"',
                )
            if char == "#" and (j == 0 or line[j - 1] == " "):
                break
            following = line[j + 1 : j + 2]
            if in_plain:
                if char == ":" and (following in (_FLOW_BREAKS if flow else _BREAKS)):
                    in_plain = False
                    if flow and following in (",", "]", "}"):
                        raise fail(
                            number,
                            j + 1,
                            "syntax/flow-form",
                            "inside [ ] or { } a ':' is followed by a space",
                        )
                    if flow and plain_line != number:
                        raise fail(
                            number,
                            j + 1,
                            "syntax/complex-key",
                            "a field name must be on one line with its ':'",
                        )
                    if not flow:
                        key_column = plain_column
                    start = True
                    j += 1
                    continue
                if flow and char in ",[]{}":
                    in_plain = False
                elif flow and char == "?":
                    raise fail(
                        number,
                        j + 1,
                        "syntax/flow-form",
                        "inside [ ] or { } text holding '?' must be quoted",
                    )
                else:
                    j += 1
                    continue
            if char in "\"'" and start:
                end = _scan_quoted(line, j + 1, char)
                if end < 0:
                    quote, quote_line = char, number
                    break
                j, after, start = end, number, False
                if line[j : j + 1] == "#":
                    raise fail(
                        number, j + 1, "syntax/invalid-yaml", "a comment needs a space before '#'"
                    )
                continue
            if char in "[{" and (start or flow):
                flow += 1
                start = True
                j += 1
                continue
            if char in "]}" and flow:
                flow -= 1
                start, after = False, number
                j += 1
                if line[j : j + 1] == "#":
                    raise fail(
                        number, j + 1, "syntax/invalid-yaml", "a comment needs a space before '#'"
                    )
                continue
            if char == "," and flow:
                start, after = True, 0
                j += 1
                continue
            if char == "?" and start:
                if following in (_FLOW_BREAKS if flow else _BREAKS):
                    explicit = True
                    j += 1
                    continue
                if flow:
                    raise fail(
                        number,
                        j + 1,
                        "syntax/flow-form",
                        "inside [ ] or { } text starting with '?' must be quoted",
                    )
            if char == ":" and (start or after):
                if following in (_FLOW_BREAKS if flow else _BREAKS) or (after and flow):
                    if after:
                        if flow and after != number:
                            raise fail(
                                number,
                                j + 1,
                                "syntax/complex-key",
                                "a field name must be on one line with its ':'",
                            )
                    elif explicit:
                        explicit = False
                    else:
                        raise fail(
                            number, j + 1, "syntax/empty-key", "a field needs a name before ':'"
                        )
                    start, after = True, 0
                    j += 1
                    continue
                if flow:
                    raise fail(
                        number,
                        j + 1,
                        "syntax/flow-form",
                        "inside [ ] or { } text starting with ':' must be quoted",
                    )
            if char == "-" and start:
                if flow and following in (_FLOW_BREAKS):
                    raise fail(
                        number, j + 1, "syntax/invalid-yaml", "a '-' alone is not a value in [ ]"
                    )
                if not flow and following in _BREAKS:
                    key_column = j
                    j += 1
                    continue
            if char in "&*!" and start:
                label = _node_name(line, j, bool(flow))
                if char == "&":
                    raise fail(
                        number,
                        j + 1,
                        "syntax/anchor",
                        f"anchor '{label}' is not allowed; write the value out in full",
                    )
                if char == "*":
                    raise fail(
                        number,
                        j + 1,
                        "syntax/alias",
                        f"alias '{label}' is not allowed; write the value out in full",
                    )
                raise fail(
                    number,
                    j + 1,
                    "syntax/tag",
                    f"explicit tag '{label}' is not allowed; records use plain values",
                )
            if char in "|>" and start and not flow:
                k = j + 1
                while k < n and line[k] in "-+0123456789":
                    k += 1
                if line[k : k + 1] == "#":
                    raise fail(
                        number, k + 1, "syntax/invalid-yaml", "a comment needs a space before '#'"
                    )
                if "\t" in line[k:]:
                    raise fail(
                        number,
                        line.index("\t", k) + 1,
                        "syntax/tab",
                        "a tab outside quotes; use spaces",
                    )
                parent = key_column if key_column >= 0 else len(line) - len(line.lstrip(" ")) - 1
                block = [parent, -1, 0, int(any(c.isdigit() for c in line[j + 1 : k]))]
                break
            # anything else begins a plain scalar
            in_plain, start, after = True, False, 0
            plain_line, plain_column = number, j
            j += 1
        if in_plain and not flow:
            in_plain = False
            indent = len(line) - len(line.lstrip(" "))
            plain_parent = key_column if key_column >= 0 else indent - 1
            if key_column < 0 and not explicit:
                plain_parent = indent - 1
    if not started:
        raise _problem(
            name, 1, 1, "syntax/empty", "the file is empty; a record is a mapping of field: value"
        )
    if changed:
        text = "\n".join(lines)
    if text[-1:] in (" ", "\t"):
        text += "\n"
    return text


class _Frame:
    __slots__ = ("container", "flow_line", "indent", "key", "key_lines", "key_mark", "path")

    def __init__(
        self, container: dict[str, Any] | list[Any], path: Path_, indent: int, flow_line: int
    ) -> None:
        self.container = container
        self.key: str | None = None
        self.key_mark: tuple[int, int] = (0, 0)
        self.path = path
        self.key_lines: dict[Any, int] = {}
        self.indent = indent  # column of the enclosing block collection (-1: none)
        self.flow_line = flow_line  # first line of a [ ] or { } that sits in block context


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


def _check_lines(text: str, first: int, last: int, indent: int, name: str) -> None:
    """Lines `first`..`last` (0-based) go on with a value: each must be indented past `indent`."""
    for number, line in enumerate(text.split("\n")[first : last + 1], first + 1):
        stripped = line.lstrip(" ")
        if (
            stripped.strip()
            and not stripped.startswith("#")
            and len(line) - len(stripped) <= indent
        ):
            raise _problem(
                name,
                number,
                1,
                "syntax/invalid-yaml",
                "a value that goes on over several lines must be indented more than its field",
            )


def _core_key(key: str) -> Any:
    """What YAML 1.2 core reads a plain key as, when that is not the text itself."""
    if key in _BOOLS:
        return _BOOLS[key]
    if key[0] in "0123456789+-.":
        if _CORE_INT.fullmatch(key):
            return int(key, 0) if key[:2] in ("0o", "0x") else int(key)
        if _CORE_FLOAT.fullmatch(key):
            number = float(key.replace(".inf", "inf").replace(".Inf", "inf").replace(".INF", "inf"))
            return ("nan",) if math.isnan(number) else number
    return None


_CORE_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
    r"|\.(?:nan|NaN|NAN)"
)


def _special_key(
    frame: _Frame, key: str, style: str | None, position: tuple[int, int], name: str, first: Any
) -> Any:
    """Empty, null and merge keys are refused; a key equal under YAML 1.2 core to an earlier
    one (`true`/`True`, `1`/`+1`) is a duplicate: the line of that earlier key, or `first`."""
    if not style and key == "<<":
        raise _problem(
            name,
            *position,
            "syntax/merge-key",
            "merge keys ('<<') are not allowed; write the fields out in full",
        )
    if not key or (not style and key in _NULLS):
        raise _problem(name, *position, "syntax/empty-key", "a field needs a name before ':'")
    if first is None and not style:
        core = _core_key(key)
        if core is not None:
            first = frame.key_lines.get((type(core), core))
            frame.key_lines[(type(core), core)] = position[0]
    return first


def _build(parser: Any, text: str, name: str, marks: Marks | None) -> dict[str, Any]:
    stack: list[_Frame] = []
    root: Any = None
    documents = 0
    while True:
        event = parser.get_event()
        kind = type(event)
        mark = event.start_mark
        if kind is ev.ScalarEvent:
            _check_node(event, name)
            style = event.style
            if not style:
                value: Any = resolve_plain(event.value)
            else:
                value = event.value
                if style == '"' and _FORBIDDEN_DECODED.search(value):
                    bad = _FORBIDDEN_DECODED.search(value)
                    assert bad is not None
                    raise _problem(
                        name,
                        mark.line + 1,
                        mark.column + 1,
                        "syntax/control-character",
                        f"control character U+{ord(bad.group()):04X} is not allowed in a record,"
                        " not even written as an escape",
                    )
                if (
                    style in ('"', "'")
                    and stack
                    and stack[-1].flow_line < 0
                    and event.end_mark.line != mark.line
                ):
                    _check_lines(text, mark.line + 1, event.end_mark.line, stack[-1].indent, name)
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
            done = stack.pop()
            if (
                done.flow_line >= 0
                and event.end_mark.line > done.flow_line
                and stack
                and stack[-1].flow_line < 0
            ):
                _check_lines(text, done.flow_line + 1, event.end_mark.line, done.indent, name)
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
                first = frame.key_lines.get(key)
                if key in _SPECIAL_KEYS or key[0] in _NUMBER_FIRST:  # rare: the slow path
                    first = _special_key(frame, key, event.style, position, name, first)
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
                container[frame.key] = value  # type: ignore[call-overload]
                if marks is not None:
                    marks[path] = (*position, *frame.key_mark)
                frame.key = None
        if is_container:
            if event.flow_style:
                if stack and stack[-1].flow_line >= 0:
                    stack.append(_Frame(value, path, stack[-1].indent, stack[-1].flow_line))
                else:
                    indent = stack[-1].indent if stack else -1
                    stack.append(_Frame(value, path, indent, mark.line if stack else -1))
            else:
                stack.append(_Frame(value, path, mark.column, -1))

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


_NUMBER_FIRST = frozenset("0123456789+-.")
_SPECIAL_KEYS = _NULLS | _BOOLS.keys() | {"<<"}


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
        _emit(value, indent, out)


def dump(record: dict[str, Any]) -> str:
    """Deterministic block YAML for a record: key order kept, stable quoting, reads back equal."""
    if not isinstance(record, dict) or not record:
        raise TypeError("a record is a non-empty mapping")
    out: list[str] = []
    _emit(record, "", out)
    return "\n".join(out) + "\n"
