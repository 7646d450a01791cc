"""clinical/score-out-of-range, clinical/score-mismatch and clinical/items-incomplete on tiny
inline charts, through the real `validate`; expected totals worked out here (CLINICAL.md §3)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from charts import ASSESSMENT, BASE, findings

NDI = [3, 2, 2, 3, 2, 2, 2, 2, 1, 2]


def scored(*lines: str) -> dict[str, str | None]:
    """BASE's assessment with one outcome score made of `lines` (YAML under the list dash)."""
    entry = "\n".join(("  - " if i == 0 else "    ") + line for i, line in enumerate(lines))
    return {ASSESSMENT: textwrap.dedent(BASE[ASSESSMENT]) + "outcome_measures:\n" + entry + "\n"}


def items(answers: list[int | None]) -> list[str]:
    return ["items:", *(f"  - {'null' if a is None else a}" for a in answers)]


def test_a_total_outside_its_range_in_its_unit(tmp_path: Path) -> None:
    assert findings(tmp_path / "ndi", scored("instrument: NDI", "score: 420")) == {
        ("clinical/score-out-of-range", ASSESSMENT, "$.outcome_measures[0].score"),
    }
    assert findings(tmp_path / "odi", scored("instrument: ODI", "score: 380")) == {
        ("clinical/score-out-of-range", ASSESSMENT, "$.outcome_measures[0].score"),
    }
    # NDI 42 is within 0-100 as a percent, outside 0-50 as points (its own unit).
    percent = scored("instrument: NDI", "score: 42", "unit: percent")
    assert findings(tmp_path / "pct", percent) == set()
    assert findings(tmp_path / "pts", scored("instrument: NDI", "score: 51")) == {
        ("clinical/score-out-of-range", ASSESSMENT, "$.outcome_measures[0].score"),
    }
    assert findings(tmp_path / "unit", scored("instrument: ODI", "score: 30", "unit: points")) == {
        ("clinical/score-out-of-range", ASSESSMENT, "$.outcome_measures[0].unit"),
    }


def test_items_that_reproduce_the_total_are_clean_and_others_are_a_mismatch(
    tmp_path: Path,
) -> None:
    total = sum(NDI)
    right = scored("instrument: NDI", f"score: {total * 2}", "unit: percent", *items(NDI))
    assert findings(tmp_path / "right", right) == set()
    wrong = scored("instrument: NDI", f"score: {total + 3}", *items(NDI))
    assert findings(tmp_path / "wrong", wrong) == {
        ("clinical/score-mismatch", ASSESSMENT, "$.outcome_measures[0].score"),
    }


def test_missing_items_within_and_beyond_the_instruments_rule(tmp_path: Path) -> None:
    one = [None, *NDI[1:]]
    within = sum(NDI[1:]) / (5 * 9) * 50  # ODI/NDI rule: share of the answered items' max
    allowed = scored("instrument: NDI", f"score: {within:.1f}", *items(one))
    assert findings(tmp_path / "one", allowed) == set()
    two = scored("instrument: NDI", "score: 20", *items([None, None, *NDI[2:]]))
    assert findings(tmp_path / "two", two) == {
        ("clinical/items-incomplete", ASSESSMENT, "$.outcome_measures[0].items"),
    }
    quick = scored("instrument: QuickDASH", "score: 30", *items([None, None, *[3] * 9]))
    assert findings(tmp_path / "qd", quick) == {
        ("clinical/items-incomplete", ASSESSMENT, "$.outcome_measures[0].items"),
    }


def test_an_item_answer_outside_the_items_range(tmp_path: Path) -> None:
    hit6 = scored("instrument: HIT-6", "score: 55", *items([10, 11, 8, 13, 6, 7]))
    assert findings(tmp_path, hit6) == {
        ("clinical/score-out-of-range", ASSESSMENT, "$.outcome_measures[0].items[5]"),
    }


def test_psfs_scored_per_named_activity(tmp_path: Path) -> None:
    ratings = [4, 7, 3]
    activities = ["items:"] + [
        line
        for n, r in enumerate(ratings)
        for line in (f"  - activity: Activity {n}", f"    score: {r}")
    ]
    mean = sum(ratings) / len(ratings)
    right = scored("instrument: PSFS", f"score: {mean:.1f}", *activities)
    assert findings(tmp_path / "right", right) == set()
    wrong = scored("instrument: PSFS", f"score: {mean + 1:.1f}", *activities)
    assert findings(tmp_path / "wrong", wrong) == {
        ("clinical/score-mismatch", ASSESSMENT, "$.outcome_measures[0].score"),
    }
