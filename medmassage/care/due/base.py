"""The worklist's vocabulary: an `Item`, its severity, the settings with their defaults,
and the `Context` (one patient's episode) that every rule of `care.due.items` reads."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from medmassage.care import episode
from medmassage.chart import Chart, Record, StoreView
from medmassage.errors import UsageError

KINDS = (
    "note",
    "progress",
    "reassessment",
    "certification",
    "referral",
    "consent",
    "license",
    "gap",
)
SEVERITIES = ("overdue", "due", "soon")

DEFAULTS: dict[str, Any] = {
    "within_days": 7,
    "progress_every_visits": 10,
    "workers_comp_visits": 6,
    "workers_comp_days": 30,
    "reassess_max_visits": 10,
    "certify_within_days": 30,
    "recertify_every_days": 90,
    "certify_exempt": ["self_pay"],
    "referral_expiring_days": 14,
    "referral_visits_left": 2,
    "license_expiring_days": 30,
    "gap_factor": 2,
}


@dataclass(frozen=True)
class Item:
    """One thing due. `patient` is None for a therapist's own item (a license)."""

    patient: str | None
    therapist: str | None
    kind: str
    what: str
    why: str
    since: str
    until: str | None
    severity: str
    command: str

    def as_dict(self) -> dict[str, Any]:
        """The item as JSON-ready data, keys in a fixed order (its fields are plain values)."""
        return dict(vars(self))


def setting(view: StoreView, key: str) -> Any:
    """A `due:` setting, else its documented default (`consent_renew_days`: 365 when the
    practice's address is in WA, WAC 246-830-565, else 0 = never)."""
    if key == "consent_renew_days":
        state = view.setting("practice", "address", "state")
        return view.setting("due", key, default=365 if state == "WA" else 0)
    return view.setting("due", key, default=DEFAULTS[key])


def add_days(day: Any, plus: float = 0) -> str:
    return (dt.date.fromisoformat(str(day)) + dt.timedelta(days=math.ceil(plus))).isoformat()


def severity(today: str, since: str, until: str | None) -> str:
    """overdue when `until` has passed, due from `since`, else soon."""
    if until is not None and today > until:
        return "overdue"
    return "due" if since <= today else "soon"


@dataclass(frozen=True)
class Context:
    """One patient's episode as the rules read it (`referral` None: no valid referral)."""

    view: StoreView
    chart: Chart
    today: str
    referral: Record | None
    plan: Record | None
    visits: list[Record]
    state: str  # active, on_hold or discharged
    therapist: str | None

    def item(
        self,
        kind: str,
        what: str,
        why: str,
        since: str,
        until: str | None,
        command: str,
        therapist: str | None = None,
    ) -> Item:
        """An item of this patient, its severity judged against today."""
        sev = severity(self.today, since, until)
        who = therapist or self.therapist
        return Item(self.chart.patient_id, who, kind, what, why, since, until, sev, command)


def context(view: StoreView, chart: Chart, today: str) -> Context:
    """The patient's current referral, active plan, visits under it and episode state."""
    try:
        c = episode.course(view, chart, None, today)
    except UsageError:
        patient = (
            chart.patient.data.get("status") if chart.patient and chart.patient.valid else None
        )
        return Context(view, chart, today, None, None, [], str(patient or "active"), None)
    state = episode.episode_status(view, chart, c).state
    plan = c.plan
    therapist = plan.data["therapist"] if plan else None
    if c.visits:
        therapist = c.visits[-1].data["therapist"]
    return Context(view, chart, today, c.referral, plan, c.visits, state, therapist)


def interval_days(plan: Record) -> float:
    """Days between visits by the plan's frequency (7 / sessions_per_week). Unit: days."""
    return 7 / float(plan.data["sessions_per_week"])


def by_count(ctx: Context, counted: list[Record], every: int) -> tuple[str, str | None] | None:
    """since/until for "every `every` visits" over `counted` (visits since the last one
    done): due at the every-th visit, until the visit after it; at every-1 visits, soon
    at the next visit the plan's frequency expects (not before today); else None."""
    if len(counted) >= every:
        after = str(counted[every].data["date"]) if len(counted) > every else None
        return str(counted[every - 1].data["date"]), after
    if len(counted) == every - 1 and counted and ctx.plan is not None:
        expected = add_days(counted[-1].data["date"], interval_days(ctx.plan))
        return max(expected, ctx.today), None
    return None
