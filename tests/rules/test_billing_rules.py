"""billing/* rules through the real `validate`: billed codes against the units the visit's
minutes support, by the store's unit rule (CLINICAL.md §2). Expected units are computed
with `care.billing` from the same records the command reads."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml
from charts import BASE, SESSION, SETTINGS, base, findings, problems, write_store

from medmassage.care.billing import billing_lines, billing_settings

RECORDS = Path(__file__).resolve().parents[2] / "records"
DEMO_TODAY = "2026-12-02"


def billed(*codes: tuple[str, int]) -> dict[str, str | None]:
    """BASE's visit with these (code, units) billed."""
    lines = "".join(f'\n    - code: "{code}"\n      units: {units}' for code, units in codes)
    return base(SESSION, "\nassessment:", f"\nbilling:\n  codes:{lines}\nassessment:")


def computed(changes: dict[str, str | None], units: str = "cms") -> dict[str, int]:
    """Units per code that the changed BASE visit supports, by `units`."""
    session: dict[str, Any] = yaml.safe_load(changes[SESSION] or "")
    lines = billing_lines(session, billing_settings({"units": units}))
    return {line.code: line.units for line in lines}


def test_billing_that_matches_the_minutes_is_clean(tmp_path: Path) -> None:
    right = computed(billed())
    assert findings(tmp_path, billed(*right.items())) == set()


def test_a_made_up_code_and_the_code_it_left_out(tmp_path: Path) -> None:
    changes = billed(("12345", 9))
    assert findings(tmp_path, changes) == {
        ("billing/unknown-code", SESSION, "$.billing.codes[0].code"),
        ("billing/units-mismatch", SESSION, "$.billing.codes"),
    }


def test_units_off_by_one_name_billed_computed_and_minutes(tmp_path: Path) -> None:
    ((code, units),) = computed(billed()).items()
    root = write_store(tmp_path / "store", billed((code, units + 1)))
    (problem,) = problems(root)
    minutes = yaml.safe_load(BASE[SESSION])["treatment"][0]["minutes"]
    assert (problem["rule"], problem["path"]) == (
        "billing/units-mismatch",
        "$.billing.codes[0].units",
    )
    for figure in (f"× {units + 1}", f"× {units}", f"{minutes} min"):
        assert figure in problem["message"]


def per_code_split() -> dict[str, str | None]:
    """A visit of 6 min Swedish + 32 min myofascial release billed 97124 × 1, 97140 × 2."""
    changes = billed(("97124", 1), ("97140", 2))
    text = (changes[SESSION] or "").replace(
        "  - technique: myofascial_release",
        "  - technique: swedish\n    regions: [low_back]\n    side: bilateral\n    minutes: 6\n"
        "  - technique: myofascial_release",
    )
    minutes = yaml.safe_load(text)["treatment"][1]["minutes"]
    return {SESSION: text.replace(f"minutes: {minutes}", "minutes: 32")}


def test_the_store_unit_rule_decides(tmp_path: Path) -> None:
    changes = per_code_split()
    cms, per_code = computed(changes, "cms"), computed(changes, "per_code")
    assert cms == {"97124": 1, "97140": 2} and per_code["97124"] == 0
    assert findings(tmp_path / "cms", changes) == set()
    settings = BASE[SETTINGS].rstrip(" ") + "        billing:\n          units: per_code\n"
    assert findings(tmp_path / "per_code", {**changes, SETTINGS: settings}) == {
        ("billing/units-mismatch", SESSION, "$.billing.codes[0].units"),
    }


def test_a_store_table_entry_makes_a_code_known(tmp_path: Path) -> None:
    changes = billed(("97010", 1), *computed(billed()).items())  # untimed: no minutes
    assert findings(tmp_path / "known", changes) == set()
    ((_code, units),) = computed(billed()).items()
    changes = billed(("97999", units))
    assert ("billing/unknown-code", SESSION, "$.billing.codes[0].code") in findings(
        tmp_path / "unknown", changes
    )
    technique = yaml.safe_load(BASE[SESSION])["treatment"][0]["technique"]
    table = (
        BASE[SETTINGS].rstrip(" ") + "        billing:\n          codes:\n"
        f'            - technique: {technique}\n              code: "97999"\n'
    )
    assert findings(tmp_path / "table", {**changes, SETTINGS: table}) == set()


def test_the_demo_is_right_by_cms_and_overbills_per_code(tmp_path: Path) -> None:
    """All billed demo notes pass under `cms`; under `per_code` the note of p-0003 on
    2026-10-30 bills 97124 for 6 minutes (CLINICAL.md §2: under 8, not billed)."""
    root = tmp_path / "records"
    shutil.copytree(RECORDS, root, ignore=shutil.ignore_patterns("rendered"))
    billing_found = [p for p in problems(root, DEMO_TODAY) if p["rule"].startswith("billing/")]
    assert billing_found == []
    settings = root / "medmassage.yaml"
    settings.write_text(
        settings.read_text(encoding="utf-8").replace("units: cms", "units: per_code"),
        encoding="utf-8",
    )
    found = [p for p in problems(root, DEMO_TODAY) if p["rule"] == "billing/units-mismatch"]
    over = [p for p in found if "97124 billed × 1, computed × 0" in p["message"]]
    assert [p["file"] for p in over] == ["patients/p-0003/sessions/2026-10-30.yaml"]
    assert len(found) == 8
