"""Pseudonyms for a de-identified copy: new ids for patients, therapists and providers
(in an order drawn from the seed, so no original order shows through), and identifiers
(NPIs, license, member and claim numbers) replaced by values of the same shape that the
store's own rules still accept. The same original always gets the same pseudonym across
the store; the mapping lives only in memory and is never written into the copy."""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable

from medmassage.codesets import npi_check_digit
from medmassage.export.deid_shift import Keyed

PATIENT_PREFIX = "p-"
THERAPIST_PREFIX = "therapist-"
PROVIDER_PREFIX = "provider-"
PLACEHOLDER = "[removed]"  # an identifier with nothing to draw a pseudonym from


def numbered(keyed: Keyed, ids: Iterable[str], prefix: str, label: str) -> dict[str, str]:
    """New ids `prefix` + a number for `ids`, numbered in an order drawn from the seed
    (patients get four digits at least, like the ids `create` makes)."""
    ordered = sorted(set(ids), key=lambda old: (keyed.number(f"{label}:{old}"), old))
    width = max(4, len(str(len(ordered)))) if prefix == PATIENT_PREFIX else 1
    return {old: f"{prefix}{number:0{width}d}" for number, old in enumerate(ordered, 1)}


class Pseudonyms:
    """Identifier pseudonyms drawn once per original value and remembered."""

    def __init__(self, keyed: Keyed) -> None:
        self.keyed = keyed
        self._given: dict[tuple[str, str], str] = {}
        self._used: set[str] = set()

    def _draw(self, label: str, original: str, make: Callable[[str], str]) -> str:
        """The pseudonym for `original` in `label`'s family: drawn again until it is new
        and differs from the original."""
        key = (label, original)
        if key not in self._given:
            attempt = 0
            while True:
                candidate = make(f"{label}:{original}:{attempt}")
                if attempt > 100:  # a short shape with few values left: made unique
                    candidate += f"-{attempt}"
                if candidate != original and candidate not in self._used:
                    break
                attempt += 1
            self._used.add(candidate)
            self._given[key] = candidate
        return self._given[key]

    def label(self, family: str, original: str) -> str:
        """`family` and a number (Payer 2), numbered as originals are first met: the
        same original, the same label."""
        key = (family, original)
        if key not in self._given:
            self._given[key] = f"{family} {sum(1 for f, _ in self._given if f == family) + 1}"
        return self._given[key]

    def npi(self, original: str) -> str:
        """A 10-digit NPI starting 1 or 2 (as issued NPIs do) with a valid check digit
        (CLINICAL.md §5), the same for the same original NPI wherever it appears."""

        def make(label: str) -> str:
            first_nine = str(self.keyed.within(label + ":head", 1, 2)) + self.keyed.digits(label, 8)
            return first_nine + str(npi_check_digit(first_nine))

        return self._draw("npi", original, make)

    def identifier(self, original: str, keep_letters: bool = False) -> str:
        """A member, group, claim or tax number of the same shape: each digit replaced by
        a drawn digit and each letter by a drawn ASCII letter of the same case, in any
        script (an accented letter, a digit of another script would otherwise survive);
        other characters kept. With `keep_letters` (a license), only the credential
        prefix is kept, like "LMT" in "LMT 19427" (see `_credential_prefix`)."""
        if not any(c.isalnum() for c in original):
            return PLACEHOLDER
        kept = _credential_prefix(original) if keep_letters else 0
        family = "license" if keep_letters else "identifier"

        def make(label: str) -> str:
            out = list(original[:kept])
            for index, char in enumerate(original[kept:], kept):
                drawn = self.keyed.number(f"{label}:{index}")
                if char.isdigit() or (char.isnumeric() and not char.isalpha()):
                    out.append(str(drawn % 10))
                elif char.isalpha():
                    letters = string.ascii_lowercase if char.islower() else string.ascii_uppercase
                    out.append(letters[drawn % 26])
                else:
                    out.append(char)
            return "".join(out)

        return self._draw(family, original, make)


def _credential_prefix(license_number: str) -> int:
    """How many leading characters of a license number are its credential prefix ("LMT "
    of "LMT 19427"): up to six capital ASCII letters ending at a space, a hyphen or a
    digit, with that separator; 0 when there is none, or when nothing of the number
    follows it (all of "A " kept would leave nothing to draw: then every letter is drawn)."""
    found = re.match(r"[A-Z]{1,6}(?:[ -]|(?=\d))", license_number)
    if found is None or not any(c.isalnum() for c in license_number[found.end() :]):
        return 0
    return found.end()
