"""What the queries keep of each chart in the validation cache, and how they get it.

When a chart is judged, the rows `list` prints for each kind and the items `due` finds are
worked out beside its problems (in the worker that judged it, so a cold run stays
parallel) and remembered under the chart's identity in the validation cache: compact rows
of values, one list per record, the keys in `ROW_KEYS`. An unchanged chart is then
answered from the cache without reading its YAML; a changed one (or one judged by an
older `validate`, which keeps no summary) is judged again. The settings, therapists,
providers, the day and the code are part of the cache's key, so what they decide is
never answered from an older state."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from medmassage.care import due
from medmassage.chart import Chart, StoreView
from medmassage.errors import Problem
from medmassage.judging import Shared, check_chart
from medmassage.query.lists import CHART_KINDS
from medmassage.store import Entry
from medmassage.validate import Validation

Summary = dict[str, Any]  # {"rows": {kind: [[value, ...], ...]}, "due": [[field, ...], ...]}
ROW_KEYS: dict[str, tuple[str, ...]] = {
    "patients": ("patient", "name", "status", "therapist", "referral", "visits", "date", "next"),
    "sessions": (
        "patient", "date", "id", "time", "minutes", "therapist", "visit", "pain", "status",
    ),
    "referrals": (
        "patient", "date", "id", "provider", "diagnoses", "visits", "valid_until", "status",
    ),
    "plans": (
        "patient", "date", "id", "therapist", "referral", "visits", "per_week", "goals", "status",
    ),
    "assessments": ("patient", "date", "id", "kind", "therapist", "pain", "outcomes"),
    "addenda": ("patient", "date", "id", "refers_to", "kind", "therapist", "status"),
    "updates": ("patient", "date", "id", "provider", "period", "via", "sessions"),
}  # fmt: skip
_PLAIN = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    return value if isinstance(value, _PLAIN) else str(value)


def summarize(view: StoreView, chart: Chart, today: str) -> Summary:
    """A chart's rows of every kind `list` shows and its `due` items (all of them, whatever
    the date: the window is applied when asked), as JSON-ready lists of values."""
    rows = {
        kind: [[_plain(row[key]) for key in ROW_KEYS[kind]] for row in make(view, chart, today)]
        for kind, (_, make) in CHART_KINDS.items()
    }
    items = [list(vars(item).values()) for item in due.chart_items(view, chart, today)]
    return {"rows": rows, "due": items}


def rows_of(summary: Summary, kind: str) -> list[dict[str, Any]]:
    """The rows of one kind, as `list` builds them, from a chart's summary."""
    keys = ROW_KEYS[kind]
    return [dict(zip(keys, values, strict=True)) for values in summary["rows"][kind]]


def items_of(summary: Summary) -> list[due.Item]:
    """The due items of a chart, from its summary."""
    return [due.Item(*fields) for fields in summary["due"]]


def shared_summary(validation: Validation) -> dict[str, Any]:
    """What `due` needs beyond the charts: the therapists' license items and the
    `due.within_days` setting, from the cache while the shared records are unchanged."""
    kept = validation.cache.shared_summary()
    if isinstance(kept, dict) and {"licenses", "within_days"} <= kept.keys():
        return kept
    view = validation.view()
    licenses = [list(vars(item).values()) for item in due.licenses(view, validation.today)]
    kept = {"licenses": licenses, "within_days": int(due.setting(view, "within_days"))}
    validation.cache.store_shared(validation.shared_problems(), kept)
    return kept


def gather(
    validation: Validation, patients: list[str], jobs: int | None = None
) -> dict[str, tuple[list[Problem], Summary]]:
    """Each chart's problems and summary: from the cache when the chart is unchanged, else
    judged (over `jobs` processes when there is enough to do; None: one per core) and
    remembered. Save the validation afterwards to keep them."""
    found: dict[str, tuple[list[Problem], Summary]] = {}
    todo: dict[str, list[Entry]] = {}
    for patient in patients:
        cached = validation.summarized(patient)
        if cached is None:
            todo[patient] = validation.charts[patient]
        else:
            found[patient] = cached
    if todo:
        for patient, problems, kept in _judge(validation.shared(), todo, jobs):
            # None: it failed in a worker; again here, where its error shows
            summary = kept or _judge_one(validation.shared(), todo[patient], strict=True)[1]
            assert summary is not None
            validation.remember(patient, problems, summary)
            found[patient] = (problems, summary)
    return found


def _judge_one(
    shared: Shared, entries: list[Entry], strict: bool = False
) -> tuple[list[Problem], Summary | None]:
    """Judge one chart and summarize it (None: summarizing failed, unless `strict`)."""
    problems, records = check_chart(shared, entries)
    view = shared.view()
    for record in records:
        view.add(record)
    patient = entries[0].patient
    assert patient is not None
    try:
        return problems, summarize(view, view.chart(patient), shared.today)
    except Exception:
        if strict:
            raise
        return problems, None


def _judge(
    shared: Shared, charts: dict[str, list[Entry]], jobs: int | None
) -> Iterator[tuple[str, list[Problem], Summary | None]]:
    """Judge and summarize charts serially, or over a process pool when there is enough."""
    jobs = jobs or os.cpu_count() or 1
    parallel = jobs > 1 and sum(len(chart) for chart in charts.values()) >= 400
    shared = shared.compiling(charts.values(), jobs if parallel else 1)
    names = sorted(charts)
    if not parallel:
        for patient in names:
            yield patient, *_judge_one(shared, charts[patient], strict=True)
        return
    from medmassage.workers import worker_pool

    size = max(1, len(names) // (jobs * 8))
    batches = [[(p, charts[p]) for p in names[i : i + size]] for i in range(0, len(names), size)]
    with worker_pool(jobs, _init_worker, (shared,)) as pool:
        for batch in pool.map(_judge_batch, batches):
            yield from batch


_WORKER_SHARED: Shared | None = None


def _init_worker(shared: Shared) -> None:
    global _WORKER_SHARED
    _WORKER_SHARED = shared


def _judge_batch(
    batch: list[tuple[str, list[Entry]]],
) -> list[tuple[str, list[Problem], Summary | None]]:
    assert _WORKER_SHARED is not None
    return [(patient, *_judge_one(_WORKER_SHARED, chart)) for patient, chart in batch]
