"""Asking the store: the rows of `list`, the chart of `show`, the series of `progress`.

Records are read through the validation façade (`medmassage.validate.open_store`), so a
chart's problems come from the validation cache when it is unchanged, and a chart with
errors is reported as such beside its rows. The clinical arithmetic (visits under a
referral, the plan in effect, goal progress, MCID) is care/'s; this package only picks
and arranges it. Pure data: nothing here prints (report/tables.py does)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

from medmassage.chart import Chart, StoreView
from medmassage.errors import Problem, UsageError
from medmassage.store import Store
from medmassage.validate import Validation, open_store

Row = dict[str, Any]


@dataclass
class Table:
    """Rows of one kind, the columns to show (key, header) and the charts with errors."""

    kind: str
    columns: list[tuple[str, str]]
    rows: list[Row]
    errors: dict[str, int] = field(default_factory=dict)  # patient -> errors in the chart

    def as_dict(self) -> dict[str, Any]:
        """The table as `--format json` prints it: stable keys, every column in every row."""
        keys = [key for key, _ in self.columns]
        return {
            "kind": self.kind,
            "columns": keys,
            "rows": [{key: row.get(key) for key in keys} for row in self.rows],
            "charts_with_errors": dict(sorted(self.errors.items())),
        }


class Clinic:
    """A store opened for questions: its charts read one at a time, through the cache."""

    def __init__(self, store: Store, today: str | None = None, use_cache: bool = True) -> None:
        self.validation: Validation = open_store(store, today, use_cache)
        self.today = self.validation.today
        self.errors: dict[str, int] = {}

    def patients(self, only: str | None = None) -> list[str]:
        """Every patient id in the store in order, or just `only` (UsageError if unknown)."""
        if only is None:
            return sorted(self.validation.charts)
        if only not in self.validation.charts:
            raise UsageError(f"no patient {only!r} in the store; `medmassage list patients`")
        return [only]

    def chart(self, patient: str) -> tuple[StoreView, Chart]:
        """A patient's chart in a view with the shared records; its error count is noted."""
        problems, records = self.validation.chart(patient)
        self._note(patient, problems)
        view = self.validation.view()
        for record in records:
            view.add(record)
        return view, view.chart(patient)

    def summaries(self, patients: list[str]) -> dict[str, Any]:
        """What the cache keeps of each chart (query.summary): rows of every kind and due
        items, judging (in parallel) only the charts changed since; error counts noted."""
        from medmassage.query.summary import gather

        found = gather(self.validation, patients)
        for patient, (problems, _) in found.items():
            self._note(patient, problems)
        return {patient: summary for patient, (_, summary) in found.items()}

    @property
    def cached(self) -> bool:
        """True when answers come from the validation cache (not --no-cache)."""
        return bool(self.validation.cache.enabled)

    def shared(self) -> StoreView:
        """A view of the records outside patient folders (settings, therapists, providers)."""
        return self.validation.view()

    def _note(self, patient: str, problems: list[Problem]) -> None:
        errors = sum(1 for p in problems if p.severity == "error")
        if errors:
            self.errors[patient] = errors

    def close(self) -> None:
        """Keep the validation cache warm for the next question (best effort)."""
        with contextlib.suppress(OSError):
            self.validation.save()


def age(date_of_birth: str, today: str) -> int | None:
    """Whole years from `date_of_birth` to `today` (None when either is not a date)."""
    try:
        born = tuple(int(part) for part in str(date_of_birth).split("-"))
        now = tuple(int(part) for part in today.split("-"))
    except ValueError:
        return None
    if len(born) != 3 or len(now) != 3:
        return None
    return now[0] - born[0] - ((now[1], now[2]) < (born[1], born[2]))


def full_name(patient: dict[str, Any]) -> str:
    """`Given "Preferred" Family` from a patient record's name."""
    name = patient.get("name", {})
    preferred = name.get("preferred")
    parts = [name.get("given", ""), f'"{preferred}"' if preferred else "", name.get("family", "")]
    return " ".join(part for part in parts if part)
