"""Parser events to a record: plain dicts, lists and scalars built here, refusing what the
dialect refuses (anchors, aliases, tags, complex, empty, merge and duplicate keys, nesting
deeper than MAX_DEPTH, several documents, a top level that is not a mapping).

Building from events, rather than through PyYAML's composer and constructors, keeps
libyaml's speed while avoiding the recursive composer (which overflows the C stack on deep
nesting) and the YAML 1.1 constructors (which raise arbitrary exceptions and turn `no` into
False and dates into date objects).
"""

from __future__ import annotations

from typing import Any

from yaml import events as ev

from medmassage.errors import RecordError
from medmassage.yamlio.core import (
    BOOLS,
    NULLS,
    NUMBER_FIRST,
    Path_,
    core_key,
    json_path,
    resolve_plain,
)
from medmassage.yamlio.text import FORBIDDEN_DECODED, problem

MAX_DEPTH = 32

# path -> (value line, value column, key line, key column), all 1-based
Marks = dict[Path_, tuple[int, int, int, int]]

_SCALAR = ev.ScalarEvent
_MAPPING_START = ev.MappingStartEvent
_SEQUENCE_START = ev.SequenceStartEvent
_MAPPING_END = ev.MappingEndEvent
_SEQUENCE_END = ev.SequenceEndEvent
_DOCUMENT_START = ev.DocumentStartEvent
_STREAM_END = ev.StreamEndEvent
_ALIAS = ev.AliasEvent
# Keys that may be special (null, merge) or equal to another under YAML 1.2 core.
_SPECIAL_KEYS = NULLS | BOOLS.keys() | {"<<"}
_IN_FULL = "write the value out in full"


class _Frame:
    """A mapping or sequence being filled."""

    __slots__ = ("container", "flow_line", "indent", "key", "key_lines", "key_mark", "path")

    def __init__(
        self, container: dict[str, Any] | list[Any], path: Path_, indent: int, flow_line: int
    ) -> None:
        self.container = container
        self.key: str | None = None
        self.key_mark: Any = None  # the parser's mark of the key waiting for its value
        self.path = path
        self.key_lines: dict[Any, int] = {}
        self.indent = indent  # column of the enclosing block collection (-1: none)
        self.flow_line = flow_line  # first line of a [ ] or { } that sits in block context


def build(parser: Any, text: str, name: str, marks: Marks | None) -> dict[str, Any]:
    """The record the parser's events describe; `marks`, when given, gets every position."""
    stack: list[_Frame] = []
    root: Any = None
    documents = 0
    get_event = parser.get_event
    while True:
        event = get_event()
        kind = type(event)
        if kind is _SCALAR:
            if event.anchor is not None or event.tag is not None:
                _check_node(event, name)
            if event.style:
                value: Any = _quoted(event, stack, text, name)
            else:
                value = resolve_plain(event.value)
            is_container = False
        elif kind is _MAPPING_START or kind is _SEQUENCE_START:
            value = _open(event, len(stack), name)
            is_container = True
        elif kind is _MAPPING_END or kind is _SEQUENCE_END:
            _close(event, stack, text, name)
            continue
        elif kind is _DOCUMENT_START:
            documents += 1
            _check_document(event, documents, name)
            continue
        elif kind is _STREAM_END:
            return _record(root, documents, name)
        elif kind is _ALIAS:
            raise _at(
                event, name, "syntax/alias", f"alias '*{event.anchor}' is not allowed; {_IN_FULL}"
            )
        else:  # StreamStart, DocumentEnd
            continue
        if not stack:
            root, path = value, _ROOT
            if marks is not None:
                marks[path] = (event.start_mark.line + 1, event.start_mark.column + 1) * 2
        else:
            found = _place(stack[-1], event, value, is_container, marks, name)
            if found is None:
                continue
            path = found
        if is_container:
            _push(stack, value, path, event)


_ROOT: Path_ = ()
_UNUSED: Path_ = ()  # the path of a scalar nobody asked for


def _place(
    frame: _Frame, event: Any, value: Any, is_container: bool, marks: Marks | None, name: str
) -> Path_ | None:
    """Put `value` into the open collection: its path (worked out only when a new frame or
    `marks` needs it), or None when it was a key, kept for the value that follows."""
    container = frame.container
    path = _UNUSED
    if type(container) is list:
        if is_container or marks is not None:
            path = (*frame.path, len(container))
            if marks is not None:
                marks[path] = (event.start_mark.line + 1, event.start_mark.column + 1) * 2
        container.append(value)
        return path
    key = frame.key
    if key is None:
        _take_key(frame, event, is_container, name)
        return None
    container[key] = value  # type: ignore[call-overload]
    frame.key = None
    if is_container or marks is not None:
        path = (*frame.path, key)
        if marks is not None:
            mark, key_mark = event.start_mark, frame.key_mark
            marks[path] = (mark.line + 1, mark.column + 1, key_mark.line + 1, key_mark.column + 1)
    return path


def _take_key(frame: _Frame, event: Any, is_container: bool, name: str) -> None:
    """A mapping's next key: plain text, not empty, null or '<<', and not seen before."""
    if is_container:
        raise _at(
            event,
            name,
            "syntax/complex-key",
            "a field name must be plain text, not a list or mapping",
        )
    key = event.value
    line = event.start_mark.line + 1
    if key in frame.key_lines or key in _SPECIAL_KEYS or key[0] in NUMBER_FIRST:
        _odd_key(frame, key, event, name)  # rare: the slow path
    frame.key_lines[key] = line
    frame.key = key
    frame.key_mark = event.start_mark


def _odd_key(frame: _Frame, key: str, event: Any, name: str) -> None:
    """Empty, null and merge keys are refused; a key equal as text, or under YAML 1.2 core
    (`true`/`True`, `1`/`+1`), to an earlier one is a duplicate naming that key's line."""
    style = event.style
    if not style and key == "<<":
        raise _at(
            event,
            name,
            "syntax/merge-key",
            "merge keys ('<<') are not allowed; write the fields out in full",
        )
    if not key or (not style and key in NULLS):
        raise _at(event, name, "syntax/empty-key", "a field needs a name before ':'")
    first = frame.key_lines.get(key)
    if first is None and not style:
        core = core_key(key)
        if core is not None:
            first = frame.key_lines.get((type(core), core))
            frame.key_lines[(type(core), core)] = event.start_mark.line + 1
    if first is not None:
        raise _at(
            event,
            name,
            "syntax/duplicate-key",
            f"duplicate field '{key}' (first defined on line {first})",
            path=json_path((*frame.path, key)),
        )


def _at(event: Any, name: str, rule: str, message: str, path: str = "$") -> RecordError:
    """A problem located at the event's start."""
    mark = event.start_mark
    return problem(name, mark.line + 1, mark.column + 1, rule, message, path)


def _check_node(event: Any, name: str) -> None:
    if event.anchor is not None:
        raise _at(
            event, name, "syntax/anchor", f"anchor '&{event.anchor}' is not allowed; {_IN_FULL}"
        )
    if event.tag is not None:
        raise _at(
            event,
            name,
            "syntax/tag",
            f"explicit tag '{event.tag}' is not allowed; records use plain values",
        )


def _quoted(event: Any, stack: list[_Frame], text: str, name: str) -> str:
    """A quoted scalar's text: no control character even as an escape, and every line it
    runs over indented past its field."""
    value: str = event.value
    if event.style == '"':
        bad = FORBIDDEN_DECODED.search(value)
        if bad:
            raise _at(
                event,
                name,
                "syntax/control-character",
                f"control character U+{ord(bad.group()):04X} is not allowed in a record,"
                " not even written as an escape",
            )
    start, end = event.start_mark.line, event.end_mark.line
    if event.style in ('"', "'") and stack and stack[-1].flow_line < 0 and end != start:
        _check_lines(text, start + 1, end, stack[-1].indent, name)
    return value


def _check_lines(text: str, first: int, last: int, indent: int, name: str) -> None:
    """Lines `first`..`last` (0-based) go on with a value: each must be indented past `indent`."""
    for number, line in enumerate(text.split("\n")[first : last + 1], first + 1):
        stripped = line.lstrip(" ")
        if (
            stripped.strip()
            and not stripped.startswith("#")
            and len(line) - len(stripped) <= indent
        ):
            raise problem(
                name,
                number,
                1,
                "syntax/invalid-yaml",
                "a value that goes on over several lines must be indented more than its field",
            )


def _open(event: Any, depth: int, name: str) -> dict[str, Any] | list[Any]:
    if event.anchor is not None or event.tag is not None:
        _check_node(event, name)
    if depth >= MAX_DEPTH:
        raise _at(event, name, "syntax/too-deep", f"nesting deeper than {MAX_DEPTH} levels")
    return {} if type(event) is _MAPPING_START else []


def _push(stack: list[_Frame], value: Any, path: Path_, event: Any) -> None:
    """Open a frame for a new collection, remembering where a [ ] or { } in block text began."""
    if not event.flow_style:
        stack.append(_Frame(value, path, event.start_mark.column, -1))
    elif stack and stack[-1].flow_line >= 0:
        stack.append(_Frame(value, path, stack[-1].indent, stack[-1].flow_line))
    else:
        indent = stack[-1].indent if stack else -1
        stack.append(_Frame(value, path, indent, event.start_mark.line if stack else -1))


def _close(event: Any, stack: list[_Frame], text: str, name: str) -> None:
    """Close a collection; a [ ] or { } in block text must keep its lines indented."""
    done = stack.pop()
    if (
        done.flow_line >= 0
        and event.end_mark.line > done.flow_line
        and stack
        and stack[-1].flow_line < 0
    ):
        _check_lines(text, done.flow_line + 1, event.end_mark.line, done.indent, name)


def _check_document(event: Any, documents: int, name: str) -> None:
    if documents > 1:
        raise _at(
            event,
            name,
            "syntax/multiple-documents",
            "a record file holds exactly one YAML document",
        )


def _record(root: Any, documents: int, name: str) -> dict[str, Any]:
    if documents == 0 or root is None or root == "":
        raise problem(
            name, 1, 1, "syntax/empty", "the file is empty; a record is a mapping of field: value"
        )
    if type(root) is not dict:
        raise problem(
            name,
            1,
            1,
            "syntax/not-a-mapping",
            "the top level of a record must be a mapping of field: value",
        )
    return root
