"""Scored outcome questionnaires: one row per instrument and one scoring function each.

Everything here follows CLINICAL.md §3 ("Outcome measures: scoring, units, clinically
important change"); each scoring function names the rule it applies and the source behind
it. An instrument's row says its unit ("points" or "percent"), its range in that unit, its
items (how many, and what each may be), which way is better, and its minimal clinically
important difference (MCID) in a named unit. Where published MCIDs disagree the row takes
the one CLINICAL.md gives, so that a letter never calls a change meaningful on the
strength of the most generous study; where no absolute threshold is given, the MCID is
None and a document reports the change without judging it.

Item answers are a list in questionnaire order, None for an unanswered item; PSFS answers
are one 0-10 rating per patient-named activity. A scoring function returns a `Scored`: the
score in the instrument's own unit, or None when the instrument's missing-item rule says
the answers cannot be scored, and why.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

Answers = Sequence[float | None]

SECTION = "CLINICAL.md §3"


@dataclass(frozen=True)
class Instrument:
    """An outcome questionnaire (or the NRS pain rating) as CLINICAL.md §3 describes it."""

    key: str  # the vocabulary term, e.g. "NDI"
    name: str
    unit: str  # the unit a score is stored in by default: "points" or "percent"
    low: float  # range in `unit`
    high: float
    items: int | None  # number of items (None: patient-named, PSFS; or not scored here)
    item_values: tuple[float, ...]  # every answer an item may take; () when not scored here
    lower_is_better: bool
    mcid: float | None  # in `mcid_unit`; None: the change is reported, not judged
    mcid_unit: str
    source: str  # where the MCID comes from, as CLINICAL.md §3 names it
    min_answered: int = 0  # fewest answered items the missing-item rule allows
    also: tuple[tuple[str, float, float], ...] = ()  # other units: (unit, low, high)

    @property
    def units(self) -> dict[str, tuple[float, float]]:
        """Every unit the instrument may be scored in, with its range in that unit."""
        return {self.unit: (self.low, self.high), **{u: (lo, hi) for u, lo, hi in self.also}}

    @property
    def scored(self) -> bool:
        """Whether the tool scores this instrument from item answers."""
        return self.key in SCORERS


@dataclass(frozen=True)
class Scored:
    """The result of scoring item answers: the score (None if it cannot be scored)."""

    value: float | None
    unit: str
    answered: int
    expected: str  # how many answers the rule wants, in words, e.g. "at least 10 of 11"
    reason: str = ""  # why there is no score, in plain words ('' when there is one)


def _steps(low: int, high: int) -> tuple[float, ...]:
    return tuple(float(v) for v in range(low, high + 1))


# Sources of the MCIDs, as CLINICAL.md §3 gives them: NRS 2 points (Farrar JT et al., Pain
# 2001;94:149-158, also ~30 %); ODI 10 points, the MDC (Ostelo RW et al., Spine 2008;33:90-94;
# Abbott 2014 gives 12); NDI 7.5 points = 15 % (Young BA et al., Spine J 2009;9:802-808;
# Cleland JA et al., Arch Phys Med Rehabil 2006); PSFS 2 points for the mean, 3 for one
# activity (Stratford P et al., Physiother Can 1995;47:258-263); LEFS 9 points (Binkley JM
# et al., Phys Ther 1999;79:371-383); QuickDASH 15.9 points (Franchignoni F et al., JOSPT
# 2014;44:30-39); SPADI 13 points (Roy JS et al., Arthritis Rheum 2009;61:623-632, upper
# end of 8-13); HIT-6 6 points for one patient (2.3 between groups); FIQR a relative 14 %
# change, which is not an absolute threshold, so it is not judged here.
# fmt: off
_ROWS = (
    Instrument("NRS", "Pain (NRS 0-10)", "points", 0, 10, 1, _steps(0, 10), True,
               2, "points", "Farrar et al. 2001", 1),
    Instrument("ODI", "Oswestry Disability Index", "percent", 0, 100, 10, _steps(0, 5), True,
               10, "percent", "Ostelo et al. 2008 (MDC; Abbott 2014: 12)", 9),
    Instrument("NDI", "Neck Disability Index", "points", 0, 50, 10, _steps(0, 5), True,
               7.5, "points", "Young et al. 2009 (15 %)", 9,
               (("percent", 0, 100),)),
    Instrument("PSFS", "Patient-Specific Functional Scale", "points", 0, 10, None,
               _steps(0, 10), False, 2, "points", "Stratford et al. 1995 (3 for one activity)", 3),
    Instrument("LEFS", "Lower Extremity Functional Scale", "points", 0, 80, 20, _steps(0, 4),
               False, 9, "points", "Binkley et al. 1999", 20),
    Instrument("QuickDASH", "QuickDASH", "points", 0, 100, 11, _steps(1, 5), True,
               15.9, "points", "Franchignoni et al. 2014", 10),
    Instrument("SPADI", "Shoulder Pain and Disability Index", "percent", 0, 100, 13,
               _steps(0, 10), True, 13, "percent", "Roy et al. 2009", 13),
    Instrument("HIT-6", "Headache Impact Test", "points", 36, 78, 6, (6, 8, 10, 11, 13), True,
               6, "points", "CLINICAL.md §3, for one patient (2.3 for groups)", 6),
    Instrument("FIQR", "Revised Fibromyalgia Impact Questionnaire", "points", 0, 100, 21,
               _steps(0, 10), True, None, "percent change",
               "CLINICAL.md §3: 14 % change, relative", 21),
    Instrument("KOOS-JR", "KOOS, JR.", "points", 0, 100, None, (), False, None, "", ""),
    Instrument("JFLS-8", "Jaw Functional Limitation Scale", "points", 0, 10, None, (), True,
               None, "", ""),
    Instrument("PSS-10", "Perceived Stress Scale", "points", 0, 40, None, (), True,
               None, "", ""),
)
# fmt: on

INSTRUMENTS: dict[str, Instrument] = {row.key: row for row in _ROWS}


def instrument(key: str) -> Instrument | None:
    """The row of an instrument by its vocabulary term, None for one we do not know."""
    return INSTRUMENTS.get(key)


def _answered(answers: Answers) -> list[float]:
    return [float(a) for a in answers if a is not None]


def _unscored(key: str, answered: int, expected: str, reason: str) -> Scored:
    return Scored(None, INSTRUMENTS[key].unit, answered, expected, reason)


def score_nrs(answers: Answers) -> Scored:
    """NRS pain, points 0-10: the one rating itself (CLINICAL.md §3, Farrar 2001)."""
    given = _answered(answers)
    if len(given) != 1 or len(answers) != 1:
        return _unscored("NRS", len(given), "1 of 1", "an NRS is one rating")
    return Scored(given[0], "points", 1, "1 of 1")


def _fraction_of_answered(key: str, answers: Answers, scale: float) -> Scored:
    """sum / (item maximum x answered) x `scale`, with at most one item skipped."""
    row = INSTRUMENTS[key]
    given = _answered(answers)
    expected = f"at least {row.min_answered} of {row.items}"
    if len(answers) != row.items or len(given) < row.min_answered:
        return _unscored(key, len(given), expected, "more than one item unanswered")
    top = max(row.item_values)
    return Scored(sum(given) / (top * len(given)) * scale, row.unit, len(given), expected)


def score_odi(answers: Answers) -> Scored:
    """ODI, percent 0-100 (CLINICAL.md §3): 10 sections 0-5; % = sum / (5 x answered) x 100;
    at most one section skipped."""
    return _fraction_of_answered("ODI", answers, 100.0)


def score_ndi(answers: Answers) -> Scored:
    """NDI, points 0-50 (CLINICAL.md §3): 10 items 0-5, total 0-50 (x 2 as a percent).
    CLINICAL.md gives no missing-item rule for the NDI; the ODI's, from which the NDI was
    adapted (Vernon & Mior 1991), is applied: at most one item skipped, the total taken as
    the same share of 50 as the answered items are of their maximum."""
    return _fraction_of_answered("NDI", answers, 50.0)


def score_psfs(answers: Answers) -> Scored:
    """PSFS, points 0-10 (CLINICAL.md §3): 3-5 patient-named activities, each 0-10
    (10 = able as before); the score is their mean. Each activity is tracked by name."""
    given = _answered(answers)
    if not 3 <= len(given) <= 5 or len(given) != len(answers):
        return _unscored("PSFS", len(given), "3 to 5 activities", "not 3 to 5 rated activities")
    return Scored(sum(given) / len(given), "points", len(given), "3 to 5 activities")


def _complete_sum(key: str, answers: Answers) -> Scored:
    """The plain sum of every item, all of them answered."""
    row = INSTRUMENTS[key]
    given = _answered(answers)
    expected = f"all {row.items}"
    if len(answers) != row.items or len(given) != row.items:
        return _unscored(key, len(given), expected, "not every item answered")
    return Scored(sum(given), row.unit, len(given), expected)


def score_lefs(answers: Answers) -> Scored:
    """LEFS, points 0-80 (CLINICAL.md §3): 20 items 0-4, summed. CLINICAL.md gives no
    allowance for unanswered items, so all 20 are needed."""
    return _complete_sum("LEFS", answers)


def score_quickdash(answers: Answers) -> Scored:
    """QuickDASH, points 0-100 (CLINICAL.md §3): 11 items 1-5, at least 10 answered;
    score = ((sum / n) - 1) x 25, n the number answered."""
    given = _answered(answers)
    expected = "at least 10 of 11"
    if len(answers) != 11 or len(given) < 10:
        return _unscored("QuickDASH", len(given), expected, "more than one item unanswered")
    return Scored((sum(given) / len(given) - 1) * 25, "points", len(given), expected)


def score_spadi(answers: Answers) -> Scored:
    """SPADI, percent 0-100 (CLINICAL.md §3): 13 items 0-10 (pain 5, disability 8); the
    score is the percent of the points possible, sum / 130 x 100. CLINICAL.md gives no
    allowance for unanswered items, so all 13 are needed."""
    scored = _complete_sum("SPADI", answers)
    if scored.value is None:
        return scored
    return Scored(scored.value / 130 * 100, "percent", scored.answered, scored.expected)


def score_hit6(answers: Answers) -> Scored:
    """HIT-6, points 36-78 (CLINICAL.md §3): 6 items each scored 6, 8, 10, 11 or 13; summed.
    All 6 are needed."""
    return _complete_sum("HIT-6", answers)


def score_fiqr(answers: Answers) -> Scored:
    """FIQR, points 0-100 (CLINICAL.md §3): 21 items 0-10; function (items 1-9) sum / 3 +
    overall impact (items 10-11) sum + symptoms (items 12-21) sum / 2. All 21 are needed."""
    scored = _complete_sum("FIQR", answers)
    if scored.value is None:
        return scored
    items = [float(a) for a in answers if a is not None]
    total = sum(items[:9]) / 3 + sum(items[9:11]) + sum(items[11:]) / 2
    return Scored(total, "points", scored.answered, scored.expected)


SCORERS: dict[str, Callable[[Answers], Scored]] = {
    "NRS": score_nrs,
    "ODI": score_odi,
    "NDI": score_ndi,
    "PSFS": score_psfs,
    "LEFS": score_lefs,
    "QuickDASH": score_quickdash,
    "SPADI": score_spadi,
    "HIT-6": score_hit6,
    "FIQR": score_fiqr,
}


def convert(row: Instrument, value: float, unit: str) -> float:
    """A score in the instrument's own unit expressed in `unit` (one of `row.units`), by the
    linear map between the two ranges (NDI: points x 2 = percent, CLINICAL.md §3)."""
    low, high = row.units[unit]
    return low + (value - row.low) / (row.high - row.low) * (high - low)


def invalid_items(row: Instrument, answers: Answers) -> list[int]:
    """Indexes of answers that are not one of the values an item of `row` may take."""
    allowed = set(row.item_values)
    return [i for i, a in enumerate(answers) if a is not None and float(a) not in allowed]


def score(key: str, answers: Answers, unit: str | None = None) -> Scored:
    """Score item answers of instrument `key` in `unit` (default: its own). KeyError for an
    instrument the tool does not score, or a unit it is not scored in."""
    row = INSTRUMENTS[key]
    scored = SCORERS[key](answers)
    unit = unit or row.unit
    if scored.value is None or unit == row.unit:
        return Scored(scored.value, unit, scored.answered, scored.expected, scored.reason)
    value = convert(row, scored.value, unit)
    return Scored(value, unit, scored.answered, scored.expected)
