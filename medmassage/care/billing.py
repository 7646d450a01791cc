"""Billing units by the 8-minute rule, and the technique → CPT table (CLINICAL.md §2).

Every figure here is in minutes or in units (one unit = one CPT code billed once). Two
unit rules, a store setting (`billing.units` in medmassage.yaml):

- `cms` (the default), CMS Medicare Claims Processing Manual ch.5 §20.2: the timed
  minutes of the visit are added up and the total decides how many units the visit
  bills; each code gets one unit per full 15 minutes and the units left over go to the
  codes with the largest remaining minutes.
- `per_code` (some private payers and auto carriers): each code on its own, 8–22 min =
  1 unit, 23–37 = 2, and so on; under 8 minutes of a code, that code is not billed.

Techniques map to codes through `DEFAULT_CODES`, which the store overrides technique by
technique (`billing.codes`); a technique mapped to `none` is not billed. CPT codes are the
AMA's: the product ships codes and short plain descriptions only. Pure functions, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

METHODS = ("cms", "per_code")
"""The unit rules a store may choose; `cms` is the default."""

NOT_BILLED = "none"
"""The value that, in the store's table, marks a technique as not billed."""

UNIT_MINUTES = 15
"""Minutes in one unit of a timed code (CLINICAL.md §2, CMS ch.5 §20.2)."""

THRESHOLD_MINUTES = 8
"""The least minutes that bill a unit: the "8-minute rule" (CLINICAL.md §2)."""

# Timed codes (billed by the minute) and untimed ones (one unit a visit); short plain
# descriptions of our own, not the AMA's descriptors.
TIMED_CODES: dict[str, str] = {
    "97110": "therapeutic exercise",
    "97112": "neuromuscular re-education",
    "97124": "massage",
    "97140": "manual therapy techniques",
    "97530": "therapeutic activities",
    "97535": "self-care / home management training",
}
UNTIMED_CODES: dict[str, str] = {
    "97010": "hot or cold packs",
    "97012": "mechanical traction",
    "97014": "electrical stimulation, unattended",
}

# CLINICAL.md §2 "common defaults"; the techniques it does not name are manual therapy
# techniques by their nature (97140). `stretching` here is passive stretching given by the
# therapist, a manual technique; a clinic that teaches it as exercise maps it to 97110.
DEFAULT_CODES: dict[str, str] = {
    "swedish": "97124",
    "myofascial_release": "97140",
    "trigger_point_therapy": "97140",
    "deep_tissue": "97140",
    "cross_fiber_friction": "97140",
    "joint_mobilization": "97140",
    "scar_tissue_mobilization": "97140",
    "lymphatic_drainage": "97140",
    "neuromuscular_therapy": "97140",
    "stretching": "97140",
    "pin_and_stretch": "97140",
    "muscle_energy_technique": "97140",
    "positional_release": "97140",
    "active_release": "97140",
    "craniosacral": "97140",
    "intraoral_tmj": "97140",
    "instrument_assisted": "97140",
    "cupping": "97140",
    "hydrotherapy": "97010",
}


class Line(NamedTuple):
    """One computed billing line: CPT code, its minutes at the visit, units it bills."""

    code: str
    minutes: int
    units: int


@dataclass(frozen=True)
class BillingSettings:
    """The store's billing settings: its technique → code table and its unit rule."""

    codes: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_CODES))
    units: str = "cms"


def billing_settings(section: Mapping[str, Any] | None) -> BillingSettings:
    """The settings from the `billing:` section of medmassage.yaml (schema-valid, or None).

    The store's `codes` override the defaults technique by technique; `units` defaults to
    `cms` (CLINICAL.md §2)."""
    section = section or {}
    table = dict(DEFAULT_CODES)
    for entry in section.get("codes") or []:
        table[str(entry["technique"])] = str(entry["code"])
    return BillingSettings(table, str(section.get("units") or "cms"))


def known_codes(settings: BillingSettings) -> set[str]:
    """Every code a note may bill: the timed and untimed codes the product knows, and any
    code the store's table maps a technique to."""
    table = {code for code in settings.codes.values() if code != NOT_BILLED}
    return set(TIMED_CODES) | set(UNTIMED_CODES) | table


def is_timed(code: str) -> bool:
    """True for a code billed by the minute: any code not known to be untimed."""
    return code not in UNTIMED_CODES


def minutes_by_code(session: Mapping[str, Any], table: Mapping[str, str]) -> dict[str, int]:
    """Minutes of each timed CPT code at a visit (minutes), from its treatment entries.

    Techniques the table does not know, maps to `none` or to an untimed code carry no
    timed minutes (CLINICAL.md §2: only timed minutes count)."""
    totals: dict[str, int] = {}
    for item in session.get("treatment") or []:
        code = table.get(str(item.get("technique")), NOT_BILLED)
        if code == NOT_BILLED or not is_timed(code):
            continue
        totals[code] = totals.get(code, 0) + int(item.get("minutes") or 0)
    return totals


def units_for_minutes(minutes: int) -> int:
    """Units (count) that `minutes` of timed service bill: 0 under 8, 1 for 8–22, 2 for
    23–37, one more for each further 15 (CLINICAL.md §2, CMS ch.5 §20.2)."""
    if minutes < THRESHOLD_MINUTES:
        return 0
    return (minutes - THRESHOLD_MINUTES) // UNIT_MINUTES + 1


def units_cms(minutes: Mapping[str, int]) -> dict[str, int]:
    """Units per code by the CMS method (CLINICAL.md §2, CMS Medicare Claims Processing
    Manual ch.5 §20.2): the total timed minutes decide the visit's units; each code gets
    one per full 15 minutes, the rest go one each to the codes with the largest remaining
    minutes. CMS leaves a tie to the biller; we give it to the code with fewer units so
    far, then the lower code, so that a service given is billed. Codes are in minutes,
    the result in units; codes left with 0 units are omitted."""
    total = units_for_minutes(sum(minutes.values()))
    units = {code: spent // UNIT_MINUTES for code, spent in minutes.items()}
    left = total - sum(units.values())
    by_remainder = sorted(
        (code for code, spent in minutes.items() if spent % UNIT_MINUTES),
        key=lambda code: (-(minutes[code] % UNIT_MINUTES), units[code], code),
    )
    for code in by_remainder[: max(left, 0)]:
        units[code] += 1
    return {code: count for code, count in units.items() if count}


def units_per_code(minutes: Mapping[str, int]) -> dict[str, int]:
    """Units per code by the per-code rule (CLINICAL.md §2): each code's minutes on their
    own, 8–22 min = 1 unit and so on; a code under 8 minutes is not billed (omitted)."""
    units = {code: units_for_minutes(spent) for code, spent in minutes.items()}
    return {code: count for code, count in units.items() if count}


def compute_units(minutes: Mapping[str, int], method: str) -> dict[str, int]:
    """Units per code by the store's unit rule (`cms` or `per_code`)."""
    return units_per_code(minutes) if method == "per_code" else units_cms(minutes)


def billing_lines(session: Mapping[str, Any], settings: BillingSettings) -> list[Line]:
    """The billing lines a visit's treatment supports, by code: minutes (of that code) and
    units (by the store's unit rule, CLINICAL.md §2). Codes with minutes but no unit are
    kept with 0 units, so that a note can show every minute; sorted by code."""
    minutes = minutes_by_code(session, settings.codes)
    units = compute_units(minutes, settings.units)
    return [Line(code, minutes[code], units.get(code, 0)) for code in sorted(minutes)]


def billed_units(codes: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """Units billed per code on a note's `billing.codes` (units; a code listed twice adds)."""
    billed: dict[str, int] = {}
    for entry in codes:
        code = str(entry.get("code"))
        billed[code] = billed.get(code, 0) + int(entry.get("units") or 0)
    return billed


def describe(code: str) -> str:
    """The short plain description of a known code, or an empty string."""
    return TIMED_CODES.get(code) or UNTIMED_CODES.get(code) or ""
