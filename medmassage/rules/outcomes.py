"""Outcome-score rules: a questionnaire score within its instrument's range in its unit,
and a typed total that agrees with the score the tool computes from its item answers
(CLINICAL.md §3). The instruments, their ranges and scoring live in care/instruments.py.

Messages name the instrument and the rule it breaks, never the chart's values."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from decimal import Decimal
from typing import Any

from medmassage.care import instruments
from medmassage.care.instruments import Instrument
from medmassage.chart import Record, StoreView
from medmassage.errors import Finding

Path = tuple[str | int, ...]

# Where each record kind keeps its outcome scores.
_PLACES: dict[str, Path] = {
    "assessment": ("outcome_measures",),
    "session": ("objective", "outcome_measures"),
}


def _entries(record: Record) -> Iterator[tuple[Path, Mapping[str, Any]]]:
    """(field path, entry) of every outcome score a record holds."""
    place = _PLACES[record.kind]
    data: Any = record.data
    for step in place:
        data = data.get(step, {}) if isinstance(data, Mapping) else {}
    for index, entry in enumerate(data or []):
        yield (*place, index), entry


def _range_text(row: Instrument, unit: str) -> str:
    low, high = row.units[unit]
    return f"{low:g}–{high:g} {unit}"


def agrees(typed: float, computed: float) -> bool:
    """Whether a typed total is the computed score rounded to the decimals it was typed
    with (62.3 agrees with 62.33; 38 with 38.4, not with 38.6)."""
    exponent = Decimal(str(typed)).normalize().as_tuple().exponent
    decimals = max(0, -exponent) if isinstance(exponent, int) else 0
    return abs(typed - computed) <= 0.5 * 10.0**-decimals + 1e-9


def _check_range(rel: str, at: Path, row: Instrument, entry: Mapping[str, Any]) -> list[Finding]:
    unit = entry.get("unit", row.unit)
    if unit not in row.units:
        scored_in = " or ".join(row.units)
        message = f"{row.key} is not scored in {unit} (it is scored in {scored_in})"
        return [Finding(rel, (*at, "unit"), "clinical/score-out-of-range", "error", message)]
    low, high = row.units[unit]
    if not low <= float(entry["score"]) <= high:
        message = f"{row.key} scores lie within {_range_text(row, unit)}"
        return [Finding(rel, (*at, "score"), "clinical/score-out-of-range", "error", message)]
    return []


def _answers(
    rel: str, at: Path, row: Instrument, items: list[Any]
) -> tuple[list[Any], Finding | None]:
    """The answers as numbers (None: unanswered), and a finding for any of the wrong form."""
    psfs = row.key == "PSFS"
    wrong = [i for i, a in enumerate(items) if isinstance(a, Mapping) != psfs]
    if wrong:
        form = "a named activity with its score" if psfs else "a number (or null)"
        message = f"each {row.key} item answer is {form}"
        where = (*at, "items", wrong[0])
        return [], Finding(rel, where, "clinical/items-incomplete", "error", message)
    answers = [a["score"] if isinstance(a, Mapping) else a for a in items]
    return answers, None


def _check_items(rel: str, at: Path, row: Instrument, entry: Mapping[str, Any]) -> list[Finding]:
    answers, problem = _answers(rel, at, row, list(entry["items"]))
    if problem is not None:
        return [problem]
    bad = instruments.invalid_items(row, answers)
    if bad:
        allowed = ", ".join(f"{v:g}" for v in row.item_values)
        message = f"each {row.key} item is answered with one of: {allowed}"
        where = (*at, "items", bad[0])
        return [Finding(rel, where, "clinical/score-out-of-range", "error", message)]
    unit = entry.get("unit", row.unit)
    scored = instruments.score(row.key, answers, unit)
    if scored.value is None:
        message = (
            f"{row.key} needs {scored.expected} items answered to be scored "
            f"(CLINICAL.md §3): {scored.reason}"
        )
        return [Finding(rel, (*at, "items"), "clinical/items-incomplete", "error", message)]
    if not agrees(float(entry["score"]), scored.value):
        message = (
            f"the {row.key} total disagrees with the score computed from its "
            f"{scored.answered} item answers (CLINICAL.md §3); correct the total or the items"
        )
        return [Finding(rel, (*at, "score"), "clinical/score-mismatch", "error", message)]
    return []


def check_outcome_scores(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """clinical/score-out-of-range, clinical/score-mismatch, clinical/items-incomplete."""
    for record in records:
        if not record.valid or record.kind not in _PLACES:
            continue
        for at, entry in _entries(record):
            row = instruments.instrument(str(entry["instrument"]))
            if row is None:
                continue
            found = _check_range(record.rel, at, row, entry)
            yield from found
            if not found and "items" in entry and row.scored:
                yield from _check_items(record.rel, at, row, entry)
