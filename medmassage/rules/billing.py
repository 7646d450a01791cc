"""Billing rules: the codes a note bills, checked against its treatment (CLINICAL.md §2).

A note's `billing.codes` are typed by hand; these rules recompute them from the visit's
technique minutes with `care.billing` and the store's settings (`billing:` in
medmassage.yaml: technique → CPT table, unit rule `cms` or `per_code`).

- `billing/unknown-code`: a billed code the store cannot bill: not one of the timed or
  untimed codes the product knows (`care.billing.TIMED_CODES`, `UNTIMED_CODES`) and not a
  code the store's table maps a technique to. A typo such as 12345 is caught; a clinic
  billing another real code adds it to its table.
- `billing/units-mismatch`: for each timed code, the units billed differ from the units the
  minutes support by the store's unit rule (a timed code the treatment supports but the
  note leaves out counts as billed 0). Untimed codes bill per visit and are not counted.

A note without billing codes is not checked: its computed lines stand for it. Messages
name codes, units and minutes only, never text from the chart.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from medmassage.care import billing
from medmassage.chart import Record, StoreView
from medmassage.errors import Finding

_METHOD_WORDS = {
    "cms": "the CMS 8-minute rule (all timed minutes together)",
    "per_code": "the per-code 8-minute rule",
}


def _billed_sessions(records: list[Record]) -> Iterator[tuple[Record, list[Mapping[str, Any]]]]:
    for record in records:
        if record.valid and record.kind == "session":
            codes = (record.data.get("billing") or {}).get("codes") or []
            if codes:
                yield record, codes


def check_billing(view: StoreView, records: list[Record]) -> Iterator[Finding]:
    """billing/unknown-code and billing/units-mismatch (errors), as the module explains."""
    settings = billing.billing_settings(view.setting("billing"))
    known = billing.known_codes(settings)
    for record, codes in _billed_sessions(records):
        for index, entry in enumerate(codes):
            if entry["code"] not in known:
                yield Finding(
                    record.rel,
                    ("billing", "codes", index, "code"),
                    "billing/unknown-code",
                    "error",
                    f"{entry['code']} is not a code this store bills: not a known timed or "
                    "untimed code, nor in the billing.codes table of medmassage.yaml",
                )
        yield from _mismatches(record, codes, settings, known)


def _mismatches(
    record: Record,
    codes: list[Mapping[str, Any]],
    settings: billing.BillingSettings,
    known: set[str],
) -> Iterator[Finding]:
    """billing/units-mismatch for each timed code whose billed units differ from computed."""
    lines = {line.code: line for line in billing.billing_lines(record.data, settings)}
    billed = billing.billed_units(codes)
    timed = {code for code in billed if code in known and billing.is_timed(code)}
    total = sum(line.minutes for line in lines.values())
    for code in sorted(timed | {c for c, line in lines.items() if line.units}):
        minutes = lines[code].minutes if code in lines else 0
        computed = lines[code].units if code in lines else 0
        if billed.get(code, 0) == computed:
            continue
        where = next((i for i, e in enumerate(codes) if e["code"] == code), None)
        yield Finding(
            record.rel,
            ("billing", "codes") if where is None else ("billing", "codes", where, "units"),
            "billing/units-mismatch",
            "error",
            f"{code} billed × {billed.get(code, 0)}, computed × {computed}: the treatment "
            f"gives {minutes} min of {code} ({total} timed min in all) and "
            f"{_METHOD_WORDS.get(settings.units, settings.units)} makes {computed} "
            f"unit{'s' if computed != 1 else ''}",
        )
