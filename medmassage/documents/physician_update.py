"""The physician update: a letter to the referring provider for a period of care
(the period and its visits are found by `care.episode.course`). The letter is built
here; its measures (goals, pain, outcome scores, charts) in `update_measures.py`, its
closing request (attendance, visits asked for) in `update_request.py`."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

from medmassage.care import episode, norms
from medmassage.care import outcomes as progress
from medmassage.care.episode import Course, course
from medmassage.chart import Chart, Record, StoreView
from medmassage.documents import update_measures
from medmassage.documents.common import (
    Context,
    address_lines,
    label,
    may_share,
    num,
    patient,
    practice,
    therapist,
    words,
)
from medmassage.documents.shape import (
    WHOLE_FOLDER,
    Choice,
    Document,
    Facts,
    Period,
    Target,
    folder_prefixes,
)
from medmassage.documents.update_request import attendance, unsigned_visits, visit_request
from medmassage.store import SETTINGS_FILE, Entry, record_rel

_DOCTORS = frozenset(("MD", "DO", "DC", "DPM", "DDS", "DMD", "DPT", "ND"))
_NO_REACTION = frozenset(("", "none", "no", "nil", "n/a", "none reported", "none noted"))
# What an update draws on: errors in the patient's records of these kinds hold it back.
SOURCES = ("settings", "patient", "referral", "assessment", "plan", "session", "update")
# Read whole: the patient folder (the episode, attendance, updates sent) and every
# provider and therapist (the letter's author may come from the plan or the settings).
READS = (WHOLE_FOLDER, "provider", "therapist")
NO_CONSENT = "no physician update, the patient has not consented to sharing with providers"


def _techniques(visits: list[Record]) -> list[Context]:
    minutes: Counter[str] = Counter()
    seen: dict[str, set[str]] = {}
    regions: dict[str, set[str]] = {}
    for session in visits:
        for item in session.data["treatment"]:
            minutes[item["technique"]] += item["minutes"]
            seen.setdefault(item["technique"], set()).add(session.id)
            regions.setdefault(item["technique"], set()).update(item["regions"])
    return [
        {
            "technique": label(t),
            "visits": len(seen[t]),
            "minutes": minutes[t],
            "regions": words(sorted(regions[t])),
        }
        for t in sorted(minutes)
    ]


def _home_care(c: Course) -> Context:
    counts = Counter(s.data["subjective"].get("home_care_done", "not_recorded") for s in c.period)
    order = ("full", "partial", "none", "not_assigned", "not_recorded")
    latest = c.period[-1].data.get("plan", {}).get("home_care") if c.period else None
    assigned = latest or (c.plan.data.get("home_care", []) if c.plan else [])
    return {
        "assigned": list(assigned),
        "compliance": [
            {"level": k.replace("_", " "), "visits": counts[k]} for k in order if counts[k]
        ],
    }


def _adverse(visits: list[Record]) -> list[Context]:
    found = []
    for s in visits:
        text = str(s.data.get("response", {}).get("adverse", "")).strip()
        if text.lower().rstrip(".") not in _NO_REACTION:
            found.append({"date": s.data["date"], "text": text})
    return found


def _provider(view: StoreView, provider_id: str) -> Context:
    record = view.get("provider", provider_id)
    data: dict[str, Any] = record.data if record else {"name": provider_id, "credentials": ""}
    doctor = data["credentials"] in _DOCTORS
    return {
        "salutation": f"Dr. {data['name'].split()[-1]}" if doctor else data["name"],
        "name": data["name"],
        "credentials": data["credentials"],
        "organization": data.get("organization", ""),
        "fax": data.get("fax", ""),
        "phone": data.get("phone", ""),
        "email": data.get("email", ""),
        "address": address_lines(data.get("address")),
    }


def _referral(c: Course, letter_date: str) -> Context:
    data = c.referral.data
    return {
        "id": c.referral.id,
        "date": data["date"],
        "kind": data["kind"],
        "valid_until": data["valid_until"],
        "diagnoses": [
            {"code": d["code"], "description": d["description"]} for d in data["diagnoses"]
        ],
        "visits_authorized": data["visits_authorized"],
        "visits_used": len(c.visits),
        "visits_left": max(data["visits_authorized"] - len(c.visits), 0),
        "visits_in_period": len(c.period),
        "expired": letter_date > data["valid_until"],
        "frequency": (
            f"{num(data['frequency_per_week'])} per week for {data['duration_weeks']} weeks"
        ),
    }


def _plan(c: Course) -> Context:
    if c.plan is None:
        return {"id": "", "frequency": "", "techniques": "", "regions": "", "next_visit": ""}
    data = c.plan.data
    per_week = data["sessions_per_week"]
    last = c.visits[-1].data.get("plan", {}) if c.visits else {}
    return {
        "id": c.plan.id,
        "frequency": f"{num(per_week)} visit{'' if per_week == 1 else 's'} a week of "
        f"{data['session_minutes']} minutes for {data['weeks']} weeks ({data['visits']} visits)",
        "techniques": words(data["techniques"]),
        "regions": words(data["regions"]),
        "next_visit": last.get("next_visit", ""),
    }


def _advice(
    c: Course, goals: list[progress.GoalProgress], referral: Context, status: episode.EpisodeStatus
) -> progress.Recommendation:
    """What the letter recommends: the recommendation from progress on the goals, unless
    the episode is closed or paused."""
    advice = progress.recommend(
        goals, len(c.visits), referral["visits_authorized"], referral["expired"]
    )
    if status.discharged:  # a closed episode asks for no further visits (issue 13)
        kept = advice.reasons if advice.action == "discharge" else ()
        return progress.Recommendation("discharged", (*status.reasons, *kept))
    if status.state == "on_hold":  # paused care: say so, and ask for nothing yet
        return progress.Recommendation("on hold", (*status.reasons, *advice.reasons))
    return advice


def _author(view: StoreView, c: Course) -> Any:
    """Who signs the letter: the therapist of the last visit (of the period if any), else
    of the plan, else the practice's default therapist."""
    if c.visits:
        return (c.period or c.visits)[-1].data["therapist"]
    return c.plan.data["therapist"] if c.plan else view.setting("default_therapist", default="")


def update_context(view: StoreView, chart: Chart, c: Course, date: str | None) -> Context:
    """Everything a physician update shows, for one patient and the course found by `course`."""
    letter_date = date or c.end
    goals = update_measures.goal_progress(c)
    referral = _referral(c, letter_date)
    status, unsigned = episode.episode_status(view, chart, c), episode.unsigned_days(c)
    advice = _advice(c, goals, referral, status)
    outcomes = update_measures.outcomes(c)
    table = str(view.setting("norms", default=norms.DEFAULT_TABLE) or norms.DEFAULT_TABLE)
    return {
        "letter": {"id": c.end, "date": letter_date, "since": c.start, "until": c.end},
        "practice": practice(view),
        "provider": _provider(view, c.referral.data["provider"]),
        "patient": patient(chart),
        "referral": referral,
        "plan": _plan(c),
        "techniques": _techniques(c.period),
        "treatment_minutes": sum(t["minutes"] for s in c.period for t in s.data["treatment"]),
        "goals": [
            {
                **update_measures.goal_row(g, table),
                "unsigned": bool(g.latest and g.latest.date in unsigned),
            }
            for g in goals
        ],
        "norms": norms.reference(table),
        "pain": update_measures.pain_rows(c),
        "outcomes": update_measures.outcome_rows(outcomes),
        "home_care": _home_care(c),
        "adverse": _adverse(c.period),
        "recommendation": {"action": advice.action, "reasons": list(advice.reasons)},
        "episode": {"status": status.state, "reasons": list(status.reasons)},
        "therapist": therapist(view, _author(view, c)),
        "charts": update_measures.charts(c, outcomes),
        "attendance": attendance(view, chart, c),
        "request": visit_request(c, advice.action, referral["visits_left"]),
        "unsigned_visits": unsigned_visits(c),
    }


# -- the document's shape (see documents.shape) -------------------------------------------


def read_facts(view: StoreView, chart: Chart, target: Target) -> Facts:
    """Whether --all lists the patient (with a referral), may share the chart, and the
    patient's status (--all --status chooses by it; active by default)."""
    status = chart.patient.data.get("status") if chart.patient else None
    return {
        "listed": bool(chart.of("referral")),
        "share": may_share(chart.patient),
        "status": status if isinstance(status, str) else None,
    }


def select(facts: Facts, named: bool, period: Period) -> Choice:
    """A patient named is always written to; --all writes for the patients it lists who
    consent to sharing, and says so for those who do not."""
    if named:
        return "render"
    if not facts.get("listed"):
        return "skip"
    return "render" if facts.get("share") else "withhold"


def holds(
    view: StoreView, chart: Chart, target: Target, folder: Sequence[Entry], period: Period
) -> set[str]:
    """The settings, the patient, every file of the current episode in the folders an
    update draws on (older episodes left out), the provider and the visits' therapists."""
    patient_file = record_rel("patient", target.patient)
    base = patient_file.rpartition("/")[0] + "/"
    referral = (
        episode.current_referral(view, chart, period.until)
        if chart.patient and chart.patient.valid
        else None
    )
    start = referral.data["date"] if referral else ""
    files = {SETTINGS_FILE, patient_file}
    prefixes = folder_prefixes(SOURCES)[0]
    for entry in folder:
        inside = entry.rel.startswith(base) and entry.rel[len(base) :].startswith(prefixes)
        if inside and not _dated_before(chart, entry, start):
            files.add(entry.rel)
    if referral is not None:
        files.add(record_rel("provider", referral.data["provider"]))
        for session in chart.sorted("session"):
            therapist_id = session.data["therapist"]
            if isinstance(therapist_id, str):
                files.add(record_rel("therapist", therapist_id))
    return files


def _dated_before(chart: Chart, entry: Entry, start: str) -> bool:
    """True for a record of the chart dated before `start` (an older episode of care)."""
    # Only the kinds of an episode are dated out; updates sent are always drawn on.
    dated = entry.kind in ("referral", "assessment", "plan", "session")
    record = chart.of(entry.kind).get(entry.id) if entry.kind and dated else None
    day = record.data.get("date") if record else None
    return bool(start) and isinstance(day, str) and day < start


def build(view: StoreView, chart: Chart, target: Target, period: Period) -> tuple[str, Context]:
    """The letter for the period asked for, named by the period's end date."""
    c = course(view, chart, period.since, period.until)
    return c.end, update_context(view, chart, c, period.date)


DOCUMENT = Document(
    name="physician-update",
    title="physician update",
    per="patient",
    sources=(*SOURCES, "provider", "therapist"),
    facts=("listed", "share", "status"),
    read_facts=read_facts,
    select=select,
    holds=holds,
    reads=READS,
    build=build,
    notice=NO_CONSENT,
    consent=True,
    requires="referral",
    requires_why="so there is no physician to update",
)
