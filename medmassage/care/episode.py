"""An episode of care: referral -> treatment plan -> visits.

A visit (session) names its treatment plan and the plan names its referral; these
functions follow those links once, for the rules (visit limits), the SOAP note (the
plan behind a visit) and the physician update (the referral, its visits, the plan in
effect, the period a letter reports on). Pure functions over a loaded view; only
schema-valid records count, so a link to a broken record is a missing link.

An update's period defaults to the day after the last update sent (patients/<p>/updates/)
or the referral date, until the last visit under the referral."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from medmassage.chart import Chart, Record, StoreView
from medmassage.errors import UsageError


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
    end = until or (everything[-1].data["date"] if everything else referral.data["date"])
    start = since or default_start(chart, referral, end)
    if start > end:
        raise UsageError(
            f"patient {chart.patient_id!r}: the period starts ({start}) after it ends ({end})"
        )
    visits = [s for s in everything if s.data["date"] <= end]
    period = [s for s in visits if s.data["date"] >= start]
    plan = active_plan(view, chart, referral, period or visits, end)
    assessments = [
        a for a in chart.sorted("assessment") if referral.data["date"] <= a.data["date"] <= end
    ]
    return Course(referral, plan, visits, period, assessments, start, end)
