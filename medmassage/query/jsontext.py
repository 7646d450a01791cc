"""The `--format json` text of the queries, written fast.

`json.dumps(document, indent=2)` runs the pure-Python encoder (the C one is used only
without indentation), and for `list sessions` or `due` over a large store that was a
third of a warm answer. `dumps` gives exactly the same text: containers are laid out
here, and each container that holds only plain values (a row, an item) is encoded in
one call of the C encoder whose item separator carries the newline and the indentation
of its depth. JSON escapes every control character, so no string can carry a newline
into that layout."""

from __future__ import annotations

import json
from typing import Any

_PLAIN = frozenset((str, int, float, bool, type(None)))
_INDENT = "  "
_STR = frozenset((str,))
_encoders: dict[int, json.JSONEncoder] = {}


def dumps(document: Any) -> str:
    """`json.dumps(document, indent=2, ensure_ascii=False)`, the same text, faster."""
    parts: list[str] = []
    _write(document, 0, parts)
    return "".join(parts)


def _flat(depth: int) -> json.JSONEncoder:
    """An encoder (C-accelerated: no indent) whose separator between the members of a
    container at `depth` is the comma, newline and indentation of `indent=2`."""
    encoder = _encoders.get(depth)
    if encoder is None:
        encoder = _encoders[depth] = json.JSONEncoder(
            ensure_ascii=False, separators=(",\n" + _INDENT * (depth + 1), ": ")
        )
    return encoder


def _write(value: Any, depth: int, parts: list[str]) -> None:
    kind = type(value)
    if kind is dict and all(type(key) is str for key in value):
        members: Any = value.values()
    elif kind is list or kind is tuple:
        members = value
    elif kind in _PLAIN:
        parts.append(json.dumps(value, ensure_ascii=False))
        return
    else:  # keys that are not strings, or not JSON at all: json's own text (or error)
        text = json.dumps(value, indent=2, ensure_ascii=False)
        parts.append(text.replace("\n", "\n" + _INDENT * depth))
        return
    if not members:
        parts.append("{}" if kind is dict else "[]")
    elif kind is not dict and all(map(_is_row, members)):
        parts.append(_rows(members, depth))
    elif set(map(type, members)) <= _PLAIN:
        # {"a": 1,\n    "b": 2} -> {\n    "a": 1,\n    "b": 2\n  }
        text = _flat(depth).encode(value)
        inner = "\n" + _INDENT * (depth + 1)
        parts.append(text[0] + inner + text[1:-1] + "\n" + _INDENT * depth + text[-1])
    else:
        _write_members(value, kind is dict, depth, parts)


def _is_row(value: Any) -> bool:
    """A non-empty dict of plain values under string keys (a row of a table, an item)."""
    return (
        type(value) is dict
        and bool(value)
        and set(map(type, value)) == _STR
        and set(map(type, value.values())) <= _PLAIN
    )


def _rows(rows: Any, depth: int) -> str:
    """A list of rows (`_is_row`) in one call of the C encoder, whose separator is already
    that between the members of a row. A newline is never raw inside JSON text, so `}`
    followed by that separator and `{` can only be a boundary between two rows: each is
    then given the layout of one."""
    row = "\n" + _INDENT * (depth + 1)
    member = "\n" + _INDENT * (depth + 2)
    text = _flat(depth + 1).encode(rows)
    body = text[2:-2].replace("}," + member + "{", row + "}," + row + "{" + member)
    return "[" + row + "{" + member + body + row + "}\n" + _INDENT * depth + "]"


def _write_members(value: Any, is_dict: bool, depth: int, parts: list[str]) -> None:
    """A container holding containers: each member on its own line, one level deeper."""
    inner = "\n" + _INDENT * (depth + 1)
    parts.append("{" if is_dict else "[")
    items = value.items() if is_dict else enumerate(value)
    for index, (key, member) in enumerate(items):
        parts.append(inner if index == 0 else "," + inner)
        if is_dict:
            parts.append(json.dumps(key, ensure_ascii=False) + ": ")
        _write(member, depth + 1, parts)
    parts.append("\n" + _INDENT * depth + ("}" if is_dict else "]"))
