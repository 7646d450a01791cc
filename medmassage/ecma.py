"""JSON Schema's own meaning for `pattern` and `format`, in Python.

JSON Schema patterns are ECMA-262 regular expressions (what ajv and editors run), and
Python's `re` reads the same text differently: `$` also matches before a trailing
newline, `\\d` and `\\w` match any Unicode digit or letter, `.` crosses `\\r`. A chart
that one validator accepts and another refuses is a chart nobody can trust, so the
validators are given translated patterns (`python_pattern`) while the shipped schemas stay
standard. The format checks mirror RFC 3339 and the e-mail rule of ajv-formats."""

from __future__ import annotations

import re

# ECMA-262 WhiteSpace and LineTerminator: what `\s` means there.
_SPACE = "\\t\\n\\x0b\\x0c\\r \\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000\\ufeff"
# `.` outside a class: anything but a line terminator.
_DOT = "[^\\n\\r\\u2028\\u2029]"
# Escapes that read the same in both engines (under ASCII for the class shorthands).
_SAME = set("dDwWbBfnrtv")
# Inside a Python character class these would start a set operation (FutureWarning).
_CLASS_ESCAPE = set("[&~|$")


class UnsupportedPattern(ValueError):
    """A pattern using ECMA-262 syntax that has no Python equivalent here."""


def python_pattern(pattern: str) -> str:
    """The Python regular expression that matches exactly what ECMA-262 (with the `u`
    flag, as ajv compiles it) matches for `pattern`, when used with `re.search`."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    while i < n:
        char = pattern[i]
        if char == "\\":
            text, i = _escape(pattern, i + 1, in_class)
            out.append(text)
            continue
        i += 1
        if in_class:
            in_class = char != "]"
            out.append("\\" + char if char in _CLASS_ESCAPE else char)
        elif char == "[":
            text, i, in_class = _class_start(pattern, i)
            out.append(text)
        elif char == "$":
            out.append("\\Z")  # the end of the text, never before a final newline
        elif char == ".":
            out.append(_DOT)
        elif char == "(" and pattern.startswith("?<", i) and pattern[i + 2 : i + 3] not in "=!":
            out.append("(?P")  # a named group: (?<name>...) in ECMA, (?P<name>...) here
            i += 1
        else:
            out.append(char)
    # Scoped ASCII: \d, \w and \b mean [0-9], [A-Za-z0-9_] and its edges, as in ECMA.
    return "(?a:" + "".join(out) + ")"


def _class_start(pattern: str, i: int) -> tuple[str, int, bool]:
    """A class just opened at `i`: ECMA's `[]` (matches nothing) and `[^]` (anything)."""
    if pattern.startswith("]", i):
        return "(?!)", i + 1, False
    if pattern.startswith("^]", i):
        return "[\\s\\S]", i + 2, False
    if pattern.startswith("^", i):
        return "[^", i + 1, True
    return "[", i, True


def _escape(pattern: str, i: int, in_class: bool) -> tuple[str, int]:
    """The Python form of the escape whose letter is at `i`, and where to go on."""
    if i >= len(pattern):
        raise UnsupportedPattern("the pattern ends with a lone backslash")
    letter = pattern[i]
    if letter in _SAME:
        return "\\" + letter, i + 1
    if letter == "s":
        return (_SPACE if in_class else f"[{_SPACE}]"), i + 1
    if letter == "S" and not in_class:
        return f"[^{_SPACE}]", i + 1
    if letter == "u" and pattern.startswith("{", i + 1):
        end = pattern.index("}", i)
        return f"\\U{int(pattern[i + 2 : end], 16):08x}", end + 1
    if letter in "ux":
        size = 4 if letter == "u" else 2
        return "\\" + pattern[i : i + 1 + size], i + 1 + size
    if letter == "c" and pattern[i + 1 : i + 2].isalpha():
        return f"\\x{ord(pattern[i + 1]) % 32:02x}", i + 2
    if letter == "0" and not pattern[i + 1 : i + 2].isdigit():
        return "\\x00", i + 1
    if letter.isdigit():  # a back-reference to a numbered group
        end = i
        while end < len(pattern) and pattern[end].isdigit():
            end += 1
        return "\\" + pattern[i:end], end
    if letter == "k" and pattern.startswith("<", i + 1):
        end = pattern.index(">", i)
        return f"(?P={pattern[i + 2 : end]})", end + 1
    if letter.isalnum():  # \p{...}, \S inside a class and the like
        raise UnsupportedPattern(f"the escape \\{letter} is not supported here")
    return re.escape(letter), i + 1


# e-mail: one @, a dot-atom local part, a domain of dotted labels (as ajv-formats reads
# RFC 5321), ASCII only; no spaces, no second @, no empty parts.
_ATOM = "[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = "[a-z0-9](?:[a-z0-9-]*[a-z0-9])?"
_EMAIL = re.compile(f"{_ATOM}(?:\\.{_ATOM})*@(?:{_LABEL}\\.)+{_LABEL}", re.ASCII | re.IGNORECASE)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIME = re.compile(
    r"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]+)?(?:(z)|([+-])([0-9]{2}):([0-9]{2}))",
    re.IGNORECASE,
)
_DAYS = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def is_email(value: object) -> bool:
    """`format: email`: an address a mail server would route (other types pass)."""
    return not isinstance(value, str) or _EMAIL.fullmatch(value) is not None


def is_date(value: object) -> bool:
    """`format: date`: RFC 3339 full-date, YYYY-MM-DD, a day that exists."""
    if not isinstance(value, str):
        return True
    found = _DATE.fullmatch(value)
    if found is None:
        return False
    year, month, day = (int(part) for part in found.groups())
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 1 <= month <= 12 and 1 <= day <= (29 if month == 2 and leap else _DAYS[month])


def is_time(value: object) -> bool:
    """`format: time`: RFC 3339 full-time, hh:mm:ss with a UTC offset; a leap second
    only at 23:59:60 UTC."""
    if not isinstance(value, str):
        return True
    found = _TIME.fullmatch(value)
    if found is None:
        return False
    hour, minute, second = (int(part) for part in found.group(1, 2, 3))
    sign = -1 if found.group(5) == "-" else 1
    offset_hour, offset_minute = (int(found.group(k) or 0) for k in (6, 7))
    if offset_hour > 23 or offset_minute > 59:
        return False
    if hour <= 23 and minute <= 59 and second <= 59:
        return True
    utc_minute = minute - offset_minute * sign
    utc_hour = hour - offset_hour * sign - (1 if utc_minute < 0 else 0)
    return second == 60 and utc_hour in (23, -1) and utc_minute in (59, -1)


def is_datetime(value: object) -> bool:
    """`format: date-time`: RFC 3339 date-time, a real date, `T`, a full time."""
    if not isinstance(value, str):
        return True
    day, separator, time = value[:10], value[10:11], value[11:]
    return separator in ("T", "t") and is_date(day) and is_time(time)
