"""Small server-rendered SVG charts: geometry only; the template draws it. No JavaScript, no CDN."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT, PAD = 560, 160, 24


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: Any


@dataclass(frozen=True)
class Chart:
    title: str
    bars: list[Bar]
    line: str  # polyline points, for percentages
    maximum: float
    width: int = WIDTH
    height: int = HEIGHT


def bar_chart(title: str, series: list[dict[str, Any]], key: str) -> Chart:
    values = [row[key] or 0 for row in series]
    top = max([*values, 1])
    slot = (WIDTH - 2 * PAD) / max(len(values), 1)
    bars = []
    for index, (row, value) in enumerate(zip(series, values, strict=True)):
        height = (HEIGHT - 2 * PAD) * value / top
        bars.append(
            Bar(
                PAD + index * slot + slot * 0.15,
                HEIGHT - PAD - height,
                slot * 0.7,
                height,
                row["month"][2:],
                value,
            )
        )
    return Chart(title, bars, "", top)


def line_chart(title: str, series: list[dict[str, Any]], key: str, top: float = 100.0) -> Chart:
    slot = (WIDTH - 2 * PAD) / max(len(series), 1)
    points = []
    bars = []
    for index, row in enumerate(series):
        x = PAD + index * slot + slot / 2
        bars.append(Bar(x, HEIGHT - PAD, 0, 0, row["month"][2:], row[key]))
        if row[key] is not None:
            points.append(f"{x:.1f},{HEIGHT - PAD - (HEIGHT - 2 * PAD) * row[key] / top:.1f}")
    return Chart(title, bars, " ".join(points), top)
