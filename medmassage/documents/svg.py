"""Small inline SVG line charts for the HTML physician update: pain per visit and
outcome scores. Every label is escaped and every number printed with fixed
precision, so the same records always give the same bytes."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH, HEIGHT = 520, 200
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 28, 40
COLOURS = ("#b03a2e", "#1f618d", "#117a65", "#7d3c98")
DASHES = ("", "6 4", "2 3", "8 3 2 3")  # lines differ in print without colour too


@dataclass(frozen=True)
class Series:
    """One line: its name and (x label, value) points in order."""

    name: str
    points: Sequence[tuple[str, float]]


def _f(value: float) -> str:
    return f"{value:.1f}"


def _x(index: int, count: int) -> float:
    span = WIDTH - LEFT - RIGHT
    return LEFT + (span / 2 if count == 1 else span * index / (count - 1))


def _y(value: float, low: float, high: float) -> float:
    span = HEIGHT - TOP - BOTTOM
    share = 0.0 if high == low else (value - low) / (high - low)
    return HEIGHT - BOTTOM - span * min(max(share, 0.0), 1.0)


def _axes(title: str, labels: list[str], low: float, high: float, unit: str) -> list[str]:
    parts = [
        f'<text x="{LEFT}" y="16" class="chart-title">{escape(title)}</text>',
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" '
        f'y2="{HEIGHT - BOTTOM}" stroke="#555"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#555"/>',
    ]
    for value in (low, (low + high) / 2, high):
        y = _f(_y(value, low, high))
        parts.append(
            f'<text x="{LEFT - 6}" y="{y}" text-anchor="end" dy="4">{escape(f"{value:g}")}</text>'
        )
    parts.append(f'<text x="10" y="{TOP - 8}">{escape(unit)}</text>')
    shown = {0, len(labels) - 1} if len(labels) > 6 else set(range(len(labels)))
    for index in sorted(shown):
        x = _f(_x(index, len(labels)))
        parts.append(
            f'<text x="{x}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">'
            f"{escape(labels[index])}</text>"
        )
    return parts


def _line(series: Series, labels: list[str], low: float, high: float, style: int) -> list[str]:
    colour, dash = COLOURS[style % len(COLOURS)], DASHES[style % len(DASHES)]
    coords = [
        (_f(_x(labels.index(day), len(labels))), _f(_y(v, low, high))) for day, v in series.points
    ]
    dashed = f' stroke-dasharray="{dash}"' if dash else ""
    parts = [
        f'<polyline fill="none" stroke="{colour}" stroke-width="2"{dashed} '
        f'points="{" ".join(f"{x},{y}" for x, y in coords)}"/>'
    ]
    parts += [f'<circle cx="{x}" cy="{y}" r="3" fill="{colour}"/>' for x, y in coords]
    return parts


def _legend(series: Sequence[Series]) -> list[str]:
    parts = []
    for index, item in enumerate(series):
        x = LEFT + 140 * index
        colour, dash = COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)]
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x}" y1="{HEIGHT - 8}" x2="{x + 24}" y2="{HEIGHT - 8}" '
            f'stroke="{colour}" stroke-width="2"{dashed}/>'
        )
        parts.append(f'<text x="{x + 30}" y="{HEIGHT - 4}">{escape(item.name)}</text>')
    return parts


def line_chart(title: str, series: Sequence[Series], low: float, high: float, unit: str) -> Markup:
    """An accessible SVG chart; the x axis is the ordered union of the series' labels."""
    labels = sorted({day for item in series for day, _ in item.points})
    if not labels:
        return Markup("")
    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
            f'width="{WIDTH}" height="{HEIGHT}" '
            f'role="img" aria-label="{escape(title)}" class="chart">'
        ),
        *_axes(title, labels, low, high, unit),
    ]
    for index, item in enumerate(series):
        parts += _line(item, labels, low, high, index)
    parts += _legend(series)
    parts.append("</svg>")
    return Markup("\n".join(parts))
