"""Reference values the documents print beside measurements: normal range of motion
and, for each outcome instrument, its score range, which way is better and the
minimal clinically important difference (MCID).

The tables are deliberately conservative. Where published MCIDs disagree we use the
larger one, so that a letter never calls a change "clinically meaningful" on the
strength of the most generous study; where we found no estimate we trusted, the MCID
is None and the documents say the change is "not judged". Sources are cited next to
each entry. These are reference points for a letter, not diagnostic criteria: normal
range varies with age, sex and measuring method.
"""

from __future__ import annotations

from medmassage.care.instruments import INSTRUMENTS, Instrument

__all__ = ["INSTRUMENTS", "Instrument"]  # the one instrument table: care/instruments.py


# fmt: off
# Range of motion in degrees has no MCID. A change counts as "beyond measurement error"
# only when it is at least this many degrees: CLINICAL.md §3, "the goniometer's ~10°
# measurement error" (a conservative margin over the roughly 5 degree intra-rater error
# reported by Gajdosik RL, Bohannon RW, Phys Ther 1987;67:1867-1872). Unit: degrees.
ROM_MEASUREMENT_ERROR = 10.0

# Linear range of motion (mouth opening) in millimetres: smallest detectable difference
# 6-9 mm (CLINICAL.md §3, Kropmans TJ et al., Eur J Oral Sci 2000). We take the upper end,
# as for every other threshold here, so that a letter never claims more than the data
# supports. Unit: millimetres.
LINEAR_SDD_MM = 9.0

# Normal active range of motion in degrees, (joint, movement) -> upper end of the range
# starting at 0, from ONE named table per store (`norms:` in medmassage.yaml).
# AAOS: CLINICAL.md §3, American Academy of Orthopaedic Surgeons values as tabulated in
# Norkin CC, White DJ, Measurement of Joint Motion, Appendix A (thoracolumbar values are
# listed for the lumbar spine, where the tape or inclinometer measure is taken).
# AMA: the AMA Guides to the Evaluation of Permanent Impairment, 5th ed., for the spine
# (cervical flexion 50, extension 60, lateral flexion 45, rotation 80; lumbar by dual
# inclinometry flexion 60, extension 25, lateral flexion 25), AAOS for the limbs.
# The jaw (measured in mm) and the thoracic spine alone are left out rather than guessed.
_LIMBS: dict[tuple[str, str], float] = {
    ("shoulder", "flexion"): 180, ("shoulder", "extension"): 60,
    ("shoulder", "abduction"): 180, ("shoulder", "internal_rotation"): 70,
    ("shoulder", "external_rotation"): 90,
    ("elbow", "flexion"): 150,
    ("wrist", "flexion"): 80, ("wrist", "extension"): 70,
    ("hip", "flexion"): 120, ("hip", "extension"): 30, ("hip", "abduction"): 45,
    ("hip", "adduction"): 30, ("hip", "internal_rotation"): 45, ("hip", "external_rotation"): 45,
    ("knee", "flexion"): 135,
    ("ankle", "dorsiflexion"): 20, ("ankle", "plantarflexion"): 50,
}
NORMAL_TABLES: dict[str, tuple[str, dict[tuple[str, str], float]]] = {
    "aaos": ("AAOS, Norkin & White", {
        ("cervical_spine", "flexion"): 45, ("cervical_spine", "extension"): 45,
        ("cervical_spine", "lateral_flexion"): 45, ("cervical_spine", "rotation"): 60,
        ("lumbar_spine", "flexion"): 80, ("lumbar_spine", "extension"): 25,
        ("lumbar_spine", "lateral_flexion"): 35,
        **_LIMBS,
    }),
    "ama": ("AMA Guides 5th ed. (spine), AAOS (limbs)", {
        ("cervical_spine", "flexion"): 50, ("cervical_spine", "extension"): 60,
        ("cervical_spine", "lateral_flexion"): 45, ("cervical_spine", "rotation"): 80,
        ("lumbar_spine", "flexion"): 60, ("lumbar_spine", "extension"): 25,
        ("lumbar_spine", "lateral_flexion"): 25,
        **_LIMBS,
    }),
}
DEFAULT_TABLE = "aaos"
# fmt: on


def normal_top(joint: str, movement: str, table: str = DEFAULT_TABLE) -> float | None:
    """The upper end of the normal range in degrees from the named table (CLINICAL.md §3:
    AAOS by default, AMA Guides for the spine when the store chooses), None if not listed."""
    return NORMAL_TABLES.get(table, NORMAL_TABLES[DEFAULT_TABLE])[1].get((joint, movement))


def reference(table: str = DEFAULT_TABLE) -> str:
    """The name of the table normal values come from, as printed beside them."""
    return NORMAL_TABLES.get(table, NORMAL_TABLES[DEFAULT_TABLE])[0]


def normal_rom(joint: str, movement: str, table: str = DEFAULT_TABLE) -> str:
    """The normal range as printed beside a measurement, e.g. '0–80°', or '' if unknown."""
    top = normal_top(joint, movement, table)
    return f"0–{top:g}°" if top is not None else ""


def is_percent(unit: str) -> bool:
    """True for a unit that says percent ('percent', '%', '% of 100')."""
    text = unit.strip().lower()
    return "%" in text or text.startswith("percent")


def is_millimetres(unit: str) -> bool:
    """True for a linear range-of-motion unit ('mm', 'millimetres', 'millimeters')."""
    return unit.strip().lower() in ("mm", "millimetre", "millimetres", "millimeter", "millimeters")


def in_unit(name: str, value: float, from_unit: str, to_unit: str) -> float:
    """A score of instrument `name` moved from one of its units to another by the linear map
    between their ranges (CLINICAL.md §3: NDI "total 0-50, or × 2 as %", so 7.5 points =
    15 %); the ranges come from the instrument table (care/instruments.py). Units: 'points'
    or 'percent'. KeyError for an instrument or a unit the table does not know."""
    if from_unit == to_unit:
        return value
    ranges = INSTRUMENTS[name].units
    (low_a, high_a), (low_b, high_b) = ranges[from_unit], ranges[to_unit]
    return low_b + (value - low_a) / (high_a - low_a) * (high_b - low_b)


def change_in_unit(name: str, change: float, from_unit: str, to_unit: str) -> float:
    """A difference between two scores (e.g. an MCID) moved from one unit to another, by the
    same map as `in_unit` (NDI: 7.5 points -> 15 %)."""
    low = INSTRUMENTS[name].units[from_unit][0]
    return in_unit(name, low + change, from_unit, to_unit) - in_unit(name, low, from_unit, to_unit)


def instrument(name: str) -> Instrument | None:
    """Metadata of an outcome instrument (or of 'NRS' pain), None for one we do not know;
    read from the one table in care/instruments.py (CLINICAL.md §3)."""
    return INSTRUMENTS.get(name)
