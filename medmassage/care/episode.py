"""An episode of care: referral -> treatment plan -> visits.

A visit (session) names its treatment plan and the plan names its referral; these
functions follow those links once, for the rules (visit limits), the SOAP note (the
plan behind a visit) and the physician update (the referral, its visits, the plan in
effect, the period a letter reports on). Pure functions over a loaded view; only
schema-valid records count, so a link to a broken record is a missing link.

An update's period defaults to the day after the last update sent (patients/<p>/updates/)
or the referral date, until the episode's last visit or assessment (a discharge
re-evaluation after the last treatment visit ends the episode, and is read)."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from medmassage import kinds
from medmassage import signature as signing
from medmassage.chart import Chart, Record, StoreView
from medmassage.errors import UsageError

# A plan in one of these states is over: nothing more is planned under it.
CLOSED_PLAN = frozenset(("completed", "discontinued"))


def plan_of(view: StoreView, chart: Chart, session: Record) -> Record | None:
    """The treatment plan a visit was given under (None: missing or not valid)."""
    return view.get("plan", session.data["treatment_plan"], chart.patient_id)


def referral_of(view: StoreView, chart: Chart, plan: Record) -> Record | None:
    """The referral a treatment plan belongs to (None: missing or not valid)."""
    return view.get("referral", plan.data["referral"], chart.patient_id)


def visits_under(view: StoreView, chart: Chart, referral: Record) -> list[Record]:
    """The patient's visits whose plan belongs to `referral`, oldest first."""

    def belongs(session: Record) -> bool:
        plan = plan_of(view, chart, session)
        return plan is not None and plan.data["referral"] == referral.id

    return [s for s in chart.sorted("session") if belongs(s)]


def visit_numbers(view: StoreView, chart: Chart) -> dict[str, tuple[Record, int]]:
    """Each visit under a referral (by session id): the referral and the visit's number
    under it, counted in date order from 1 (what `visits_authorized` limits)."""
    used: dict[str, int] = {}
    numbers: dict[str, tuple[Record, int]] = {}
    for session in chart.sorted("session"):
        plan = plan_of(view, chart, session)
        referral = referral_of(view, chart, plan) if plan is not None else None
        if referral is not None:
            used[referral.id] = used.get(referral.id, 0) + 1
            numbers[session.id] = (referral, used[referral.id])
    return numbers


def current_referral(view: StoreView, chart: Chart, until: str | None = None) -> Record | None:
    """The referral the care up to `until` is under: that of the latest visit with one,
    else the latest referral (None: no valid referral by then)."""
    sessions = [s for s in chart.sorted("session") if until is None or s.data["date"] <= until]
    for session in reversed(sessions):
        plan = plan_of(view, chart, session)
        referral = plan and referral_of(view, chart, plan)
        if referral:
            return referral
    referrals = [r for r in chart.sorted("referral") if until is None or r.data["date"] <= until]
    return referrals[-1] if referrals else None


def active_plan(
    view: StoreView, chart: Chart, referral: Record, visits: Sequence[Record], end: str
) -> Record | None:
    """The plan in effect at `end` under `referral`: that of the last of `visits` (the
    referral's visits up to `end`, or the ones of a period), else the latest plan
    written for the referral by then."""
    if visits:
        return plan_of(view, chart, visits[-1])
    plans = [
        p
        for p in chart.sorted("plan")
        if p.data["referral"] == referral.id and p.data["date"] <= end
    ]
    return plans[-1] if plans else None


@dataclass(frozen=True)
class Course:
    """One referral's episode of care up to the period end, and the period itself."""

    referral: Record
    plan: Record | None
    visits: list[Record]  # every visit under the referral up to `end`
    period: list[Record]  # the visits from `start` to `end`
    assessments: list[Record]
    start: str
    end: str


def _day_after(day: str) -> str:
    return (dt.date.fromisoformat(day) + dt.timedelta(days=1)).isoformat()


def default_start(chart: Chart, referral: Record, end: str) -> str:
    """The day after the period of the last update sent before `end`, else the referral date."""
    sent = [u.data["period"]["to"] for u in chart.sorted("update") if u.data["period"]["to"] < end]
    start = _day_after(max(sent)) if sent else str(referral.data["date"])
    return max(start, str(referral.data["date"]))


def course(view: StoreView, chart: Chart, since: str | None, until: str | None) -> Course:
    """Find the referral, the period (defaults as documented above) and its visits."""
    referral = current_referral(view, chart, until)
    if referral is None:
        raise UsageError(f"patient {chart.patient_id!r} has no valid referral to report on")
    everything = visits_under(view, chart, referral)
    end = until or episode_end(view, chart, referral)
    start = since or default_start(chart, referral, end)
    if start > end:
        raise UsageError(
            f"patient {chart.patient_id!r}: the period starts ({start}) after it ends ({end})"
        )
    visits = [s for s in everything if s.data["date"] <= end]
    period = [s for s in visits if s.data["date"] >= start]
    plan = active_plan(view, chart, referral, period or visits, end)
    return Course(referral, plan, visits, period, assessments_in(chart, referral, end), start, end)


def is_signed(record: Record) -> bool:
    """True unless `record` is a note of a signed kind (a visit) that carries no signature:
    a figure taken from an unsigned note is shown marked "unsigned", never as fact."""
    return not kinds.get(record.kind).signable or signing.is_signed(record.data)


def unsigned_days(c: Course) -> frozenset[str]:
    """The days of the course's visits whose notes are unsigned: a progress point on one of
    these days (a visit's own figure wins its day) is shown marked "unsigned"."""
    return frozenset(str(s.data["date"]) for s in c.visits if not is_signed(s))


def assessments_in(chart: Chart, referral: Record, end: str) -> list[Record]:
    """The referral's assessments from its date up to `end` (inclusive), oldest first,
    a discharge re-evaluation after the last treatment visit included; an assessment
    naming another referral is left out."""
    return [
        a
        for a in chart.sorted("assessment")
        if referral.data["date"] <= a.data["date"] <= end
        and a.data.get("referral", referral.id) == referral.id
    ]


def episode_end(view: StoreView, chart: Chart, referral: Record) -> str:
    """The day of the episode's last visit or assessment (the referral date if none)."""
    days = [s.data["date"] for s in visits_under(view, chart, referral)]
    days += [a.data["date"] for a in assessments_in(chart, referral, "9999-12-31")]
    return max([str(referral.data["date"]), *map(str, days)])


@dataclass(frozen=True)
class EpisodeStatus:
    """Where the episode stands at a period's end: active, on_hold or discharged, and
    why (plain words from the record's status fields and dates, never free text)."""

    state: str
    reasons: tuple[str, ...]

    @property
    def discharged(self) -> bool:
        """True when care under the referral has ended: no further visits to ask for."""
        return self.state == "discharged"


def episode_status(view: StoreView, chart: Chart, c: Course) -> EpisodeStatus:
    """The episode's status at `c.end`. A discharge assessment by then ends it; the
    patient's and the plan's status (which say how things stand now) count only when the
    period reaches the episode's last visit or assessment."""
    reasons: list[str] = []
    discharge = [a for a in c.assessments if a.data["kind"] == "discharge"]
    if discharge:
        reasons.append(f"discharge re-evaluation on {discharge[-1].data['date']}")
    current = c.end >= episode_end(view, chart, c.referral)
    patient = chart.patient.data.get("status") if chart.patient and chart.patient.valid else None
    plan = c.plan.data["status"] if c.plan is not None else None
    if current and plan in CLOSED_PLAN:
        reasons.append(f"the treatment plan is {plan}")
    if current and patient == "discharged":
        reasons.append("the patient is discharged")
    if reasons:
        return EpisodeStatus("discharged", tuple(reasons))
    if current and "on_hold" in (patient, plan):
        return EpisodeStatus("on_hold", ("care is on hold",))
    return EpisodeStatus("active", ())


@dataclass(frozen=True)
class Attendance:
    """Visits planned by a plan's frequency up to a day, against what happened."""

    planned: int  # visits the plan's frequency calls for by then (at most the plan's visits)
    attended: int  # visits given under the plan by then
    cancelled: int  # attendance records: cancelled (by patient or clinic)
    no_shows: int  # attendance records: the patient did not come

    @property
    def missed(self) -> int:
        """Planned visits neither given nor recorded as cancelled or missed (never below 0)."""
        return max(self.planned - self.attended - self.cancelled - self.no_shows, 0)


def planned_visits(plan: Record, end: str) -> int:
    """Visits a plan calls for from its date through `end`: sessions_per_week for every
    week begun (week 1 starts on the plan date), rounded up, at most the plan's `visits`;
    0 before the plan starts. Unit: visits."""
    days = (dt.date.fromisoformat(end) - dt.date.fromisoformat(str(plan.data["date"]))).days
    if days < 0:
        return 0
    weeks = days // 7 + 1
    return min(math.ceil(weeks * float(plan.data["sessions_per_week"])), int(plan.data["visits"]))


def attendance_summary(view: StoreView, chart: Chart, plan: Record, end: str) -> Attendance:
    """The plan's attendance through `end`: planned visits by its frequency, visits given
    under it, and the cancellations and no-shows recorded from its date to `end`."""
    start = str(plan.data["date"])
    attended = [
        s
        for s in chart.sorted("session")
        if s.data["treatment_plan"] == plan.id and s.data["date"] <= end
    ]
    missed = [a for a in chart.sorted("attendance") if start <= a.data["date"] <= end]
    return Attendance(
        planned_visits(plan, end),
        len(attended),
        sum(a.data["status"] == "cancelled" for a in missed),
        sum(a.data["status"] == "no_show" for a in missed),
    )
