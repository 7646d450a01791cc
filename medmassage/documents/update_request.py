"""The physician update's closing elements (CLINICAL.md §1 progress report): attendance
against the planned frequency, the concrete request for more visits computed from the
plan and the visits left, and whether any figure comes from an unsigned note."""

from __future__ import annotations

import math

from medmassage.care import episode
from medmassage.care.episode import Course
from medmassage.chart import Chart, StoreView
from medmassage.documents.common import Context, num

# Recommendations after which no more visits are asked for.
NO_REQUEST = frozenset(("discharge", "discharged", "refer", "on hold"))


def attendance(view: StoreView, chart: Chart, c: Course) -> Context:
    """The plan's attendance through the period end (care.episode.attendance_summary)."""
    if c.plan is None:
        return {}
    found = episode.attendance_summary(view, chart, c.plan, c.end)
    return {
        "planned": found.planned,
        "attended": found.attended,
        "cancelled": found.cancelled,
        "no_shows": found.no_shows,
        "missed": found.missed,
    }


def visit_request(c: Course, action: str, visits_left: int) -> Context:
    """ "N more visits, F a week for W weeks": the plan's visits not yet given (a new block
    of the plan's length when all are given) at the plan's frequency; none after a
    discharge or referral out. Unit: visits; weeks rounded up."""
    if c.plan is None or action in NO_REQUEST:
        return {}
    data = c.plan.data
    per_week = float(data["sessions_per_week"])
    given = sum(1 for s in c.visits if s.data.get("treatment_plan") == c.plan.id)
    more = int(data["visits"]) - given
    if more <= 0:
        more = int(data["visits"])
    weeks = math.ceil(more / per_week) if per_week > 0 else 0
    beyond = max(more - visits_left, 0)
    return {
        "visits": more,
        "per_week": num(per_week),
        "weeks": weeks,
        "text": f"{more} more visit{'' if more == 1 else 's'}, {num(per_week)} a week for "
        f"{weeks} week{'' if weeks == 1 else 's'}",
        "beyond_authorized": beyond,
    }


def unsigned_visits(c: Course) -> list[str]:
    """The days of the period's visits whose notes are not signed yet."""
    return [str(s.data["date"]) for s in c.period if not episode.is_signed(s)]
