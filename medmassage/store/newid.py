"""Ids for new records (SPEC §3): opaque numbers for patients, dates for dated
records, a slug of the name for therapists and providers."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path

from medmassage.store.ids import MAX_LENGTH, is_valid_id

PATIENT_PREFIX = "p-"
_PATIENT_NUMBER = re.compile(r"p-(\d+)")
_WORD = re.compile(r"[a-z0-9]+")


def slug(name: str) -> str | None:
    """`Dr. Lena Marsh` -> `dr-lena-marsh`; None when no valid id can be made."""
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    words = _WORD.findall(folded)
    while words and not words[0][0].isalpha():
        words.pop(0)  # an id starts with a letter
    text = "-".join(words)
    while len(text) > MAX_LENGTH and "-" in text:
        text = text.rsplit("-", 1)[0]
    return text if is_valid_id(text) else None


def next_patient_id(patients: Path) -> str:
    """The next free opaque patient id: one past the highest `p-NNNN` folder, padded to 4 digits."""
    highest = 0
    try:
        names = [item.name for item in patients.iterdir()]
    except (FileNotFoundError, NotADirectoryError):
        names = []
    for name in names:
        match = _PATIENT_NUMBER.fullmatch(name)
        if match:
            highest = max(highest, int(match.group(1)))
    return f"{PATIENT_PREFIX}{highest + 1:04d}"


def next_dated_id(folder: Path, day: str) -> str:
    """`2026-03-14`, or `2026-03-14-2`, `-3`... when earlier ones exist in `folder`."""
    candidate, number = day, 1
    while (folder / f"{candidate}.yaml").exists():
        number += 1
        candidate = f"{day}-{number}"
    return candidate


def iso_day(value: object, fallback: str) -> str:
    """`value` when it is an ISO date, else `fallback`."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    return fallback
