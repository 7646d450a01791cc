"""Bytes to text: the size cap, UTF-8, and the characters no record may hold (SPEC §5)."""

from __future__ import annotations

import re

from medmassage.errors import Problem, RecordError

MAX_BYTES = 1024 * 1024

# Allowed by neither YAML nor a careful editor: C0/C1 controls, DEL, stray BOMs,
# non-characters, and Unicode line separators that would shift line numbers.
# Bidirectional overrides and isolates (U+202A-U+202E, U+2066-U+2069) can make a chart
# read differently on screen than it is stored, so they count as control characters too.
FORBIDDEN = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff\ufffe\uffff\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
# The same, checked on values after escapes are decoded (`"\x07"`, `"\e"`, `"\u202e"`):
# there a carriage return and a lone surrogate are refused too; tab and newline stay allowed.
FORBIDDEN_DECODED = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\ufeff\ufffe\uffff\u2028\u2029\u202a-\u202e"
    "\u2066-\u2069\ud800-\udfff]"
)


def problem(
    name: str, line: int, column: int, rule: str, message: str, path: str = "$"
) -> RecordError:
    """A located syntax error about file `name` (1-based line and column)."""
    return RecordError(Problem(name, line, column, path, rule, "error", message))


def position(text: str, index: int) -> tuple[int, int]:
    """The 1-based line and column of `text[index]`."""
    line = text.count("\n", 0, index) + 1
    return line, index - (text.rfind("\n", 0, index) + 1) + 1


def decode(data: bytes, name: str) -> str:
    """Bytes to text, refusing oversize files, bad UTF-8 and control characters."""
    if len(data) > MAX_BYTES:
        raise problem(
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
        line, column = position(prefix, len(prefix))
        raise problem(
            name,
            line,
            column,
            "syntax/encoding",
            f"byte 0x{data[exc.start]:02x} is not valid UTF-8; save the file as UTF-8",
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    bad = FORBIDDEN.search(text)
    if bad:
        line, column = position(text, bad.start())
        raise problem(
            name,
            line,
            column,
            "syntax/control-character",
            f"control character U+{ord(bad.group()):04X} is not allowed in a record",
        )
    return text
