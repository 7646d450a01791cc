"""`list` and `due` answer from the validation cache: the same answer as reading every chart
again, no chart's YAML read when nothing changed, and exactly the changed chart judged again."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from medmassage.care import due as rules
from medmassage.cli.worklist import _items
from medmassage.query import Clinic
from medmassage.query import summary as summary_module
from medmassage.query.lists import CHART_KINDS, Filters, list_rows
from medmassage.store import Store
from medmassage.validate import Validation, open_store
from tests.conftest import TODAY

pytestmark = pytest.mark.usefixtures("trusting")  # no waiting for timestamps to age


def _table(store: Path, kind: str) -> dict[str, Any]:
    """`list KIND` as the command answers it: a clinic of its own, through the cache."""
    clinic = Clinic(Store(store), TODAY)
    assert clinic.cached
    table = list_rows(clinic, kind, Filters(), names=kind == "patients")
    clinic.close()
    return table.as_dict()


def _due_from_cache(store: Path) -> list[dict[str, Any]]:
    items, days = _items(Store(store), TODAY, None, ())
    return [i.as_dict() for i in rules.order(rules.within(items, TODAY, days))]


def _read_once(survey: Validation) -> None:
    """Make an uncached survey judge each chart once however many questions read it: the
    same chart read again would give the same answer, only eight times over."""
    read = survey.chart
    charts: dict[str, tuple[list[Any], list[Any]]] = {}

    def once(patient: str) -> tuple[list[Any], list[Any]]:
        if patient not in charts:
            charts[patient] = read(patient)
        return charts[patient]

    survey.chart = once  # type: ignore[method-assign]


def _due_read_again(store: Path, survey: Validation | None = None) -> list[dict[str, Any]]:
    """`due` as it is worked out from every chart loaded into one view (no cache at all)."""
    survey = survey or open_store(Store(store), TODAY, use_cache=False)
    assert not survey.cache.enabled
    view = survey.view()
    for patient in sorted(survey.charts):
        for record in survey.chart(patient)[1]:
            view.add(record)
    items = rules.licenses(view, TODAY)
    for patient in sorted(survey.charts):
        items += rules.chart_items(view, view.chart(patient), TODAY)
    days = int(rules.setting(view, "within_days"))
    return [i.as_dict() for i in rules.order(rules.within(items, TODAY, days))]


def _read_again(store: Path) -> dict[str, Any]:
    """Every answer from the charts read with no cache at all: `list` of each kind from one
    uncached clinic (`list_rows` as `--no-cache` runs it), each chart judged once."""
    clinic = Clinic(Store(store), TODAY, use_cache=False)
    assert not clinic.cached
    _read_once(clinic.validation)
    answers: dict[str, Any] = {
        kind: list_rows(clinic, kind, Filters(), names=kind == "patients").as_dict()
        for kind in CHART_KINDS
    }
    answers["due"] = _due_read_again(store, clinic.validation)
    clinic.close()
    return answers


def _every_answer(store: Path, cached: bool) -> dict[str, Any]:
    """Every answer of `list` (each kind a run of its own) and `due`, from the cache (the
    commands' way), or worked out again from every chart."""
    if not cached:
        return _read_again(store)
    answers: dict[str, Any] = {kind: _table(store, kind) for kind in CHART_KINDS}
    answers["due"] = _due_from_cache(store)
    return answers


def _judged(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The patients whose charts are judged (their YAML read) from now on."""
    seen: list[str] = []
    real = summary_module.check_chart

    def counting(shared: Any, entries: Any) -> Any:
        seen.append(entries[0].patient)
        return real(shared, entries)

    monkeypatch.setattr(summary_module, "check_chart", counting)
    return seen


def test_cached_answers_are_the_answers_of_reading_every_chart(store: Path) -> None:
    expected = _every_answer(store, cached=False)
    assert any(expected[kind]["rows"] for kind in CHART_KINDS) and expected["due"]
    assert _every_answer(store, cached=True) == expected  # cold: the cache is being filled
    assert _every_answer(store, cached=True) == expected  # warm: answered from it


def test_a_warm_query_reads_no_chart_and_a_changed_file_only_its_chart(
    store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _every_answer(store, cached=True)  # fills the cache
    judged = _judged(monkeypatch)
    warm = _every_answer(store, cached=True)
    assert judged == []
    session = sorted(store.glob("patients/*/sessions/*.yaml"))[-1]
    patient = session.parent.parent.name
    session.write_text(session.read_text().replace("pain: ", "pain: 9 #", 1))
    changed = _every_answer(store, cached=True)
    assert judged == [patient]  # once, by the first query; the others reuse it
    assert changed == _every_answer(store, cached=False)
    mine = [r for r in changed["sessions"]["rows"] if r["patient"] == patient]
    assert mine[-1]["pain"].startswith("9>") and changed != warm


def test_a_validate_run_leaves_charts_for_the_queries_to_summarize(store: Path) -> None:
    validation = open_store(Store(store), TODAY)
    validation.validate(keep_view=False)  # keeps problems only, no summaries
    expected = _every_answer(store, cached=False)
    assert _every_answer(store, cached=True) == expected


def test_a_changed_setting_is_never_answered_from_the_cache(store: Path) -> None:
    before = _due_from_cache(store)
    settings = store / "medmassage.yaml"
    settings.write_text(settings.read_text() + "due:\n  reassess_max_visits: 2\n")
    after = _due_from_cache(store)  # every chart's items were kept under the old setting
    assert after == _due_read_again(store) and after != before


def test_an_edit_that_keeps_size_and_mtime_still_changes_the_answer(store: Path) -> None:
    """A chart's identity (kept as one digest of every file's size, mtime, ctime and inode)
    still tells an edit whose size and mtime were put back: its ctime moved."""
    session = sorted(store.glob("patients/*/sessions/*.yaml"))[0]
    before = _every_answer(store, cached=True)
    stat = session.stat()
    text = session.read_text()
    pain = text.index("pain: ") + len("pain: ")
    digit = "1" if text[pain] != "1" else "2"  # one digit for another: the same size
    session.write_text(text[:pain] + digit + text[pain + 1 :])
    os.utime(session, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert session.stat().st_size == stat.st_size
    after = _every_answer(store, cached=True)
    assert after == _every_answer(store, cached=False) and after != before
