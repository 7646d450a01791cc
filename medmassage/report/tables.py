"""Tables and charts at a glance, as `list`, `show` and `progress` print them: aligned
text that fits 80 columns (store texts escaped, see `medmassage.report.escape`), or one
JSON document."""

from __future__ import annotations

import json
from typing import Any, TextIO

from medmassage.query import Table
from medmassage.report import escape

WIDTH = 80  # text tables fit this many columns
_RAMP_ASCII = "_.-=+*#"
_RAMP_BLOCKS = "\u2581\u2582\u2583\u2584\u2585\u2586\u2587\u2588"


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, float):
        return f"{value:g}"
    return escape(str(value))


def _fit(widths: list[int], limit: int) -> list[int]:
    """Column widths shrunk (widest first, never below 6) until the row fits `limit`."""
    widths = list(widths)
    while sum(widths) + 2 * (len(widths) - 1) > limit:
        widest = max(range(len(widths)), key=lambda i: widths[i])
        if widths[widest] <= 6:
            break
        widths[widest] -= 1
    return widths


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "~"


def text_table(headers: list[str], rows: list[list[str]], limit: int = WIDTH) -> list[str]:
    """Aligned lines of a table that fit `limit` columns (long cells end in ~)."""
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]
    widths = _fit(widths, limit)
    return [
        "  ".join(_clip(cell, w).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip()
        for line in [headers, *rows]
    ]


def _json(document: Any, stream: TextIO) -> None:
    stream.write(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def _error_notes(errors: dict[str, int], stream: TextIO) -> None:
    for patient, count in sorted(errors.items()):
        stream.write(
            f"! {escape(patient)}: the chart has {count} error{'s' if count != 1 else ''}; "
            f"see `medmassage validate patients/{escape(patient)}`\n"
        )


def report_table(table: Table, stream: TextIO, fmt: str = "text") -> None:
    """`list`: one JSON document (Table.as_dict), or a text table with a count line."""
    document = table.as_dict()
    if fmt == "json":
        _json(document, stream)
        return
    headers = [header for _, header in table.columns]
    rows = [[_cell(row[key]) for key in document["columns"]] for row in document["rows"]]
    for line in text_table(headers, rows) if rows else []:
        stream.write(line + "\n")
    count = len(rows)
    stream.write(f"{count} {table.kind if count != 1 else table.kind.rstrip('s')}\n")
    _error_notes(table.errors, stream)


def sparkline(values: list[float], fancy: bool = False) -> str:
    """One character per value, low to high: block characters when `fancy` (a terminal
    without NO_COLOR), else plain ASCII `_.-=+*#`."""
    ramp = _RAMP_BLOCKS if fancy else _RAMP_ASCII
    if not values:
        return ""
    low, high = min(values), max(values)
    span = high - low
    return "".join(
        ramp[0 if not span else round((v - low) / span * (len(ramp) - 1))] for v in values
    )


def _goal_line(goal: dict[str, Any]) -> str:
    latest = _cell(goal["latest"]) + (f" ({goal['latest_date']})" if goal["latest_date"] else "")
    return (
        f"  {escape(goal['goal'])}  {_cell(goal['baseline'])} -> {latest} -> "
        f"{_cell(goal['target'])} {escape(goal['unit'])}: {goal['status']}"
    )


def _show_lines(data: dict[str, Any]) -> list[str]:
    who = data["who"]
    lines = [
        f"{escape(who['patient'])}  {_cell(who['name'])}, {_cell(who['age'])} y, "
        f"{_cell(who['sex'])}, {_cell(who['status'])}"
    ]
    for p in data["precautions"]:
        where = f" ({', '.join(p['regions'])})" if p["regions"] else ""
        kind = f"{p['kind']}: " if p["kind"] else ""
        lines.append(f"PRECAUTION ({p['source']}) {kind}{escape(p['condition'])}{where}")
    for a in data["allergies"]:
        lines.append(
            f"ALLERGY {_cell(a['substance'])}: {_cell(a['reaction'])} ({_cell(a['severity'])})"
        )
    lines += [
        f"diagnosis  {escape(d['code'])} {_cell(d['description'])}" for d in data["diagnoses"]
    ]
    r = data["referral"]
    if r is not None:
        lines.append(
            f"referral   {r['id']} from {escape(r['provider'])}: {r['visits_used']} of "
            f"{r['visits_authorized']} visits used, {r['visits_left']} left, valid until "
            f"{_cell(r['valid_until'])} ({r['status']})"
        )
    plan = data["plan"]
    if plan is not None:
        lines.append(f"plan       {plan['id']} ({plan['status']}, {escape(plan['therapist'])})")
        lines += [_goal_line(g) for g in plan["goals"]]
    lines.append(f"last visit {_cell(data['last_visit'])}, next visit {_cell(data['next_visit'])}")
    lines += [
        f"{item['severity'].upper():<10} {escape(item['what'])} (since {item['since']}): "
        f"{escape(item['command'])}"
        for item in data["due"]
    ] or ["due        nothing"]
    import textwrap

    return [part for line in lines for part in textwrap.wrap(line, WIDTH, subsequent_indent="    ")]


def report_show(data: dict[str, Any], stream: TextIO, fmt: str = "text") -> None:
    """`show`: the chart at a glance, precautions and allergies first (or one JSON document)."""
    if fmt == "json":
        _json(data, stream)
        return
    for line in _show_lines(data):
        stream.write(line + "\n")
    _error_notes({data["who"]["patient"]: data["errors"]} if data["errors"] else {}, stream)


def _series_lines(title: str, unit: str, points: list[dict[str, Any]], fancy: bool) -> list[str]:
    values = [float(p["value"]) for p in points]
    lines = [f"{title} [{unit}]  {sparkline(values, fancy)}"]
    rows = [
        [p["date"], _cell(p["value"]), f"{p['change']:+g}", "unsigned" if p.get("unsigned") else ""]
        for p in points
    ]
    lines += ["  " + line for line in text_table(["date", "value", "change", ""], rows, WIDTH - 2)]
    return lines


def report_progress(
    data: dict[str, Any], stream: TextIO, fmt: str = "text", fancy: bool = False
) -> None:
    """`progress`: per goal and outcome measure, its values over time with a sparkline,
    the change from baseline and the verdict (or one JSON document)."""
    if fmt == "json":
        _json(data, stream)
        return
    lines = [
        f"{escape(data['patient'])}: plan {_cell(data['plan'])}, referral {_cell(data['referral'])}"
    ]
    for goal in data["goals"]:
        title = f"goal {escape(goal['goal'])} (target {_cell(goal['target'])})"
        lines += _series_lines(title, escape(goal["unit"]), goal["points"], fancy)
        lines.append(f"  {goal['status']}: {escape(goal['verdict'])}")
    for measure in data["outcomes"]:
        title = f"outcome {escape(measure['instrument'])}"
        lines += _series_lines(title, escape(measure["unit"]), measure["points"], fancy)
        lines.append(f"  {escape(measure['verdict'])}")
    if not data["goals"] and not data["outcomes"]:
        lines.append("no goals or outcome measures recorded")
    import textwrap

    for line in lines:
        for part in textwrap.wrap(line, WIDTH, subsequent_indent="    ", drop_whitespace=False):
            stream.write(part.rstrip() + "\n")
    _error_notes({data["patient"]: data["errors"]} if data["errors"] else {}, stream)
