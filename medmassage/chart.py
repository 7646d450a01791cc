"""The store as loaded records: what rules, references and documents look at."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from medmassage.store import Entry


@dataclass
class Record:
    """One parsed record file. `valid` is true when it passed its kind's schema."""

    entry: Entry
    data: dict[str, Any]
    valid: bool

    @property
    def rel(self) -> str:
        """The file's path relative to the store root."""
        return self.entry.rel

    @property
    def kind(self) -> str:
        """The record's kind."""
        return self.entry.kind or ""

    @property
    def id(self) -> str:
        """The record's id (its file name without .yaml)."""
        return self.entry.id


@dataclass
class Chart:
    """One patient's folder: the patient record and their records by kind and id."""

    patient_id: str
    patient: Record | None = None
    records: dict[str, dict[str, Record]] = field(default_factory=dict)

    def of(self, kind: str) -> dict[str, Record]:
        """Records of `kind` by id (empty when none)."""
        return self.records.get(kind, {})

    def sorted(self, kind: str) -> list[Record]:
        """Records of `kind` in date order (then id), schema-valid ones only."""
        found = [r for r in self.of(kind).values() if r.valid]
        return sorted(found, key=lambda r: (str(r.data.get("date", "")), r.id))


@dataclass
class StoreView:
    """Everything loaded, plus which ids exist on disk (even where a file does not parse)."""

    today: str
    settings: Record | None = None
    root: Path | None = None  # the store's folder, for rules that read files beside records
    therapists: dict[str, Record] = field(default_factory=dict)
    providers: dict[str, Record] = field(default_factory=dict)
    charts: dict[str, Chart] = field(default_factory=dict)
    existing: set[tuple[str, str | None, str]] = field(default_factory=set)

    def add(self, record: Record) -> None:
        """File a loaded record where lookups will find it."""
        kind, patient = record.kind, record.entry.patient
        if kind == "settings":
            self.settings = record
        elif kind == "therapist":
            self.therapists[record.id] = record
        elif kind == "provider":
            self.providers[record.id] = record
        elif patient is not None:
            chart = self.chart(patient)
            if kind == "patient":
                chart.patient = record
            else:
                chart.records.setdefault(kind, {})[record.id] = record

    def chart(self, patient: str) -> Chart:
        """The chart of `patient`, created empty on first use."""
        if patient not in self.charts:
            self.charts[patient] = Chart(patient)
        return self.charts[patient]

    def exists(self, kind: str, record_id: str, patient: str | None = None) -> bool:
        """True when a file for that record is in the store (parsed or not)."""
        return (kind, patient, record_id) in self.existing

    def get(self, kind: str, record_id: Any, patient: str | None = None) -> Record | None:
        """A loaded, schema-valid record, or None."""
        if not isinstance(record_id, str):
            return None
        if kind == "therapist":
            found = self.therapists.get(record_id)
        elif kind == "provider":
            found = self.providers.get(record_id)
        elif kind == "patient":
            found = self.charts[record_id].patient if record_id in self.charts else None
        elif patient in self.charts:
            found = self.charts[patient].of(kind).get(record_id)
        else:
            found = None
        return found if found is not None and found.valid else None

    def setting(self, *path: str, default: Any = None) -> Any:
        """A value from medmassage.yaml (only when it passed its schema)."""
        node: Any = self.settings.data if self.settings and self.settings.valid else {}
        for key in path:
            if not isinstance(node, dict) or key not in node:
                return default
            node = node[key]
        return node
