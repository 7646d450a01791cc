"""The episode of care (care/episode.py): its end, its status, attendance against the
plan's frequency and unsigned notes, on inline charts and on the demo store; the discharge
honoured by the real `render physician-update` (facts read from the demo records)."""

from __future__ import annotations

import datetime as dt
import math
import textwrap
from pathlib import Path

import yaml
from charts import PATIENT, PLAN, SESSION, TODAY, base, invoke, write_store

from medmassage.care import episode
from medmassage.chart import Chart, StoreView
from medmassage.store import Store
from medmassage.validate import validate_store

DEMO = Path(__file__).resolve().parents[2] / "records"
P = "patients/p-0001"
ATTENDANCE = f"{P}/attendance"


def _load(root: Path, today: str = TODAY) -> tuple[StoreView, Chart]:
    report = validate_store(Store(root), today=today)
    assert not [p for p in report.problems if p.severity == "error"], report.problems
    return report.view, report.view.chart("p-0001")


def _missed(day: str, status: str, by: str = "patient") -> dict[str, str | None]:
    text = f"id: {day}\ndate: {day}\nstatus: {status}\nby: {by}\ntherapist: ines-varga\n"
    return {f"{ATTENDANCE}/{day}.yaml": text}


def _visit(day: str, signed: bool = False) -> dict[str, str | None]:
    """Another visit under the base plan, on `day` (a note of its own)."""
    text = textwrap.dedent(base(SESSION, "2026-10-06", day)[SESSION] or "")
    text = text.replace("2026-10-06", day).replace("Stiff", f"Stiff ({day})")
    return {f"{P}/sessions/{day}.yaml": text}


def test_attendance_counts_cancellations_and_no_shows_against_the_frequency(
    tmp_path: Path,
) -> None:
    changes = {
        **_visit("2026-10-13"),
        **_visit("2026-10-27"),
        **_missed("2026-10-20", "cancelled"),
        **_missed("2026-10-22", "cancelled", by="clinic"),
        **_missed("2026-11-03", "no_show"),
        **_missed("2026-10-01", "no_show"),  # before the plan: not counted
    }
    view, chart = _load(write_store(tmp_path / "s", changes), today="2026-11-05")
    plan = chart.of("plan")["2026-10-02"]
    end = "2026-11-03"
    summary = episode.attendance_summary(view, chart, plan, end)
    # The base plan: 1 visit a week for 4 weeks (4 visits) from 2026-10-02.
    days = (dt.date.fromisoformat(end) - dt.date.fromisoformat("2026-10-02")).days
    per_week, visits = plan.data["sessions_per_week"], plan.data["visits"]
    assert summary.planned == min(math.ceil((days // 7 + 1) * per_week), visits) == 4
    assert summary.attended == 3  # 10-06 (base), 10-13, 10-27
    assert (summary.cancelled, summary.no_shows) == (2, 1)
    assert summary.missed == 0
    early = episode.attendance_summary(view, chart, plan, "2026-10-10")
    assert (early.planned, early.attended, early.cancelled, early.no_shows) == (2, 1, 0, 0)
    assert early.missed == 1
    assert episode.attendance_summary(view, chart, plan, "2026-10-01").planned == 0


def test_planned_visits_round_up_for_a_fraction_of_visits_a_week(tmp_path: Path) -> None:
    plan_text = textwrap.dedent(base(PLAN, "sessions_per_week: 1", "sessions_per_week: 1.5")[PLAN])
    _, chart = _load(write_store(tmp_path / "s", {PLAN: plan_text}))
    plan = chart.of("plan")["2026-10-02"]
    assert episode.planned_visits(plan, "2026-10-02") == 2  # week 1: ceil(1.5)
    assert episode.planned_visits(plan, "2026-10-09") == 3  # week 2: 3.0
    assert episode.planned_visits(plan, "2026-12-31") == plan.data["visits"]


def test_a_discharge_assessment_after_the_last_visit_ends_the_episode(tmp_path: Path) -> None:
    discharge = textwrap.dedent(
        """
        id: 2026-10-20
        date: 2026-10-20
        therapist: ines-varga
        kind: discharge
        referral: 2026-10-01
        chief_complaint: Re-evaluation.
        pain:
          current: 2
        """
    ).lstrip()
    view, chart = _load(
        write_store(tmp_path / "s", {f"{P}/assessments/2026-10-20.yaml": discharge}), "2026-10-21"
    )
    c = episode.course(view, chart, None, None)
    assert c.end == "2026-10-20" and [a.id for a in c.assessments][-1] == "2026-10-20"
    status = episode.episode_status(view, chart, c)
    assert status.discharged and status.reasons == ("discharge re-evaluation on 2026-10-20",)
    # A period ending at the last visit has not reached the discharge yet.
    before = episode.course(view, chart, None, "2026-10-06")
    assert [a.id for a in before.assessments] == ["2026-10-02"]
    assert episode.episode_status(view, chart, before).state == "active"


def test_plan_and_patient_status_count_once_the_period_reaches_the_end(tmp_path: Path) -> None:
    changes = {
        **base(PLAN, "status: active", "status: completed"),
        **base(PATIENT, "status: active", "status: discharged"),
        **_visit("2026-10-13"),
    }
    view, chart = _load(write_store(tmp_path / "s", changes), "2026-10-14")
    whole = episode.episode_status(view, chart, episode.course(view, chart, None, None))
    assert whole.reasons == ("the treatment plan is completed", "the patient is discharged")
    earlier = episode.course(view, chart, None, "2026-10-06")
    assert episode.episode_status(view, chart, earlier).state == "active"


def test_on_hold(tmp_path: Path) -> None:
    view, chart = _load(
        write_store(tmp_path / "s", base(PATIENT, "status: active", "status: on_hold"))
    )
    c = episode.course(view, chart, None, None)
    assert episode.episode_status(view, chart, c).state == "on_hold"


def test_unsigned_notes_and_their_days(tmp_path: Path) -> None:
    view, chart = _load(write_store(tmp_path / "s", _visit("2026-10-07")))
    c = episode.course(view, chart, None, None)
    unsigned = [s.id for s in c.visits if "signature" not in s.data]
    assert unsigned and episode.unsigned_days(c) == frozenset(unsigned)
    assert all(not episode.is_signed(s) for s in c.visits)
    assert all(episode.is_signed(a) for a in c.assessments)  # assessments are not signed


def test_demo_episode_of_p_0002_is_read_to_its_discharge() -> None:
    """The facts come from the demo records: the last visit, the discharge assessment
    after it, and the statuses of plan and patient."""
    report = validate_store(Store(DEMO))
    view = report.view
    chart = view.chart("p-0002")
    c = episode.course(view, chart, None, None)
    last_visit = max(s.data["date"] for s in chart.sorted("session"))
    discharge = [
        a.data["date"] for a in chart.sorted("assessment") if a.data["kind"] == "discharge"
    ]
    assert discharge and discharge[-1] > last_visit
    assert c.end == discharge[-1] and c.assessments[-1].data["date"] == discharge[-1]
    assert episode.episode_status(view, chart, c).discharged


def _demo(rel: str) -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((DEMO / rel).read_text("utf-8"))
    return loaded


def test_the_discharged_letter_says_so_and_asks_for_no_more_visits() -> None:
    """render physician-update p-0002 through the real CLI: the letter says discharged,
    asks for no further visits, and reads the discharge re-evaluation's HIT-6 score."""
    patient = _demo("patients/p-0002/patient.yaml")
    assert patient["status"] == "discharged"
    discharge = next(
        _demo(f"patients/p-0002/assessments/{f.name}")
        for f in sorted((DEMO / "patients/p-0002/assessments").iterdir())
        if _demo(f"patients/p-0002/assessments/{f.name}")["kind"] == "discharge"
    )
    result = invoke(
        "--root", str(DEMO), "render", "physician-update", "p-0002", "--format", "md", "--out", "-"
    )
    assert result.exit_code == 0, result.stderr
    letter = result.stdout
    assert "Recommendation: discharged" in letter
    assert f"discharge re-evaluation on {discharge['date']}" in letter
    advice = letter.split("Recommendation:", 1)[1].split("Sincerely", 1)[0]
    assert "authoriz" not in advice and "we ask you" not in letter
    assert "not re-measured" not in letter
    scores = discharge["outcome_measures"]
    assert isinstance(scores, list)
    for score in scores:
        assert f"{score['score']:g} ({discharge['date']})" in letter


def test_letters_mark_figures_from_unsigned_notes() -> None:
    """p-0001's last note is unsigned in the demo: its pain line carries (unsigned)."""
    sessions = sorted((DEMO / "patients/p-0001/sessions").glob("*.yaml"))
    unsigned = [
        f.stem for f in sessions if "signature" not in _demo(f"patients/p-0001/sessions/{f.name}")
    ]
    assert unsigned
    result = invoke(
        "--root", str(DEMO), "render", "physician-update", "p-0001", "--format", "md", "--out", "-"
    )
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if line.startswith("- 20")]
    for line in lines:
        day = line[2:12]
        assert ("(unsigned)" in line) == (day in unsigned), line
