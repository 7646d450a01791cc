"""What falls due, and when: the clinic's worklist (CLINICAL.md §4).

Pure functions over a loaded view. Each rule reads one chart (or the therapists) and
`today` and returns `Item`s: what is due, why (the rule and its numbers), `since` (the
day it falls or fell due) and `until` (the last day to do it in time; None: before the
next visit, or no deadline). Severity: `overdue` once `until` has passed, `due` from
`since`, `soon` while `since` is at most `within` days ahead. Every default is a setting
under `due:` in medmassage.yaml (schemas/settings.schema.json documents each); the signing
window is `signing.window_days`. A discharged episode owes nothing more; one on hold still
owes what fell due, and its referral is still watched.

The vocabulary (`Item`, `Context`, settings and their defaults) is in `care.due.base`,
the rules in `care.due.items`."""

from __future__ import annotations

from medmassage.care.due.base import (
    DEFAULTS,
    KINDS,
    SEVERITIES,
    Context,
    Item,
    add_days,
    context,
    setting,
    severity,
)
from medmassage.care.due.items import (
    CHART_RULES,
    certification,
    consent,
    follow_up_gap,
    licenses,
    progress_report,
    reassessment,
    referral,
    unsigned_notes,
)
from medmassage.chart import Chart, StoreView

__all__ = [
    "CHART_RULES",
    "DEFAULTS",
    "KINDS",
    "SEVERITIES",
    "Context",
    "Item",
    "certification",
    "chart_items",
    "consent",
    "context",
    "follow_up_gap",
    "licenses",
    "order",
    "progress_report",
    "reassessment",
    "referral",
    "setting",
    "severity",
    "unsigned_notes",
    "within",
]


def chart_items(view: StoreView, chart: Chart, today: str) -> list[Item]:
    """Everything one patient's chart has falling due, whatever the date."""
    ctx = context(view, chart, today)
    return [item for rule in CHART_RULES for item in rule(ctx)]


def order(items: list[Item]) -> list[Item]:
    """Most urgent first: overdue, due, soon; then by date, patient and kind."""
    return sorted(
        items,
        key=lambda i: (
            SEVERITIES.index(i.severity),
            i.since,
            i.patient or "",
            KINDS.index(i.kind),
            i.what,
        ),
    )


def within(items: list[Item], today: str, days: int) -> list[Item]:
    """The items already due or falling due within `days` days of `today`."""
    horizon = add_days(today, days)
    return [i for i in items if i.since <= horizon]
