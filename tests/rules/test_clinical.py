"""clinical/* rules on tiny inline charts, each beside the exact findings it must give."""

from __future__ import annotations

from pathlib import Path

from charts import ASSESSMENT, BASE, PATIENT, PLAN, REFERRAL, SESSION, base, findings

SECOND = "patients/p-0001/sessions/2026-10-07.yaml"


def second_visit() -> dict[str, str | None]:
    """Another visit the day after the first, under the same plan (a note of its own: a
    word-for-word copy would be integrity/cloned-note)."""
    text = BASE[SESSION].replace("2026-10-06", "2026-10-07")
    return {SECOND: text.replace("Stiff in the mornings.", "Less stiff this morning.")}


def test_the_base_chart_is_clean(tmp_path: Path) -> None:
    assert findings(tmp_path) == set()


def test_future_date(tmp_path: Path) -> None:
    assert findings(tmp_path, today="2026-10-05") == {
        ("clinical/future-date", SESSION, "$.date"),
    }


def test_before_intake_applies_to_care_not_to_the_referral(tmp_path: Path) -> None:
    changed = base(PATIENT, "intake_date: 2026-10-01", "intake_date: 2026-10-04")
    assert findings(tmp_path, changed) == {
        ("clinical/before-intake", ASSESSMENT, "$.date"),
        ("clinical/before-intake", PLAN, "$.date"),
    }


def test_before_birth_applies_to_every_dated_record(tmp_path: Path) -> None:
    changed = base(PATIENT, "date_of_birth: 1985-05-05", "date_of_birth: 2026-10-03")
    assert findings(tmp_path, changed) == {
        ("clinical/before-birth", PATIENT, "$.intake_date"),
        ("clinical/before-birth", REFERRAL, "$.date"),
        ("clinical/before-birth", ASSESSMENT, "$.date"),
        ("clinical/before-birth", PLAN, "$.date"),
        # born three days before the visit: a minor without a guardian's consent
        ("clinical/minor-consent", SESSION, "$.date"),
    }


def test_pain_range_on_a_goal_and_on_a_measurement(tmp_path: Path) -> None:
    changes = {
        **base(PLAN, "baseline: 6", "baseline: 12"),
        **base(SESSION, "value: 4", "value: 11"),
    }
    assert findings(tmp_path, changes) == {
        ("clinical/pain-range", PLAN, "$.goals[0].baseline"),
        ("clinical/pain-range", SESSION, "$.assessment.goals[0].value"),
    }


def test_pain_range_is_only_for_pain_goals(tmp_path: Path) -> None:
    plan = base(PLAN, "kind: pain", "kind: other")[PLAN] or ""
    changes = {
        PLAN: plan.replace("baseline: 6", "baseline: 12"),
        **base(SESSION, "value: 4", "value: 11"),
    }
    assert findings(tmp_path, changes) == set()


def test_treatment_exceeds_session(tmp_path: Path) -> None:
    changed = base(SESSION, "minutes: 40", "minutes: 61")
    assert findings(tmp_path, changed) == {
        ("clinical/treatment-exceeds-session", SESSION, "$.treatment"),
    }


def test_treatment_filling_the_session_exactly_is_fine(tmp_path: Path) -> None:
    assert findings(tmp_path, base(SESSION, "minutes: 40", "minutes: 60")) == set()


def test_license_expired_before_the_visit_only(tmp_path: Path) -> None:
    changed = base("therapists/ines-varga.yaml", "expires: 2027-01-31", "expires: 2026-10-04")
    assert findings(tmp_path, changed) == {
        ("clinical/license-expired", SESSION, "$.therapist"),
    }


def test_absolute_precaution(tmp_path: Path) -> None:
    changed = {
        PATIENT: BASE[PATIENT]
        + """
        precautions:
          - condition: Untreated deep vein thrombosis
            kind: absolute
        """
    }
    assert findings(tmp_path, changed) == {
        ("clinical/absolute-precaution", SESSION, "$.treatment"),
    }


def test_local_precaution_points_at_the_region(tmp_path: Path) -> None:
    changed = {
        PATIENT: BASE[PATIENT]
        + """
        precautions:
          - condition: Recent bruise
            kind: local
            regions: [low_back]
          - condition: Healing scar
            kind: local
            regions: [neck]
        """
    }
    assert findings(tmp_path, changed) == {
        ("clinical/local-precaution", SESSION, "$.treatment[0].regions[0]"),
    }


def test_outside_referral(tmp_path: Path) -> None:
    changed = base(REFERRAL, "valid_until: 2026-12-31", "valid_until: 2026-10-05")
    assert findings(tmp_path, changed) == {
        ("clinical/outside-referral", SESSION, "$.date"),
    }


def test_visits_exceeded_names_only_the_visits_beyond_the_limit(tmp_path: Path) -> None:
    changes = {
        **base(REFERRAL, "visits_authorized: 4", "visits_authorized: 1"),
        **second_visit(),
    }
    assert findings(tmp_path, changes) == {
        ("clinical/visits-exceeded", SECOND, "$.treatment_plan"),
    }


def test_visits_up_to_the_limit_are_fine(tmp_path: Path) -> None:
    changes = {
        **base(REFERRAL, "visits_authorized: 4", "visits_authorized: 2"),
        **second_visit(),
    }
    assert findings(tmp_path, changes) == set()


def test_before_plan(tmp_path: Path) -> None:
    changed = base(PLAN, "date: 2026-10-02", "date: 2026-10-07")
    assert findings(tmp_path, changed) == {
        ("clinical/before-plan", SESSION, "$.date"),
    }


def test_a_visit_on_the_day_of_its_plan_is_fine(tmp_path: Path) -> None:
    changed = base(PLAN, "date: 2026-10-02", "date: 2026-10-06")
    assert findings(tmp_path, changed) == set()
