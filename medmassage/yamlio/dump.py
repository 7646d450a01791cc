"""The deterministic writer: block YAML whose key order is the record's, whose quoting is
stable, and which the loader reads back equal (SPEC §5)."""

from __future__ import annotations

import math
import re
from typing import Any

from medmassage.yamlio.core import FLOAT, resolve_plain
from medmassage.yamlio.text import FORBIDDEN

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
        return text if FLOAT.fullmatch(text) else f"{value:.17g}"
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
    # A tab is text inside a block, but not as its first character: libyaml would take it
    # for indentation (the loader refuses that), so such text is written in double quotes.
    if "\n" not in text.rstrip("\n") or text[0] in " \t\n" or "\r" in text:
        return False
    if FORBIDDEN.search(text):
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
