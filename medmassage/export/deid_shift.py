"""The arithmetic of a de-identified copy (CLINICAL.md §5, HIPAA Safe Harbor, 45 CFR
164.514(b)(2)): keyed pseudo-random draws from the user's seed, dates moved by an offset
that keeps every interval, ages over 89 grouped, and ZIP codes cut to three digits.

Pure functions, no I/O. Every draw is an HMAC of the seed over a label, so the same seed
gives the same copy and nobody without the seed can recompute an offset."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re

# Offsets move dates into the past (never past today, where the rules judge future dates
# as errors) by whole weeks, so the weekday of every visit is kept. The store's dates
# (licenses) move by STORE_WEEKS; each patient's by that plus PATIENT_EXTRA_WEEKS more, so
# a license valid on the day of a visit is still valid on the day the visit moved to.
STORE_WEEKS = (52, 104)
PATIENT_EXTRA_WEEKS = (0, 52)
AGE_LIMIT = 89  # Safe Harbor: ages over 89 are aggregated into a single "90 or older"

# Three-digit ZIP areas of 20,000 people or fewer (2000 Census), which Safe Harbor
# replaces by 000: HHS Office for Civil Rights, "Guidance Regarding Methods for
# De-identification of Protected Health Information in Accordance with the HIPAA Privacy
# Rule" (2012), §3.3 (https://www.hhs.gov/hipaa/for-professionals/special-topics/
# de-identification/index.html), implementing 45 CFR 164.514(b)(2)(i)(B).
RESTRICTED_ZIP3 = frozenset(
    {"036", "059", "063", "102", "203", "556", "692", "790", "821"}
    | {"823", "830", "831", "878", "879", "884", "890", "893"}
)
# A state as Safe Harbor keeps it: a region's code (OR, NY, NSW), or the name of a US state,
# the District of Columbia or a territory. Anything else written in a state field (a
# county, a city: geography below the state) is removed.
_REGION_CODE = re.compile(r"[A-Z]{2,3}")
US_STATE_NAMES = frozenset(
    {"alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut"}
    | {"delaware", "florida", "georgia", "hawaii", "idaho", "illinois", "indiana", "iowa"}
    | {"kansas", "kentucky", "louisiana", "maine", "maryland", "massachusetts", "michigan"}
    | {"minnesota", "mississippi", "missouri", "montana", "nebraska", "nevada", "new hampshire"}
    | {"new jersey", "new mexico", "new york", "north carolina", "north dakota", "ohio"}
    | {"oklahoma", "oregon", "pennsylvania", "rhode island", "south carolina", "south dakota"}
    | {"tennessee", "texas", "utah", "vermont", "virginia", "washington", "west virginia"}
    | {"wisconsin", "wyoming", "district of columbia", "puerto rico", "guam", "american samoa"}
    | {"northern mariana islands", "u.s. virgin islands", "virgin islands"}
)
_ZIP = re.compile(r"(\d{3})\d{2}(?:-?\d{4})?")
_DATE_ID = re.compile(r"(\d{4}-\d{2}-\d{2})((?:-[1-9]\d*)?)")
_DATETIME = re.compile(r"(\d{4}-\d{2}-\d{2})(T.*)")


class Keyed:
    """Pseudo-random draws keyed by the seed: the same label always draws the same."""

    def __init__(self, seed: str) -> None:
        self._key = hashlib.sha256(f"medmassage-deid:{seed}".encode()).digest()

    def number(self, label: str) -> int:
        """A large non-negative integer drawn for `label`."""
        digest = hmac.new(self._key, label.encode("utf-8"), hashlib.sha256).digest()
        return int.from_bytes(digest, "big")

    def within(self, label: str, low: int, high: int) -> int:
        """An integer in [low, high] drawn for `label`."""
        return low + self.number(label) % (high - low + 1)

    def digits(self, label: str, count: int) -> str:
        """`count` decimal digits drawn for `label`."""
        return str(self.number(label) % 10**count).zfill(count)

    def store_offset(self) -> int:
        """Days the store-wide dates (licenses) move by: negative, whole weeks."""
        return -7 * self.within("store-offset", *STORE_WEEKS)

    def patient_offset(self, patient: str) -> int:
        """Days one patient's dates move by (keyed by the original id): at least as far
        back as the store's, in whole weeks."""
        return self.store_offset() - 7 * self.within(
            f"patient-offset:{patient}", *PATIENT_EXTRA_WEEKS
        )


def shift_date(value: str, days: int) -> str:
    """A YYYY-MM-DD date moved by `days`."""
    return (dt.date.fromisoformat(value) + dt.timedelta(days=days)).isoformat()


def shift_datetime(value: str, days: int) -> str:
    """A timestamp's date moved by `days`; its time of day and UTC offset kept as written."""
    found = _DATETIME.fullmatch(value)
    if found is None:
        raise ValueError(f"not a timestamp: {value!r}")
    return shift_date(found.group(1), days) + found.group(2)


def is_date_id(value: str) -> bool:
    """True for the ids dated records carry: 2026-03-14 or 2026-03-14-2."""
    return _DATE_ID.fullmatch(value) is not None


def shift_date_id(value: str, days: int) -> str:
    """A dated record's id moved with its date, its -N suffix kept."""
    found = _DATE_ID.fullmatch(value)
    if found is None:
        raise ValueError(f"not a dated id: {value!r}")
    return shift_date(found.group(1), days) + found.group(2)


def age_on(birth: str, day: str) -> int:
    """Whole years from `birth` to `day` (both YYYY-MM-DD)."""
    born, on = dt.date.fromisoformat(birth), dt.date.fromisoformat(day)
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def years_before(day: str, years: int) -> str:
    """The date `years` before `day` (29 February becomes the 28th in a common year)."""
    on = dt.date.fromisoformat(day)
    try:
        return on.replace(year=on.year - years).isoformat()
    except ValueError:
        return on.replace(year=on.year - years, day=28).isoformat()


def grouped_birth_date(first_day: str) -> str:
    """The birth date given to a patient over 89 (Safe Harbor groups them as 90+): 90
    years before the first day of their chart, so that every document reads 90 or a
    little more, never the true age."""
    return years_before(first_day, AGE_LIMIT + 1)


def zip3(postal_code: str) -> str | None:
    """A US ZIP code cut to its first three digits, or 000 for the areas of 20,000 people
    or fewer (RESTRICTED_ZIP3); None for anything that is not a US ZIP code (dropped)."""
    found = _ZIP.fullmatch(postal_code.strip())
    if found is None:
        return None
    head = found.group(1)
    return "000" if head in RESTRICTED_ZIP3 else head


def is_state(value: str) -> bool:
    """True for what a de-identified copy keeps of a state field: a region's code or a US
    state's (territory's) name; a county or a city written there is not a state."""
    text = value.strip()
    return _REGION_CODE.fullmatch(text) is not None or " ".join(text.lower().split()) in (
        US_STATE_NAMES
    )
