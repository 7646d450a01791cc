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
    """Metadata of an outcome instrument (or of 'NRS' pain), None for one we do not know;
    read from the one table in care/instruments.py (CLINICAL.md §3)."""
    return INSTRUMENTS.get(name)
