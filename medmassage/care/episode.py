"""An episode of care: referral -> treatment plan -> visits.

A visit (session) names its treatment plan and the plan names its referral; these
functions follow those links once, for the rules (visit limits), the SOAP note (the
plan behind a visit) and the physician update (the referral, its visits, the plan in
effect). Pure functions over a loaded view; only schema-valid records count, so a
link to a broken record is a missing link."""

from __future__ import annotations

from collections.abc import Sequence

from medmassage.chart import Chart, Record, StoreView


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
