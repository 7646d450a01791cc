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

from typing import NamedTuple


class Instrument(NamedTuple):
    """An outcome questionnaire: its score range, direction and MCID (in its own points)."""

    name: str
    low: float
    high: float
    lower_is_better: bool
    mcid: float | None
    source: str


# fmt: off
INSTRUMENTS: dict[str, Instrument] = {
    # Numeric pain rating scale 0-10: 2 points (Farrar JT et al., Pain 2001;94:149-158,
    # also ~30 %); the same threshold the IMMPACT recommendations use.
    "NRS": Instrument("Pain (NRS 0-10)", 0, 10, True, 2, "Farrar et al. 2001"),
    # Oswestry Disability Index 0-100 %: 10 points (Ostelo RW et al., Spine 2008;33:90-94).
    "ODI": Instrument("Oswestry Disability Index", 0, 100, True, 10, "Ostelo et al. 2008"),
    # Neck Disability Index scored 0-50 points: 7.5 points = 15 % (Young BA et al.,
    # Spine J 2009;9:802-808; Cleland JA et al., Arch Phys Med Rehabil 2006).
    "NDI": Instrument("Neck Disability Index", 0, 50, True, 7.5, "Young et al. 2009"),
    # Patient-Specific Functional Scale, mean 0-10: 2 points for the mean score
    # (Stratford P et al., Physiother Can 1995;47:258-263).
    "PSFS": Instrument(
        "Patient-Specific Functional Scale", 0, 10, False, 2, "Stratford et al. 1995"
    ),
    # Lower Extremity Functional Scale 0-80: 9 points
    # (Binkley JM et al., Phys Ther 1999;79:371-383).
    "LEFS": Instrument("Lower Extremity Functional Scale", 0, 80, False, 9, "Binkley et al. 1999"),
    # QuickDASH 0-100: 15.9 points (Franchignoni F et al., JOSPT 2014;44:30-39); smaller
    # estimates exist (8 points, Mintken 2009); we use the larger one.
    "QuickDASH": Instrument("QuickDASH", 0, 100, True, 15.9, "Franchignoni et al. 2014"),
    # Shoulder Pain and Disability Index 0-100: 8-13 points (Roy JS et al., Arthritis
    # Rheum 2009;61:623-632); we use the upper end.
    "SPADI": Instrument("Shoulder Pain and Disability Index", 0, 100, True, 13, "Roy et al. 2009"),
    # The remaining instruments have MCIDs that differ widely by population and method,
    # or are relative (FIQR: % change); the documents report their change without judging it.
    "HIT-6": Instrument("Headache Impact Test", 36, 78, True, None, ""),
    "FIQR": Instrument("Revised Fibromyalgia Impact Questionnaire", 0, 100, True, None, ""),
    "KOOS-JR": Instrument("KOOS, JR.", 0, 100, False, None, ""),
    "JFLS-8": Instrument("Jaw Functional Limitation Scale", 0, 10, True, None, ""),
    "PSS-10": Instrument("Perceived Stress Scale", 0, 40, True, None, ""),
}

# Range of motion has no MCID. A change counts as "beyond measurement error" only when
# it is at least this many degrees: a conservative margin over the roughly 5 degree
# intra-rater error reported for goniometry (Gajdosik RL, Bohannon RW, Phys Ther
# 1987;67:1867-1872).
ROM_MEASUREMENT_ERROR = 10.0

# Normal active range of motion in degrees, (joint, movement) -> upper end of the range
# starting at 0. Spine: AMA Guides to the Evaluation of Permanent Impairment, 5th ed.
# (cervical: flexion 50, extension 60, lateral flexion 45, rotation 80; lumbar by dual
# inclinometry: flexion 60, extension 25, lateral flexion 25). Limbs: American Academy of
# Orthopaedic Surgeons values as tabulated in Norkin CC, White DJ, Measurement of Joint
# Motion. Thoracic spine, lumbar rotation and the jaw (measured in mm) are left out
# rather than guessed.
NORMAL_ROM: dict[tuple[str, str], float] = {
    ("cervical_spine", "flexion"): 50, ("cervical_spine", "extension"): 60,
    ("cervical_spine", "lateral_flexion"): 45, ("cervical_spine", "rotation"): 80,
    ("lumbar_spine", "flexion"): 60, ("lumbar_spine", "extension"): 25,
    ("lumbar_spine", "lateral_flexion"): 25,
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
# fmt: on


def normal_rom(joint: str, movement: str) -> str:
    """The normal range as printed beside a measurement, e.g. '0-80°', or '' if unknown."""
    top = NORMAL_ROM.get((joint, movement))
    return f"0–{top:g}°" if top is not None else ""


def instrument(name: str) -> Instrument | None:
    """Metadata of an outcome instrument (or of 'NRS' pain), None for one we do not know."""
    return INSTRUMENTS.get(name)
