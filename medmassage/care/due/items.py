"""The rules of the worklist (CLINICAL.md §4), one function per kind of item: each reads
one patient's `Context` (or the therapists) and returns the `Item`s it finds."""

from __future__ import annotations

from medmassage.care import episode
from medmassage.care.due.base import (
    Context,
    Item,
    add_days,
    by_count,
    interval_days,
    setting,
    severity,
)
from medmassage.chart import StoreView


def unsigned_notes(ctx: Context) -> list[Item]:
    """Visit notes not yet signed: due from the visit, overdue after `signing.window_days`
    (default 3; PIM ch. 3 §3.3.2.4): then signed as a late entry."""
    window = int(ctx.view.setting("signing", "window_days", default=3))
    items = []
    for session in ctx.chart.sorted("session"):
        if episode.is_signed(session):
            continue
        day, ref = str(session.data["date"]), f"{ctx.chart.patient_id}/{session.id}"
        until = add_days(day, window)
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
        rules.append((f"the referral asks for one every {n} visits", by_count(ctx, counted, n)))
    if "every_weeks" in cadence:
        weeks = int(cadence["every_weeks"])
        day = add_days(start, 7 * weeks)
        rules.append((f"the referral asks for one every {weeks} weeks", (day, day)))
    if not rules:
        n = int(setting(ctx.view, "progress_every_visits"))
        why = f"one every {n} treatment visits (due.progress_every_visits)"
        rules.append((why, by_count(ctx, counted, n)))
    insurance = ctx.chart.patient.data.get("insurance", {}) if ctx.chart.patient else {}
    if insurance.get("kind") == "workers_comp":
        n, days = (
            int(setting(ctx.view, "workers_comp_visits")),
            int(setting(ctx.view, "workers_comp_days")),
        )
        why = f"workers' comp: after {n} visits or {days} days, whichever comes first"
        rules.append((why, by_count(ctx, counted, n)))
        rules.append((why, (add_days(start, days), add_days(start, days))))
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
    when = by_count(ctx, counted, every)
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
        until = add_days(plan.data["date"], days)
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
    until = add_days(signed["date"], days)
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
            ctx.item(
                "referral", "renew the expiring referral", why, add_days(end, -lead), end, command
            )
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
    until = add_days(signed, days)
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
    since = add_days(last, factor * interval_days(plan))
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
        since = add_days(expires, -lead)
        number = therapist.data["license"]["number"]
        why = f"license {number} expires {expires} (renew {lead} days before)"
        sev = severity(today, since, add_days(expires, -1))
        items.append(
            Item(
                None,
                tid,
                "license",
                "renew the massage license",
                why,
                since,
                add_days(expires, -1),
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
