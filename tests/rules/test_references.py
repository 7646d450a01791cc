"""ref/* rules on tiny inline charts, each beside the exact findings it must give."""

from __future__ import annotations

import textwrap
from pathlib import Path

from charts import ASSESSMENT, BASE, PATIENT, PLAN, REFERRAL, SESSION, SETTINGS, base, findings

from medmassage.rules import REGISTRY

UPDATE = "patients/p-0001/updates/2026-10-07.yaml"
ADDENDUM = "patients/p-0001/addenda/2026-10-07.yaml"


def update(*sessions: str, provider: str = "dr-omar-pellow") -> dict[str, str | None]:
    listed = "".join(f"\n  - {s}" for s in sessions)
    return {
        UPDATE: f"""id: 2026-10-07
date: 2026-10-07
provider: {provider}
period:
  from: 2026-10-01
  to: 2026-10-07
via: fax
sessions:{listed}
"""
    }


def test_unknown_session_in_an_update(tmp_path: Path) -> None:
    assert findings(tmp_path, update("2026-10-06", "2026-10-09")) == {
        ("ref/unknown-session", UPDATE, "$.sessions[1]"),
    }


def test_an_update_naming_known_sessions_is_fine(tmp_path: Path) -> None:
    assert findings(tmp_path, update("2026-10-06")) == set()


def test_duplicate_goal(tmp_path: Path) -> None:
    goal = textwrap.dedent(BASE[PLAN]).split("goals:\n", 1)[1].split("techniques:", 1)[0]
    plan = textwrap.dedent(BASE[PLAN]).replace("techniques:", goal + "techniques:", 1)
    assert findings(tmp_path, {PLAN: plan}) == {
        ("ref/duplicate-goal", PLAN, "$.goals[1].id"),
    }


def test_unknown_goal(tmp_path: Path) -> None:
    assert findings(tmp_path, base(SESSION, "goal: g1", "goal: g7")) == {
        ("ref/unknown-goal", SESSION, "$.assessment.goals[0].goal"),
    }


def test_a_session_whose_plan_is_missing_reports_the_plan_not_its_goals(tmp_path: Path) -> None:
    changed = base(SESSION, "treatment_plan: 2026-10-02", "treatment_plan: 2026-09-30")
    assert findings(tmp_path, changed) == {
        ("ref/unknown-plan", SESSION, "$.treatment_plan"),
    }


def test_every_reference_broken_at_once(tmp_path: Path) -> None:
    """Each field that names another record, pointing nowhere: one finding each, and
    together they give every ref/unknown-<kind> code the registry lists but the goal's."""
    changes = {
        SETTINGS: textwrap.dedent(BASE[SETTINGS]) + "default_therapist: nobody\n",
        **base(PATIENT, "primary_provider: dr-omar-pellow", "primary_provider: dr-nobody"),
        **base(REFERRAL, "provider: dr-omar-pellow", "provider: dr-nobody"),
        ASSESSMENT: textwrap.dedent(BASE[ASSESSMENT])
        .replace("therapist: ines-varga", "therapist: nobody")
        .replace("referral: 2026-10-01", "referral: 2026-09-01"),
        PLAN: textwrap.dedent(BASE[PLAN])
        .replace("therapist: ines-varga", "therapist: nobody")
        .replace("referral: 2026-10-01", "referral: 2026-09-01")
        .replace("assessment: 2026-10-02", "assessment: 2026-09-02"),
        **base(SESSION, "therapist: ines-varga", "therapist: nobody"),
        **update("2026-09-09", provider="dr-nobody"),
    }
    expected = {
        ("ref/unknown-therapist", SETTINGS, "$.default_therapist"),
        ("ref/unknown-provider", PATIENT, "$.primary_provider"),
        ("ref/unknown-provider", REFERRAL, "$.provider"),
        ("ref/unknown-therapist", ASSESSMENT, "$.therapist"),
        ("ref/unknown-referral", ASSESSMENT, "$.referral"),
        ("ref/unknown-therapist", PLAN, "$.therapist"),
        ("ref/unknown-referral", PLAN, "$.referral"),
        ("ref/unknown-assessment", PLAN, "$.assessment"),
        ("ref/unknown-therapist", SESSION, "$.therapist"),
        ("ref/unknown-provider", UPDATE, "$.provider"),
        ("ref/unknown-session", UPDATE, "$.sessions[0]"),
    }
    found = findings(tmp_path, changes)
    assert found == expected
    unknown = {code for code in REGISTRY if code.startswith("ref/unknown-")}
    plan_and_goal = {"ref/unknown-plan", "ref/unknown-goal"}  # tested above, one at a time
    assert {rule for rule, _, _ in found} == unknown - plan_and_goal


def test_a_close_id_is_suggested(tmp_path: Path) -> None:
    from charts import problems, write_store

    root = write_store(tmp_path, base(SESSION, "therapist: ines-varga", "therapist: ines-vraga"))
    (found,) = problems(root)
    assert found["rule"] == "ref/unknown-therapist" and "'ines-varga'" in found["message"]
