"""The YAML 1.2 core schema as records use it: what a plain scalar means, which keys are
equal, and how a field path is written in messages."""

from __future__ import annotations

import math
import re
from typing import Any

Path_ = tuple[str | int, ...]

NULLS = frozenset(("", "~", "null", "Null", "NULL"))
BOOLS = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}
# YAML 1.2 core numbers, but a leading zero keeps text as text: `012` is a code, not twelve.
INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")
FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
# What YAML 1.2 core itself reads as a number, used only to find keys equal to another.
_CORE_INT = re.compile(r"[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+")
_CORE_FLOAT = re.compile(
    r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)"
    r"|\.(?:nan|NaN|NAN)"
)
NUMBER_FIRST = frozenset("0123456789+-.")


def resolve_plain(text: str) -> Any:
    """Type of a plain (unquoted) scalar under the YAML 1.2 core schema."""
    if text in NULLS:
        return None
    if text in BOOLS:
        return BOOLS[text]
    if text[0] in "0123456789+-." and len(text) < 400:
        if INT.fullmatch(text):
            return int(text)
        if FLOAT.fullmatch(text):
            number = float(text)
            return number if math.isfinite(number) else text
    return text


def core_key(key: str) -> Any:
    """What YAML 1.2 core reads a plain key as, when that is not the text itself."""
    if key in BOOLS:
        return BOOLS[key]
    if key[0] in NUMBER_FIRST:
        if _CORE_INT.fullmatch(key):
            return int(key, 0) if key[:2] in ("0o", "0x") else int(key)
        if _CORE_FLOAT.fullmatch(key):
            number = float(key.replace(".inf", "inf").replace(".Inf", "inf").replace(".INF", "inf"))
            return ("nan",) if math.isnan(number) else number
    return None


_SIMPLE_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


def json_path(path: Path_) -> str:
    """A field path as messages show it: `$.goals[0].target`, odd keys quoted."""
    out = "$"
    for part in path:
        out += (
            f"[{part}]"
            if isinstance(part, int)
            else (f".{part}" if _SIMPLE_KEY.fullmatch(part) else f"[{part!r}]")
        )
    return out
