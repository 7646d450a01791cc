"""Measured progress toward plan goals: the series of measurements behind each goal,
whether the change is clinically meaningful, and the recommendation a physician
update makes from it. Pure functions over record data; no formatting beyond words."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sized
from dataclasses import dataclass
from typing import Any

from medmassage.care import norms

Data = Mapping[str, Any]

# A session's own word for a goal when no number was measured.
_WORDED = {"met": "met", "progressing": "improving", "unchanged": "unchanged", "regressed": "worse"}


@dataclass(frozen=True)
class Point:
    """One measurement: the day and the value in the goal's unit."""

    date: str
    value: float


@dataclass(frozen=True)
class GoalProgress:
    """Where one goal stands: baseline, latest measurement, target and the verdict."""

    goal: Data
    latest: Point | None
    status: str  # met | improving | unchanged | worse | not measured
    meaningful: bool  # a change in the right direction of at least the threshold
    worsened: bool  # a change in the wrong direction of at least the threshold
    judgement: str  # the verdict on the change in words

    @property
    def change(self) -> float | None:
        """Latest minus baseline (None when never measured)."""
        return None if self.latest is None else self.latest.value - float(self.goal["baseline"])


PAIN_KINDS = ("current", "usual", "worst", "best")


def pain_kind(goal: Data) -> str:
    """Which pain a pain goal tracks (CLINICAL.md §3, NRS: "say which pain: current,
    usual/average, worst, best"): the plan's `measure.pain`, current when not said."""
    kind = goal["measure"].get("pain", "current")
    return kind if kind in PAIN_KINDS else "current"


def unit(goal: Data) -> str:
    """The goal's unit in one word (CLINICAL.md §3): points for pain; degrees or mm for range
    of motion; for a questionnaire the unit written on the goal if the instrument is scored
    in it (points or percent), else the instrument's own."""
    measure = goal["measure"]
    written = str(measure.get("unit", ""))
    if measure["kind"] == "range_of_motion":
        return "mm" if norms.is_millimetres(written) else "degrees"
    if measure["kind"] == "pain":
        return "points"
    if measure["kind"] == "outcome_measure":
        known = norms.instrument(str(measure.get("instrument", "")))
        said = "percent" if norms.is_percent(written) else "points"
        if known is None:
            return said
        return said if said in known.units else known.unit
    return written


def _rom_match(entry: Data, measure: Data, wanted: str) -> bool:
    entry_unit = "mm" if norms.is_millimetres(str(entry.get("unit", ""))) else "degrees"
    return (
        entry["joint"] == measure.get("joint")
        and entry["movement"] == measure.get("movement")
        and ("side" not in measure or entry["side"] == measure["side"])
        and entry_unit == wanted
    )


def _score(goal: Data, entry: Data) -> float:
    """A recorded score in the goal's unit (`norms.in_unit`: a score typed in percent is
    read in points for a goal kept in points, and the other way round)."""
    score = float(entry["score"])
    known = norms.instrument(str(entry["instrument"]))
    if known is None:
        return score
    given = str(entry.get("unit") or known.unit)
    wanted = unit(goal)
    if given not in known.units or wanted not in known.units:
        return score
    return norms.in_unit(known.key, score, given, wanted)


def _measured(goal: Data, record: Data, kind: str) -> float | None:
    """The goal's measure as found in one session or assessment, if it is there: a session's
    own value for the goal (in the goal's unit), else the pain the goal tracks, the range of
    motion in the goal's unit or the questionnaire score."""
    measure = goal["measure"]
    if kind == "session":
        for entry in record.get("assessment", {}).get("goals", []):
            if entry["goal"] == goal["id"] and "value" in entry:
                return float(entry["value"])
    if measure["kind"] == "pain":
        which = pain_kind(goal)
        if kind == "session":  # a note's pain is the current pain, before treatment
            return float(record["subjective"]["pain"]) if which == "current" else None
        value = record["pain"].get(which)
        return None if value is None else float(value)
    if measure["kind"] == "range_of_motion":
        rom = record.get("objective", {}) if kind == "session" else record
        for entry in rom.get("range_of_motion", []):
            if _rom_match(entry, measure, unit(goal)):
                return float(entry["degrees"])
    if measure["kind"] == "outcome_measure":  # an assessment's, or one re-scored at a visit
        for entry in record.get("outcome_measures", []):
            if entry["instrument"] == measure.get("instrument"):
                return _score(goal, entry)
    return None


def goal_series(goal: Data, sessions: Iterable[Data], assessments: Iterable[Data]) -> list[Point]:
    """Every measurement of the goal, oldest first, one per day (a session's own value wins)."""
    by_day: dict[str, float] = {}
    for kind, records in (("assessment", assessments), ("session", sessions)):
        for record in records:
            value = _measured(goal, record, kind)
            if value is not None:
                by_day[record["date"]] = value
    return [Point(day, by_day[day]) for day in sorted(by_day)]


def lower_is_better(goal: Data) -> bool:
    """Direction of improvement: from the measure kind or instrument, else from the target."""
    measure = goal["measure"]
    if measure["kind"] == "pain":
        return True
    if measure["kind"] == "range_of_motion":
        return False
    known = (
        norms.instrument(measure.get("instrument", ""))
        if measure["kind"] == "outcome_measure"
        else None
    )
    return known.lower_is_better if known else float(goal["target"]) < float(goal["baseline"])


def threshold(goal: Data) -> tuple[float | None, str]:
    """The smallest change worth calling real, in the goal's own unit, and its basis in
    words (None: not judged). CLINICAL.md §3: NRS 2 points (Farrar 2001); degrees beyond the
    goniometer's ~10° error; millimetres beyond the 6-9 mm smallest detectable difference
    (Kropmans 2000, upper end); questionnaires by their MCID in points, or in percent of the
    range when the goal is kept in percent (NDI 7.5 of 50 points = 15 %)."""
    measure = goal["measure"]
    if measure["kind"] == "pain":
        nrs = norms.INSTRUMENTS["NRS"]
        return nrs.mcid, f"MCID {nrs.mcid:g} points, {nrs.source}"
    if measure["kind"] == "range_of_motion":
        if unit(goal) == "mm":
            return (
                norms.LINEAR_SDD_MM,
                f"{norms.LINEAR_SDD_MM:g} mm, smallest detectable difference, Kropmans et al. 2000",
            )
        return (
            norms.ROM_MEASUREMENT_ERROR,
            f"{norms.ROM_MEASUREMENT_ERROR:g}°, goniometry error margin",
        )
    if measure["kind"] != "outcome_measure":
        return None, ""
    return mcid(str(measure.get("instrument", "")), unit(goal))


def mcid(name: str, in_unit: str) -> tuple[float | None, str]:
    """An instrument's MCID (CLINICAL.md §3, as the instrument table gives it with its unit
    and source) in `in_unit` (`norms.change_in_unit`: NDI 7.5 points = 15 %), with its basis
    in words; (None, '') when there is no absolute threshold to judge by."""
    known = norms.instrument(name)
    if known is None or known.mcid is None or known.mcid_unit not in known.units:
        return None, ""
    word = {"percent": "%", "points": "points"}
    if in_unit not in known.units or in_unit == known.mcid_unit:
        shown = word.get(known.mcid_unit, known.mcid_unit)
        return known.mcid, f"MCID {known.mcid:g} {shown}, {known.source}"
    value = round(norms.change_in_unit(name, known.mcid, known.mcid_unit, in_unit), 2)
    span = known.units[known.mcid_unit][1] - known.units[known.mcid_unit][0]
    basis = f"{known.mcid:g} of {span:g} {word.get(known.mcid_unit, known.mcid_unit)}"
    return value, f"MCID {value:g} {word.get(in_unit, in_unit)} ({basis}), {known.source}"


def outcome_scores(
    goals: Iterable[Data], sessions: Iterable[Data], assessments: Iterable[Data]
) -> dict[str, tuple[str, list[Point]]]:
    """Every questionnaire score by instrument: (unit, points oldest first). Scores of the
    assessments, those re-scored at a visit and those recorded in sessions against an outcome
    goal, one per day, in the unit of the plan's goal for that instrument (else as typed)."""
    sessions, assessments = list(sessions), list(assessments)
    found: dict[str, tuple[str, list[Point]]] = {}
    tracked = [g for g in goals if g["measure"]["kind"] == "outcome_measure"]
    for goal in tracked:
        name = str(goal["measure"].get("instrument", ""))
        if name not in found:
            found[name] = (unit(goal), goal_series(goal, sessions, assessments))
    for record in [*assessments, *sessions]:
        for entry in record.get("outcome_measures", []):
            name = str(entry["instrument"])
            if name in found:
                continue
            points = [
                Point(a["date"], float(e["score"]))
                for a in [*assessments, *sessions]
                for e in a.get("outcome_measures", [])
                if e["instrument"] == name
            ]
            given = "percent" if norms.is_percent(str(entry.get("unit", ""))) else "points"
            found[name] = (given, sorted({p.date: p for p in points}.values(), key=_day))
    return dict(sorted(found.items()))


def _day(point: Point) -> str:
    return point.date


def _judge(goal: Data, change: float) -> tuple[bool, bool, str]:
    """(meaningful improvement, meaningful worsening, the verdict in words)."""
    limit, basis = threshold(goal)
    if not change:
        return False, False, "no change"
    if limit is None:
        return False, False, "not judged (no established MCID)"
    better = change < 0 if lower_is_better(goal) else change > 0
    direction = "improvement" if better else "worsening"
    if goal["measure"]["kind"] == "range_of_motion":
        if abs(change) >= limit:
            return better, not better, f"{direction} beyond measurement error (at least {basis})"
        return False, False, f"within measurement error (below {basis})"
    if abs(change) >= limit:
        return better, not better, f"clinically meaningful {direction} (at least the {basis})"
    return False, False, f"not clinically meaningful (below the {basis})"


def assess_goal(
    goal: Data, series: list[Point], worded: str | None, baseline_day: str = ""
) -> GoalProgress:
    """Judge one goal from its measurements after `baseline_day` (those on or before it are
    the baseline itself); `worded` is the latest session's own verdict, used when none."""
    series = [p for p in series if p.date > baseline_day]
    if not series:
        status = _WORDED.get(worded or "", "not re-measured")
        why = (
            "therapist's judgement; not re-measured since baseline"
            if worded in _WORDED
            else "not re-measured since baseline"
        )
        return GoalProgress(goal, None, status, False, False, why)
    latest = series[-1]
    baseline, target = float(goal["baseline"]), float(goal["target"])
    lower = lower_is_better(goal)
    change = latest.value - baseline
    if (latest.value <= target) if lower else (latest.value >= target):
        status = "met"
    elif change == 0:
        status = "unchanged"
    else:
        status = "improving" if (change < 0) == lower else "worse"
    return GoalProgress(goal, latest, status, *_judge(goal, change))


def _goals(ids: list[str]) -> str:
    """'goal g1' or 'goals g1, g2 and g3'."""
    return f"goal {ids[0]}" if len(ids) == 1 else f"goals {', '.join(ids[:-1])} and {ids[-1]}"


@dataclass(frozen=True)
class Recommendation:
    """continue | modify | discharge | refer, and why."""

    action: str
    reasons: tuple[str, ...]


def _is(items: Sized) -> str:
    """The verb for a list of goals: one 'is', several 'are'."""
    return "is" if len(items) == 1 else "are"


def recommend(
    goals: list[GoalProgress], used: int, authorized: int, expired: bool
) -> Recommendation:
    """Derive the recommendation from goal status and the visits left, conservatively."""
    left = authorized - used
    worse = [g for g in goals if g.status == "worse"]
    worsened = [g.goal["id"] for g in goals if g.worsened]
    if worsened:
        return Recommendation(
            "refer",
            (
                f"{_goals(worsened)} {_is(worsened)} measurably worse than at baseline",
                "we ask you to re-evaluate before massage continues",
            ),
        )
    if goals and all(g.status == "met" for g in goals):
        return Recommendation(
            "discharge",
            (f"all {len(goals)} goals are met", "the patient continues the home-care program"),
        )
    meaningful = [g for g in goals if g.meaningful]
    if worse or (not meaningful and used * 2 >= authorized):
        why = (
            f"{_goals([g.goal['id'] for g in worse])} {_is(worse)} worse than at baseline"
            if worse
            else (
                f"no clinically meaningful change on any goal after {used} of {authorized} visits"
            )
        )
        return Recommendation(
            "modify", (why, "we will change techniques, pressure or frequency and re-measure")
        )
    improving = sum(g.status in ("met", "improving") for g in goals)
    reasons = [
        f"{improving} of {len(goals)} goals met or improving, "
        f"{len(meaningful)} by a clinically meaningful amount"
    ]
    reasons.append(_visits_left(goals, left, authorized, expired))
    return Recommendation("continue", tuple(reasons))


def _visits_left(goals: list[GoalProgress], left: int, authorized: int, expired: bool) -> str:
    """For care that continues: the visits left, and whether to ask for more."""
    unmet = [g.goal["id"] for g in goals if g.status != "met"]
    if left <= 0 or expired:
        return "the referral is used up or has expired: we ask you to authorize further visits"
    if unmet and left * 4 <= authorized:
        return (
            f"only {left} of {authorized} authorized visits {'is' if left == 1 else 'are'} left "
            f"and {_goals(unmet)} {_is(unmet)} not yet met: "
            "we ask you to consider authorizing further visits"
        )
    return f"visits left: {left} of {authorized} authorized"
