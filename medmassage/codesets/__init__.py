"""Code sets and identifiers (CLINICAL.md §5): ICD-10-CM diagnosis codes and NPI check digits.

ICD-10-CM lookups read `icd10cm.tsv`, a sorted index generated from the public code set by
`python -m medmassage.codesets.build` (see that module for the format). The file is opened
and memory-mapped on the first lookup only, and each lookup is a binary search over it, so
a run that checks no diagnosis code never touches it and one that does pays well under a
millisecond. This module imports nothing beyond the standard library's basics.

A code is *valid* when it is in the release and billable: a leaf of the tabular list, with
its 7th character where the code set requires one (CLINICAL.md §5). `M54.50` is valid;
`M54.5` and `M54` are headers; `S13.4XXA` is valid, `S13.4XX` and `S13.4` lack the 7th
character; `M99.99` does not exist.

Descriptions are compared forgivingly (`description_matches`): a provider writes fewer
words than the official title, in their own case and punctuation.
"""

from __future__ import annotations

import mmap
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

#: The ICD-10-CM release the shipped index holds (CLINICAL.md §5: the `simple-icd-10-cm`
#: package's data, April 2026). `build.py` writes it into the index; a mismatch is an error.
RELEASE: Final = "ICD-10-CM April 2026"
#: FHIR system URI of ICD-10-CM (CLINICAL.md §5).
ICD10CM_SYSTEM: Final = "http://hl7.org/fhir/sid/icd-10-cm"
#: The index file, next to this module.
INDEX_PATH: Final = Path(__file__).with_name("icd10cm.tsv")

Status = Literal["billable", "header", "needs-7th", "unknown"]


@dataclass(frozen=True)
class IcdCode:
    """What the code set says about one code.

    `status` is "billable" (valid on a claim), "header" (a category or subcategory with more
    specific codes under it), "needs-7th" (a leaf that takes a 7th character, given or
    padded incompletely) or "unknown" (not in the release). `description` is the official
    title ("" when unknown). `examples` names up to three billable codes under a header or
    the completions of a code lacking its 7th character; `seventh` maps each allowed 7th
    character to its meaning for "needs-7th".
    """

    code: str
    status: Status
    description: str = ""
    examples: tuple[str, ...] = ()
    seventh: tuple[tuple[str, str], ...] = ()

    @property
    def billable(self) -> bool:
        """True when the code may be used as it stands."""
        return self.status == "billable"


_SHAPE = re.compile(r"[A-Z][0-9A-Z][0-9A-Z](?:[0-9A-Z]{1,4})?")


def normalize(code: str) -> str:
    """A code without its dot, in capitals, surrounding blanks removed (`m54.50` -> `M5450`)."""
    return code.strip().upper().replace(".", "", 1)


def dotted(key: str) -> str:
    """The printed form of a code (`M5450` -> `M54.50`, `I10` -> `I10`)."""
    return key if len(key) <= 3 else f"{key[:3]}.{key[3:]}"


class _Index:
    """The mapped index file: exact-key lookup and in-order scans from a key."""

    def __init__(self, path: Path) -> None:
        with path.open("rb") as handle:
            self.data = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        release = self.get("!release")
        if release is None or release[1] != RELEASE:
            found = release[1] if release else "nothing"
            raise RuntimeError(f"{path} holds {found!r}, expected {RELEASE!r}: rebuild it")

    def _seek(self, key: bytes) -> int:
        """Offset of the first line whose key is >= `key` (binary search over lines)."""
        data = self.data
        lo, hi = 0, len(data)
        while lo < hi:
            mid = (lo + hi) // 2
            start = data.rfind(b"\n", 0, mid) + 1
            end = data.find(b"\n", start)
            if data[start : data.find(b"\t", start, end)] < key:
                lo = end + 1
            else:
                hi = start
        return lo

    def _line(self, offset: int) -> tuple[str, str, str, int] | None:
        """(key, kind, text, next offset) of the line at `offset`, None at the end."""
        if offset >= len(self.data):
            return None
        end = self.data.find(b"\n", offset)
        key, kind, text = self.data[offset:end].decode("utf-8").split("\t")
        return key, kind, text, end + 1

    def get(self, key: str) -> tuple[str, str] | None:
        """(kind, text) of `key`, or None."""
        line = self._line(self._seek(key.encode("ascii")))
        return (line[1], line[2]) if line and line[0] == key else None

    def scan(self, prefix: str) -> list[tuple[str, str, str]]:
        """Up to a few lines whose key starts with `prefix`, in order (for examples)."""
        found: list[tuple[str, str, str]] = []
        offset = self._seek(prefix.encode("ascii"))
        while len(found) < 8 and (line := self._line(offset)) and line[0].startswith(prefix):
            found.append(line[:3])
            offset = line[3]
        return found


_index: _Index | None = None


def _open() -> _Index:
    """The index, opened on first use."""
    global _index
    if _index is None:
        _index = _Index(INDEX_PATH)
    return _index


def _seventh_table(index: _Index, kind: str) -> tuple[tuple[str, str], ...]:
    """The allowed 7th characters and their meanings for a leaf of kind `7<n>:<chars>`."""
    table_id, chars = kind[1:].split(":")
    entry = index.get(f"!7{table_id}")
    meanings = dict(item.split("=", 1) for item in entry[1].split("|")) if entry else {}
    return tuple((char, meanings.get(char, "")) for char in chars)


def _extended(index: _Index, key: str) -> IcdCode | None:
    """A 7-character key read as a leaf (padded with placeholder X) plus its 7th character."""
    stem, char = key[:6], key[6]
    while True:
        entry = index.get(stem)
        if entry is not None:
            break
        if not stem.endswith("X") or len(stem) <= 3:
            return None
        stem = stem[:-1]
    kind, description = entry
    if not kind.startswith("7") or stem.ljust(6, "X") != key[:6]:
        return None
    meanings = dict(_seventh_table(index, kind))
    if char not in meanings:
        return None
    return IcdCode(dotted(key), "billable", f"{description}, {meanings[char]}")


def _billable_under(index: _Index, key: str) -> tuple[str, ...]:
    """Up to three billable codes starting with `key` (under a header, or completions)."""
    found: list[str] = []
    for child, kind, _text in index.scan(key):
        if kind == "B":
            found.append(dotted(child))
        elif kind.startswith("7"):
            stem = child.ljust(6, "X")
            found.extend(dotted(stem + c) for c, _m in _seventh_table(index, kind))
        if len(found) >= 3:
            break
    return tuple(found[:3])


def lookup(code: str) -> IcdCode:
    """What the code set says about `code` (with or without its dot; any text is safe)."""
    key = normalize(code)
    if not code.isascii() or not _SHAPE.fullmatch(key) or code.strip().find(".") not in (-1, 3):
        return IcdCode(code, "unknown")
    printed = dotted(key)
    index = _open()
    entry = index.get(key)
    if entry is not None:
        kind, description = entry
        if kind == "B":
            return IcdCode(printed, "billable", description)
        if kind == "H":
            return IcdCode(printed, "header", description, _billable_under(index, key))
        seventh = _seventh_table(index, kind)
        stem = key.ljust(6, "X")
        examples = tuple(dotted(stem + c) for c, _m in seventh[:3])
        return IcdCode(printed, "needs-7th", description, examples, seventh)
    if len(key) == 7:
        found = _extended(index, key)
        if found is not None:
            return found
        return IcdCode(printed, "unknown")
    # An incomplete extension (S13.4X, S13.4XX): a leaf padded with X but no 7th character.
    stem = key.rstrip("X")
    if stem != key and len(stem) >= 3:
        entry = index.get(stem)
        if entry is not None and entry[0].startswith("7") and stem.ljust(len(key), "X") == key:
            seventh = _seventh_table(index, entry[0])
            padded = stem.ljust(6, "X")
            examples = tuple(dotted(padded + c) for c, _m in seventh[:3])
            return IcdCode(printed, "needs-7th", entry[1], examples, seventh)
    return IcdCode(printed, "unknown")


def is_valid_icd10cm(code: str) -> bool:
    """True when `code` exists in the release and is billable (CLINICAL.md §5)."""
    return lookup(code).billable


_STOP_WORDS: Final = frozenset({"a", "an", "and", "the", "of", "or", "to", "in", "with", "for"})


def _words(text: str) -> list[str]:
    """Lower-case words of `text`, punctuation dropped, a few filler words left out."""
    return [w for w in re.findall(r"[0-9a-z]+", text.casefold()) if w not in _STOP_WORDS]


def description_matches(given: str, official: str) -> bool:
    """True when a provider's description plausibly names the official one.

    Forgiving by design: case, punctuation and the filler words "a, an, and, the, of, or,
    to, in, with, for" are ignored, and the two match when either one's words are all among
    the other's (so "low back pain" matches "Low back pain, unspecified", "Tension
    headache" matches "Tension-type headache, unspecified, not intractable", and a longer
    wording that contains the whole official title matches too). Wording that only shares
    some words ("Sprain of lumbar spine" for a cervical sprain) does not. An empty
    description (nothing but punctuation) never matches.
    """
    mine, theirs = set(_words(given)), set(_words(official))
    if not mine or not theirs:
        return False
    return mine <= theirs or theirs <= mine


_NPI: Final = re.compile(r"[0-9]{10}")


def npi_check_digit(first_nine: str) -> int:
    """The NPI check digit for nine ASCII digits: Luhn over `80840` + them (CLINICAL.md §5)."""
    digits = [int(d) for d in "80840" + first_nine]
    total = 0
    # Luhn: from the right of the payload, double every other digit starting with the last.
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if position % 2 == 0 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return (10 - total % 10) % 10


def npi_valid(npi: str) -> bool:
    """True when `npi` is 10 ASCII digits whose last is the Luhn check digit (CLINICAL.md §5)."""
    if not _NPI.fullmatch(npi):
        return False
    return npi_check_digit(npi[:9]) == int(npi[9])
