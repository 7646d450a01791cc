"""Identifier rules (SPEC §3): checked with a full match before any path is built."""

from __future__ import annotations

import functools
import re

MAX_LENGTH = 64
# General ids (`p-0007`, `amara-okafor`, `g1`) or dated ids (`2026-03-14`, `2026-03-14-2`).
_GENERAL = r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*"
_DATED = r"\d{4}-\d{2}-\d{2}(?:-[1-9]\d*)?"
ID_PATTERN = re.compile(rf"(?:{_GENERAL}|{_DATED})")


def is_valid_id(text: object) -> bool:
    """True when `text` may be used as a record id and so as a file or folder name."""
    return isinstance(text, str) and _valid(text)


@functools.lru_cache(maxsize=8192)  # a store's walk asks about the same dates again and again
def _valid(text: str) -> bool:
    return len(text) <= MAX_LENGTH and ID_PATTERN.fullmatch(text) is not None


def describe_id_rule() -> str:
    """The rule in words, for error messages."""
    return (
        "ids are lower-case letters, digits and single hyphens, starting with a letter "
        f"(like p-0007), or a date like 2026-03-14 or 2026-03-14-2; at most {MAX_LENGTH} characters"
    )
