"""What falls due, and when: the clinic's worklist (CLINICAL.md §4).

Pure functions over a loaded view. Each rule reads one chart (or the therapists) and
`today` and returns `Item`s: what is due, why (the rule and its numbers), `since` (the
day it falls or fell due) and `until` (the last day to do it in time; None: before the
next visit, or no deadline). Severity: `overdue` once `until` has passed, `due` from
`since`, `soon` while `since` is at most `within` days ahead. Every default is a setting
under `due:` in medmassage.yaml (schemas/settings.schema.json documents each); the signing
window is `signing.window_days`. A discharged episode owes nothing more; one on hold still
owes what fell due, and its referral is still watched."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import asdict, dataclass
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
        """The item as JSON-ready data, keys in a fixed order."""
        return asdict(self)


def setting(view: StoreView, key: str) -> Any:
    """A `due:` setting, else its documented default (`consent_renew_days`: 365 when the
    practice's address is in WA, WAC 246-830-565, else 0 = never)."""
    if key == "consent_renew_days":
        state = view.setting("practice", "address", "state")
        return view.setting("due", key, default=365 if state == "WA" else 0)
    return view.setting("due", key, default=DEFAULTS[key])


def _day(day: Any, plus: float = 0) -> str:
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


def _interval_days(plan: Record) -> float:
    """Days between visits by the plan's frequency (7 / sessions_per_week). Unit: days."""
    return 7 / float(plan.data["sessions_per_week"])


def _by_count(ctx: Context, counted: list[Record], every: int) -> tuple[str, str | None] | None:
    """since/until for "every `every` visits" over `counted` (visits since the last one
    done): due at the every-th visit, until the visit after it; at every-1 visits, soon
    at the next visit the plan's frequency expects (not before today); else None."""
    if len(counted) >= every:
        after = str(counted[every].data["date"]) if len(counted) > every else None
        return str(counted[every - 1].data["date"]), after
    if len(counted) == every - 1 and counted and ctx.plan is not None:
        expected = _day(counted[-1].data["date"], _interval_days(ctx.plan))
        return max(expected, ctx.today), None
    return None


def unsigned_notes(ctx: Context) -> list[Item]:
    """Visit notes not yet signed: due from the visit, overdue after `signing.window_days`
    (default 3; PIM ch. 3 §3.3.2.4): then signed as a late entry."""
    window = int(ctx.view.setting("signing", "window_days", default=3))
    items = []
    for session in ctx.chart.sorted("session"):
        if episode.is_signed(session):
            continue
        day, ref = str(session.data["date"]), f"{ctx.chart.patient_id}/{session.id}"
        until = _day(day, window)
        late = "--late " if ctx.today > until else ""
        why = f"notes are signed within {window} days of the visit (signing.window_days)"
        items.append(
            ctx.item(
                "note",
                f"sign the note of {day}",
                why,
                day,
                until,
                f"medmassage sign {late}{ref}",
                session.data["therapist"],
            )
        )
    return items


def _last_update(ctx: Context) -> str | None:
    """The last day covered by an update sent under the current referral (None: none)."""
    assert ctx.referral is not None
    start = str(ctx.referral.data["date"])
    ends = [str(u.data["period"]["to"]) for u in ctx.chart.sorted("update")]
    ends = [e for e in ends if start <= e <= ctx.today]
    return max(ends) if ends else None


def progress_report(ctx: Context) -> list[Item]:
    """The progress report to the referrer: every `updates.every_visits` visits or
    `updates.every_weeks` weeks of the referral, else every `progress_every_visits` (10)
    treatment visits (MBPM ch. 15 §220.3D); for a workers' comp patient (insurance.kind
    workers_comp) also after `workers_comp_visits` (6) visits or `workers_comp_days` (30)
    days, whichever comes first (WAC 296-23-250). Counted from the last update logged
    (patients/<p>/updates/: its period's end), else from the first visit. Unit: visits."""
    if ctx.referral is None or ctx.state == "discharged" or not ctx.visits:
        return []
    last = _last_update(ctx)
    counted = [v for v in ctx.visits if last is None or str(v.data["date"]) > last]
    start = last or str(ctx.visits[0].data["date"])
    cadence = ctx.referral.data.get("updates", {})
    rules: list[tuple[str, tuple[str, str | None] | None]] = []
    if "every_visits" in cadence:
        n = int(cadence["every_visits"])
        rules.append((f"the referral asks for one every {n} visits", _by_count(ctx, counted, n)))
    if "every_weeks" in cadence:
        weeks = int(cadence["every_weeks"])
        day = _day(start, 7 * weeks)
        rules.append((f"the referral asks for one every {weeks} weeks", (day, day)))
    if not rules:
        n = int(setting(ctx.view, "progress_every_visits"))
        why = f"one every {n} treatment visits (due.progress_every_visits)"
        rules.append((why, _by_count(ctx, counted, n)))
    insurance = ctx.chart.patient.data.get("insurance", {}) if ctx.chart.patient else {}
    if insurance.get("kind") == "workers_comp":
        n, days = (
            int(setting(ctx.view, "workers_comp_visits")),
            int(setting(ctx.view, "workers_comp_days")),
        )
        why = f"workers' comp: after {n} visits or {days} days, whichever comes first"
        rules.append((why, _by_count(ctx, counted, n)))
        rules.append((why, (_day(start, days), _day(start, days))))
    found = [(when, why) for why, when in rules if when is not None]
    if not found:
        return []
    (since, until), why = min(found, key=lambda f: (f[0][0], f[0][1] or "9999"))
    since_last = f"{len(counted)} visits since {'the last update' if last else 'care began'}"
    return [
        ctx.item(
            "progress",
            "send a progress report to the referrer",
            f"{why}; {since_last} ({start})",
            since,
            until,
            f"medmassage render physician-update {ctx.chart.patient_id}",
        )
    ]


def reassessment(ctx: Context) -> list[Item]:
    """A re-assessment every `reassess_every` visits of the active plan, at most every
    `reassess_max_visits` (10) (MBPM ch. 15 §220.3D), counted from the last assessment
    (a visit on its day counts). Unit: visits."""
    plan = ctx.plan
    if ctx.state != "active" or plan is None or plan.data["status"] != "active":
        return []
    cap = int(setting(ctx.view, "reassess_max_visits"))
    every = min(int(plan.data.get("reassess_every", cap)), cap)
    assessed = [str(a.data["date"]) for a in ctx.chart.sorted("assessment")]
    assessed = [d for d in assessed if d <= ctx.today]
    last = max(assessed) if assessed else None
    counted = [v for v in ctx.visits if last is None or str(v.data["date"]) >= last]
    when = _by_count(ctx, counted, every)
    if when is None:
        return []
    source = (
        f"the plan's reassess_every {plan.data['reassess_every']}, at most {cap}"
        if ("reassess_every" in plan.data)
        else f"at most every {cap} visits"
    )
    why = f"every {every} visits ({source}); {len(counted)} since {last or 'care began'}"
    return [
        ctx.item(
            "reassessment",
            "re-assess the patient",
            why,
            when[0],
            when[1],
            f"medmassage create assessment --patient {ctx.chart.patient_id}",
        )
    ]


def certification(ctx: Context) -> list[Item]:
    """The physician's certification of the active plan (plan.certification): due from
    the plan's date, overdue after `certify_within_days` (30); then a recertification
    `recertify_every_days` (90) after the last one (MBPM ch. 15 §220.1.3). Plans of
    patients whose insurance.kind is in `certify_exempt` (self_pay) need none. Unit: days."""
    plan = ctx.plan
    if ctx.state != "active" or plan is None or plan.data["status"] != "active":
        return []
    insurance = ctx.chart.patient.data.get("insurance", {}) if ctx.chart.patient else {}
    if insurance.get("kind") in setting(ctx.view, "certify_exempt"):
        return []
    where = f"edit {plan.rel} (certification)"
    signed = plan.data.get("certification")
    if signed is None:
        days = int(setting(ctx.view, "certify_within_days"))
        why = f"the physician signs the plan of care within {days} days of {plan.data['date']}"
        until = _day(plan.data["date"], days)
        return [
            ctx.item(
                "certification",
                "get the plan of care certified",
                why,
                str(plan.data["date"]),
                until,
                where,
            )
        ]
    days = int(setting(ctx.view, "recertify_every_days"))
    until = _day(signed["date"], days)
    why = f"recertify every {days} days; last certified {signed['date']}"
    return [ctx.item("certification", "get the plan of care recertified", why, until, until, where)]


def referral(ctx: Context) -> list[Item]:
    """The current referral: renew it from `referral_expiring_days` (14) before its
    valid_until, or once `referral_visits_left` (2) or fewer visits are left; a visit
    after it expired or beyond its count is overdue (payer practice)."""
    ref = ctx.referral
    if ref is None or ctx.state == "discharged":
        return []
    command = f"medmassage create referral --patient {ctx.chart.patient_id}"
    end, allowed = str(ref.data["valid_until"]), int(ref.data["visits_authorized"])
    lead, left = int(setting(ctx.view, "referral_expiring_days")), allowed - len(ctx.visits)
    items = []
    beyond = [v for v in ctx.visits if str(v.data["date"]) > end] + ctx.visits[allowed:]
    if beyond:
        first = min(str(v.data["date"]) for v in beyond)
        why = f"{len(beyond)} visits after {end} or beyond the {allowed} authorized"
        items.append(ctx.item("referral", "visits beyond the referral", why, first, first, command))
    else:
        why = f"the referral of {ref.data['date']} is valid until {end} (renew {lead} days before)"
        items.append(
            ctx.item("referral", "renew the expiring referral", why, _day(end, -lead), end, command)
        )
    keep = int(setting(ctx.view, "referral_visits_left"))
    if not beyond and left <= keep:
        used = f"{len(ctx.visits)} of {allowed} authorized visits used, {left} left (<= {keep})"
        at = allowed - keep - 1
        since = str(ctx.visits[at].data["date"] if at >= 0 else ref.data["date"])
        items.append(
            ctx.item(
                "referral", "renew the referral: visits nearly used up", used, since, None, command
            )
        )
    return items


def consent(ctx: Context) -> list[Item]:
    """The general written consent to treatment, renewed `consent_renew_days` after it was
    signed (default 365 in Washington, WAC 246-830-565; elsewhere never). Unit: days."""
    days = int(setting(ctx.view, "consent_renew_days"))
    patient = ctx.chart.patient
    if not days or ctx.state == "discharged" or patient is None or not patient.valid:
        return []
    signed = str(patient.data["consent"]["treatment"])
    until = _day(signed, days)
    why = f"renewed every {days} days (due.consent_renew_days); signed {signed}"
    return [
        ctx.item(
            "consent",
            "renew the consent to treatment",
            why,
            until,
            until,
            f"edit {patient.rel} (consent.treatment)",
        )
    ]


def follow_up_gap(ctx: Context) -> list[Item]:
    """No visit for `gap_factor` (2) times the active plan's interval between visits while
    plan and patient are active (the plan's frequency). Listed once the gap has begun (it
    is a fact, not a deadline). Unit: days."""
    plan = ctx.plan
    if ctx.state != "active" or plan is None or plan.data["status"] != "active":
        return []
    factor = float(setting(ctx.view, "gap_factor"))
    last = str(ctx.visits[-1].data["date"]) if ctx.visits else str(plan.data["date"])
    since = _day(last, factor * _interval_days(plan))
    if since > ctx.today:
        return []
    why = (
        f"no visit since {last}; the plan's {plan.data['sessions_per_week']} visits a week, "
        f"x{factor:g} (due.gap_factor)"
    )
    return [
        ctx.item(
            "gap",
            "follow up: no recent visit",
            why,
            since,
            None,
            f"medmassage create session --patient {ctx.chart.patient_id}",
        )
    ]


def licenses(view: StoreView, today: str) -> list[Item]:
    """Active therapists' licenses: renew from `license_expiring_days` (30) before they
    expire, overdue after (state boards). Unit: days."""
    lead = int(setting(view, "license_expiring_days"))
    items = []
    for tid, therapist in sorted(view.therapists.items()):
        if not therapist.valid or therapist.data.get("active") is False:
            continue
        expires = str(therapist.data["license"]["expires"])
        since = _day(expires, -lead)
        number = therapist.data["license"]["number"]
        why = f"license {number} expires {expires} (renew {lead} days before)"
        sev = severity(today, since, _day(expires, -1))
        items.append(
            Item(
                None,
                tid,
                "license",
                "renew the massage license",
                why,
                since,
                _day(expires, -1),
                sev,
                f"edit {therapist.rel} (license.expires)",
            )
        )
    return items


CHART_RULES = (
    unsigned_notes,
    progress_report,
    reassessment,
    certification,
    referral,
    consent,
    follow_up_gap,
)


def chart_items(view: StoreView, chart: Chart, today: str) -> list[Item]:
    """Everything one patient's chart has falling due, whatever the date."""
    ctx = context(view, chart, today)
    return [item for rule in CHART_RULES for item in rule(ctx)]


def order(items: list[Item]) -> list[Item]:
    """Most urgent first: overdue, due, soon; then by date, patient and kind."""
    return sorted(
        items,
        key=lambda i: (
            SEVERITIES.index(i.severity),
            i.since,
            i.patient or "",
            KINDS.index(i.kind),
            i.what,
        ),
    )


def within(items: list[Item], today: str, days: int) -> list[Item]:
    """The items already due or falling due within `days` days of `today`."""
    horizon = _day(today, days)
    return [i for i in items if i.since <= horizon]
