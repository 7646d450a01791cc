"""The episode rules (rules/episode.py) on tiny inline charts, each beside the exact
findings it must give."""

from __future__ import annotations

import datetime as dt
import textwrap
from pathlib import Path

from charts import BASE, PATIENT, PLAN, REFERRAL, SESSION, base, findings

from medmassage.rules.episode import MAX_REASSESS_EVERY, adult_on

VISIT_DAY = "2026-10-06"  # the base visit


def _add(rel: str, after: str, text: str) -> dict[str, str | None]:
    """BASE's `rel` with `text` (dedented) appended after the line `after`."""
    body = textwrap.dedent(BASE[rel])
    assert after in body
    return {rel: body.replace(after, after + textwrap.dedent(text), 1)}


def test_plan_technique_outside_the_referral(tmp_path: Path) -> None:
    changes = _add(REFERRAL, "valid_until: 2026-12-31\n", "techniques: [swedish]\n")
    assert findings(tmp_path, changes) == {
        ("clinical/plan-outside-referral", PLAN, "$.techniques[0]"),
    }


def test_plan_region_outside_the_referral(tmp_path: Path) -> None:
    changes = _add(REFERRAL, "valid_until: 2026-12-31\n", "regions: [neck, low_back]\n")
    assert findings(tmp_path, changes) == set()
    changes = _add(REFERRAL, "valid_until: 2026-12-31\n", "regions: [neck]\n")
    assert findings(tmp_path / "2", changes) == {
        ("clinical/plan-outside-referral", PLAN, "$.regions[0]"),
    }


def test_reassess_interval_above_ten_visits(tmp_path: Path) -> None:
    over = _add(PLAN, "status: active\n", f"reassess_every: {MAX_REASSESS_EVERY + 1}\n")
    assert findings(tmp_path, over) == {("clinical/reassess-interval", PLAN, "$.reassess_every")}
    at = _add(PLAN, "status: active\n", f"reassess_every: {MAX_REASSESS_EVERY}\n")
    assert findings(tmp_path / "2", at) == set()


def _born_years_before(day: str, years: int, days_after: int = 0) -> str:
    visit = dt.date.fromisoformat(day)
    return (visit.replace(year=visit.year - years) + dt.timedelta(days=days_after)).isoformat()


def test_minor_without_a_guardian(tmp_path: Path) -> None:
    # 18 tomorrow: still a minor on the day of the visit.
    minor = _born_years_before(VISIT_DAY, 18, days_after=1)
    changes = base(PATIENT, "date_of_birth: 1985-05-05", f"date_of_birth: {minor}")
    assert findings(tmp_path, changes) == {("clinical/minor-consent", SESSION, "$.date")}
    # 18 on the day of the visit: an adult.
    adult = _born_years_before(VISIT_DAY, 18)
    changes = base(PATIENT, "date_of_birth: 1985-05-05", f"date_of_birth: {adult}")
    assert findings(tmp_path / "2", changes) == set()


def _consent(extra: str, born: str = "1985-05-05") -> dict[str, str | None]:
    """BASE's patient born on `born`, with `extra` lines (already indented) in its consent."""
    text = textwrap.dedent(BASE[PATIENT]).replace("1985-05-05", born)
    line = "  share_with_providers: true\n"
    assert line in text
    return {PATIENT: text.replace(line, line + extra, 1)}


def _minor_with_guardian(signed: str) -> dict[str, str | None]:
    guardian = f"  guardian:\n    name: Odile Rook\n    relationship: mother\n    date: {signed}\n"
    return _consent(guardian, born=_born_years_before(VISIT_DAY, 15))


def test_minor_with_a_guardian_signed_by_the_visit(tmp_path: Path) -> None:
    assert findings(tmp_path, _minor_with_guardian("2026-10-01")) == set()
    assert findings(tmp_path / "2", _minor_with_guardian("2026-10-07")) == {
        ("clinical/minor-consent", SESSION, "$.date"),
    }


def _intraoral(consent: str | None) -> dict[str, str | None]:
    session = textwrap.dedent(BASE[SESSION])
    session = session.replace("technique: myofascial_release", "technique: intraoral_tmj")
    session = session.replace("regions: [low_back]", "regions: [jaw]")
    changes: dict[str, str | None] = {SESSION: session}
    if consent is not None:
        changes.update(_consent(f"  techniques:\n    - kind: intraoral\n      date: {consent}\n"))
    return changes


def test_intraoral_work_needs_written_consent_by_the_visit(tmp_path: Path) -> None:
    expected = {("clinical/intraoral-consent", SESSION, "$.treatment[0].technique")}
    assert findings(tmp_path, _intraoral(None)) == expected
    assert findings(tmp_path / "2", _intraoral(VISIT_DAY)) == set()
    later = (dt.date.fromisoformat(VISIT_DAY) + dt.timedelta(days=1)).isoformat()
    assert findings(tmp_path / "3", _intraoral(later)) == expected


def test_coming_of_age() -> None:
    assert adult_on("2008-02-29", "2026-03-01")
    assert not adult_on("2008-02-29", "2026-02-28")
    assert adult_on("2008-10-06", "2026-10-06") and not adult_on("2008-10-07", "2026-10-06")


def test_the_demo_store_has_its_intraoral_consent_as_a_field() -> None:
    """p-0005's intraoral sessions validate without clinical/intraoral-consent."""
    from charts import problems

    demo = Path(__file__).resolve().parents[2] / "records"
    found = {p["rule"] for p in problems(demo, "2026-12-01", str(demo / "patients/p-0005"))}
    assert "clinical/intraoral-consent" not in found and "clinical/minor-consent" not in found
