"""The discharge summary: the final progress report of an episode, one per patient, made
only once the episode is discharged (`care.episode.episode_status`): from the last report
sent to the discharge, the outcome of each goal, the final measures against the baseline,
why care ended, the home program and recommendations (MBPM §220.3; CLINICAL.md §1)."""

from __future__ import annotations

from collections.abc import Sequence

from medmassage.care import episode, norms
from medmassage.care import outcomes as progress
from medmassage.care.episode import Course, course
from medmassage.chart import Chart, Record, StoreView
from medmassage.documents import physician_update, progress_report, update_measures
from medmassage.documents.common import Context, therapist
from medmassage.documents.shape import Choice, Document, Facts, Period, Target
from medmassage.store import Entry

NOT_DISCHARGED = "no discharge summary, the episode of care is not discharged"


def discharged(view: StoreView, chart: Chart, until: str | None = None) -> bool:
    """True when the patient's current episode of care is discharged by `until`."""
    if chart.patient is None or not chart.patient.valid:
        return False
    if episode.current_referral(view, chart, until) is None:
        return False
    c = course(view, chart, None, until)
    return episode.episode_status(view, chart, c).discharged


def _baseline(chart: Chart, c: Course) -> Record | None:
    """The assessment the plan's baselines come from, else the episode's first."""
    wanted = c.plan.data["assessment"] if c.plan else None
    found = [a for a in c.assessments if a.id == wanted] or c.assessments[:1]
    return found[0] if found else None


def _final(c: Course) -> Record | None:
    """The discharge re-evaluation, else the episode's last assessment after the baseline."""
    closing = [a for a in c.assessments if a.data["kind"] == "discharge"]
    found = closing or c.assessments[-1:]
    return found[-1] if found else None


def _reason(
    goals: list[progress.GoalProgress], c: Course, status: episode.EpisodeStatus
) -> Context:
    """Why care ended, in the words of care's recommendation and the records' status."""
    advice = progress.recommend(
        goals, len(c.visits), int(c.referral.data["visits_authorized"]), False
    )
    met = bool(goals) and all(g.status == "met" for g in goals)
    return {
        "headline": "goals met" if met else "care ended before every goal was met",
        "reasons": [*status.reasons, *(advice.reasons if advice.action == "discharge" else ())],
        "unmet": [g.goal["id"] for g in goals if g.status != "met"],
    }


def _home_program(c: Course) -> list[str]:
    latest = c.visits[-1].data.get("plan", {}).get("home_care") if c.visits else None
    return list(latest or (c.plan.data.get("home_care", []) if c.plan else []))


def summary_context(view: StoreView, chart: Chart, c: Course) -> Context:
    """Everything a discharge summary shows, for a discharged episode found by `course`."""
    table = str(view.setting("norms", default=norms.DEFAULT_TABLE) or norms.DEFAULT_TABLE)
    status = episode.episode_status(view, chart, c)
    goals = update_measures.goal_progress(c)
    first, final = _baseline(chart, c), _final(c)
    author = final.data["therapist"] if final else (c.plan.data["therapist"] if c.plan else "")
    period = c.period
    return {
        **progress_report.header(view, chart, c),
        "summary": {
            "since": c.start,
            "until": c.end,
            "visits_in_period": len(period),
            "treatment_minutes": sum(t["minutes"] for s in period for t in s.data["treatment"]),
            "first_visit": c.visits[0].data["date"] if c.visits else "",
            "last_visit": c.visits[-1].data["date"] if c.visits else "",
        },
        "goals": progress_report.goal_rows(c, table),
        "comparison": (
            progress_report.comparison(view, first, final, c.plan)
            if final is not None and final is not first
            else None
        ),
        "reason": _reason(goals, c, status),
        "home_program": _home_program(c),
        "notes": final.data.get("notes", "") if final else "",
        "therapist": therapist(view, author),
    }


# -- the document's shape (see documents.shape) -------------------------------------------


def read_facts(view: StoreView, chart: Chart, target: Target) -> Facts:
    """Whether the patient has a referral (--all lists them) and whether the current
    episode is discharged."""
    return {"listed": bool(chart.of("referral")), "discharged": discharged(view, chart)}


def select(facts: Facts, named: bool, period: Period) -> Choice:
    """Only a discharged episode gets a summary; any other patient it would concern gets
    the notice (--all passes quietly over patients without a referral)."""
    if not facts.get("listed") and not named:
        return "skip"
    return "render" if facts.get("discharged") else "withhold"


def holds(
    view: StoreView, chart: Chart, target: Target, folder: Sequence[Entry], period: Period
) -> set[str]:
    """What the episode's physician update draws on."""
    return physician_update.holds(view, chart, target, folder, Period())


def build(view: StoreView, chart: Chart, target: Target, period: Period) -> tuple[str, Context]:
    """The summary from the last report sent to the discharge, named by the episode's end."""
    c = course(view, chart, None, None)
    return c.end, summary_context(view, chart, c)


DOCUMENT = Document(
    name="discharge-summary",
    title="discharge summary",
    per="patient",
    sources=(*physician_update.SOURCES, "provider", "therapist"),
    facts=("listed", "discharged"),
    read_facts=read_facts,
    select=select,
    holds=holds,
    reads=physician_update.READS,
    build=build,
    notice=NOT_DISCHARGED,
    requires="referral",
    requires_why="so there is no episode of care to discharge",
)
